import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { InvitationParticipantInfo, ParticipantInfo } from '../domain/call.js';
import type { TransferCommand } from '../domain/call-transfer.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { stripOData } from './call.mapper.js';
import type { GraphRouteOptions } from './calls.routes.js';
import { GraphError } from './graph-errors.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { CallParams, TransferBody } from './schemas.js';

const bad = (message: string) => new GraphError('INVALID_BODY', message);

/** The identities a transfer can name (call-transfer docs: Teams users, or a phone number for app instances). */
const TARGET_KINDS = ['user', 'phone', 'applicationInstance', 'application', 'guest'] as const;
/** "Phone ID is the phone number in E.164 format" (call-transfer docs, example 3). */
const E164 = /^\+[1-9]\d{6,14}$/;

/** An identitySet that names someone: one known kind with a string id; a phone id in E.164. */
function checkedIdentity(raw: Record<string, unknown>, member: string): Record<string, Record<string, unknown>> {
  const identity = stripOData(raw) as Record<string, unknown>;
  const named = TARGET_KINDS.filter((k) => identity[k] !== undefined && identity[k] !== null);
  if (named.length === 0) throw bad(`The property '${member}' must name a ${TARGET_KINDS.join(', ')} identity.`);
  for (const k of named) {
    const v = identity[k] as Record<string, unknown>;
    if (typeof v !== 'object' || typeof v.id !== 'string' || v.id === '') throw bad(`The property '${member}.${k}.id' must be a non-empty string.`);
    if (k === 'phone' && !E164.test(v.id)) throw bad(`Invalid value '${v.id}' for property '${member}.phone.id': expected a phone number in E.164 format, such as +12345678901.`);
  }
  return identity as Record<string, Record<string, unknown>>;
}

/** https://learn.microsoft.com/graph/api/call-transfer — v1.0 and beta; 202, no body; the outcome arrives as notifications. */
export async function transferRoutes(app: FastifyInstance, { calls }: GraphRouteOptions): Promise<void> {
  app.withTypeProvider<TypeBoxTypeProvider>().post('/communications/calls/:id/transfer', { schema: { params: CallParams, body: TransferBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.transfer);
    const { transferTarget, transferee } = request.body;
    const target = stripOData(transferTarget) as unknown as InvitationParticipantInfo;
    target.identity = checkedIdentity(transferTarget.identity, 'transferTarget.identity');
    if (typeof target.replacesCallId === 'string') target.replacesCallId = normaliseId(target.replacesCallId);
    let who: ParticipantInfo | null = null;
    if (transferee) {
      who = stripOData(transferee) as unknown as ParticipantInfo;
      who.identity = checkedIdentity(transferee.identity, 'transferee.identity');
      if (typeof who.participantId === 'string') who.participantId = normaliseId(who.participantId);
    }
    const cmd: TransferCommand = { transferTarget: target, transferee: who };
    await calls.transfer(p, normaliseId(request.params.id), cmd);
    return reply.code(202).send();
  });
}
