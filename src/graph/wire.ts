import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Graph's JSON content type, as observed on real responses. */
export const JSON_CONTENT_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** Shape of Graph's diagnostic header; the values name graph-calls instead of a data centre. */
export const AGS_DIAGNOSTIC = JSON.stringify({ ServerInfo: { DataCenter: 'graph-calls', Slice: 'E', Ring: '0', ScaleUnit: '000', RoleInstance: 'graph-calls-0' } });

export type GraphVersion = 'v1.0' | 'beta';

interface Ids { requestId: string; clientRequestId: string }
const IDS = Symbol('graphCallsIds');

/** request-id is ours; client-request-id echoes the caller's, else equals request-id (observed Graph behaviour). */
export function requestIds(request: FastifyRequest): Ids {
  const r = request as FastifyRequest & { [IDS]?: Ids };
  let ids = r[IDS];
  if (!ids) {
    const requestId = randomUUID();
    const sent = request.headers['client-request-id'];
    const clientRequestId = typeof sent === 'string' && sent.length > 0 && sent.length <= 128 ? sent : requestId;
    ids = { requestId, clientRequestId };
    r[IDS] = ids;
  }
  return ids;
}

/** Adds the headers every Graph response carries. */
export function addGraphHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const ids = requestIds(request);
  reply.header('request-id', ids.requestId);
  reply.header('client-request-id', ids.clientRequestId);
  reply.header('x-ms-ags-diagnostic', AGS_DIAGNOSTIC);
  reply.header('strict-transport-security', 'max-age=31536000');
  reply.header('cache-control', 'no-cache');
}

/** scheme://host[:port] the client used, so Location and @odata links point back at this server. */
export function origin(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export function versionBase(request: FastifyRequest, version: GraphVersion): string {
  return `${origin(request)}/${version}`;
}

export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type(JSON_CONTENT_TYPE).send(JSON.stringify(body));
}
