import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { CallService } from '../domain/call.service.js';
import type { CallbackPolicy } from '../domain/callback-uri.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { callToWire, operationToWire, participantToWire } from './call.mapper.js';
import { toCreateCallCommand } from './call-input.js';
import { nextLink, pageParams } from './paging.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { CallChildParams, CallParams, CreateCallBody } from './schemas.js';
import { sendJson, versionBase, type GraphVersion } from './wire.js';

export interface GraphRouteOptions {
  version: GraphVersion;
  calls: CallService;
  /** The callbackUri rule (with --allow-callback-hosts) for bodies that name one. */
  callbacks: CallbackPolicy;
}

const callId = (r: { params: { id: string } }) => normaliseId(r.params.id);
const childId = (r: { params: { childId: string } }) => normaliseId(r.params.childId);
const params = CallParams;
const childParams = CallChildParams;

/** The `call` resource and its navigation properties: /communications/calls[/{id}[/participants|/operations]]. */
export async function callsRoutes(plain: FastifyInstance, { version, calls, callbacks }: GraphRouteOptions): Promise<void> {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  /** https://learn.microsoft.com/graph/api/application-post-calls */
  app.post('/communications/calls', { schema: { body: CreateCallBody } }, async (request, reply) => {
    const p = principalOf(request);
    const body = request.body;
    requireAnyRole(p, body.meetingInfo ? PERMISSIONS.joinMeeting : PERMISSIONS.createPeerToPeerCall);
    const call = await calls.createCall(p, { ...toCreateCallCommand(body, p, callbacks), apiVersion: version });
    const base = versionBase(request, version);
    reply.header('location', `${base}/communications/calls/${call.id}`);
    return sendJson(reply, 201, { '@odata.context': `${base}/$metadata#communications/calls/$entity`, ...callToWire(call, version) });
  });

  /** https://learn.microsoft.com/graph/api/call-get */
  app.get('/communications/calls/:id', { schema: { params } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const call = await calls.getCall(p, callId(request));
    return sendJson(reply, 200, { '@odata.context': `${versionBase(request, version)}/$metadata#communications/calls/$entity`, ...callToWire(call, version) });
  });

  /** https://learn.microsoft.com/graph/api/call-delete — 204 now; terminating -> terminated follow as notifications. */
  app.delete('/communications/calls/:id', { schema: { params } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    await calls.hangUp(p, callId(request));
    return reply.code(204).send();
  });

  /** https://learn.microsoft.com/graph/api/call-list-participants */
  app.get('/communications/calls/:id/participants', { schema: { params } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const id = callId(request);
    const { top, after } = pageParams(request);
    const all = (await calls.listParticipants(p, id)).filter((x) => x.seq >= after);
    const page = all.slice(0, top);
    const base = versionBase(request, version);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/$metadata#communications/calls('${id}')/participants`,
      value: page.map((x) => participantToWire(x, version)),
    };
    if (all.length > top) body['@odata.nextLink'] = nextLink(`${base}/communications/calls/${id}/participants`, top, all[top]!.seq);
    return sendJson(reply, 200, body);
  });

  /** https://learn.microsoft.com/graph/api/participant-get */
  app.get('/communications/calls/:id/participants/:childId', { schema: { params: childParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const id = callId(request);
    const part = await calls.getParticipant(p, id, childId(request));
    return sendJson(reply, 200, {
      '@odata.context': `${versionBase(request, version)}/$metadata#communications/calls('${id}')/participants/$entity`,
      ...participantToWire(part, version),
    });
  });

  /** Navigation property `operations` (SDK-generated; Graph does not document listing). */
  app.get('/communications/calls/:id/operations', { schema: { params } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const id = callId(request);
    const { top, after } = pageParams(request);
    // The skiptoken holds the first seq of the next page; keyset reads are "after", so step back one.
    const rows = await calls.listOperations(p, id, Math.max(0, after - 1), top + 1);
    const base = versionBase(request, version);
    const body: Record<string, unknown> = {
      '@odata.context': `${base}/$metadata#communications/calls('${id}')/operations`,
      value: rows.slice(0, top).map((op) => operationToWire(op, version)),
    };
    if (rows.length > top) body['@odata.nextLink'] = nextLink(`${base}/communications/calls/${id}/operations`, top, rows[top]!.seq);
    return sendJson(reply, 200, body);
  });

  /** https://learn.microsoft.com/graph/api/commsoperation-get */
  app.get('/communications/calls/:id/operations/:childId', { schema: { params: childParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const id = callId(request);
    const op = await calls.getOperation(p, id, childId(request));
    return sendJson(reply, 200, {
      '@odata.context': `${versionBase(request, version)}/$metadata#communications/calls('${id}')/operations/$entity`,
      ...operationToWire(op, version),
    });
  });
}
