import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Operation, RecordingStatus } from '../domain/call.js';
import { REPORTABLE_RECORDING_STATUSES } from '../domain/call-state-machine.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { operationToWire } from './call.mapper.js';
import { enumMember } from './call-input.js';
import type { GraphRouteOptions } from './calls.routes.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { CallParams, RecordingActionBody, UpdateRecordingStatusBody } from './schemas.js';
import { sendJson, versionBase, type GraphVersion } from './wire.js';

const RECORDING_STATUS = new Map(REPORTABLE_RECORDING_STATUSES.map((s) => [s.toLowerCase(), s]));

/** 202/200 + Location of the new operation + the typed operation body (call-startrecording / stoprecording / updaterecordingstatus docs). */
function sendOperation(request: FastifyRequest, reply: FastifyReply, version: GraphVersion, status: number, op: Operation): FastifyReply {
  const base = versionBase(request, version);
  reply.header('location', `${base}/communications/calls/${op.callId}/operations/${op.id}`);
  return sendJson(reply, status, { '@odata.context': `${base}/$metadata#${op.type}`, ...operationToWire(op, version) });
}

/**
 * The recording actions. Paths match case-insensitively and with or without `microsoft.graph.`
 * (the docs print `/microsoft.graph.StopRecording`, the SDKs send `/stopRecording`); see app.ts rewriteUrl.
 */
export async function recordingActionsRoutes(plain: FastifyInstance, { version, calls }: GraphRouteOptions): Promise<void> {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  if (version === 'beta') {
    // start/stopRecording exist only in beta; on v1.0 the route trie answers "Resource not found for the segment".
    /** https://learn.microsoft.com/graph/api/call-startrecording?view=graph-rest-beta */
    app.post('/communications/calls/:id/startRecording', { schema: { params: CallParams, body: RecordingActionBody } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.startRecording);
      const op = await calls.startRecording(p, normaliseId(request.params.id), request.body.clientContext ?? null);
      return sendOperation(request, reply, version, 202, op);
    });

    /** https://learn.microsoft.com/graph/api/call-stoprecording?view=graph-rest-beta */
    app.post('/communications/calls/:id/stopRecording', { schema: { params: CallParams, body: RecordingActionBody } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.stopRecording);
      const op = await calls.stopRecording(p, normaliseId(request.params.id), request.body.clientContext ?? null);
      return sendOperation(request, reply, version, 202, op);
    });
  }

  /** https://learn.microsoft.com/graph/api/call-updaterecordingstatus — 200, not 202. */
  app.post('/communications/calls/:id/updateRecordingStatus', { schema: { params: CallParams, body: UpdateRecordingStatusBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.updateRecordingStatus);
    const body = request.body;
    const status = enumMember(RECORDING_STATUS, body.status, 'status') as RecordingStatus;
    const op = await calls.updateRecordingStatus(p, normaliseId(request.params.id), status, body.clientContext ?? null);
    return sendOperation(request, reply, version, 200, op);
  });
}
