import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { AppRegistry } from '../auth/apps.js';
import { DEV_APP } from '../auth/apps.js';
import type { IdentitySet } from '../domain/call.js';
import type { CallbackPolicy } from '../domain/callback-uri.js';
import { policyProblems, toPolicy } from '../domain/recording-policy.js';
import type { FarSideService } from '../simulator/far-side.service.js';
import type { PolicyRegistry } from '../simulator/policy-registry.js';
import { callToWire, participantToWire } from '../graph/call.mapper.js';
import { GraphError } from '../graph/graph-errors.js';
import { normaliseId } from '../shared/ids.js';

export interface SimulatorRoutesOptions {
  farSide: FarSideService;
  policies: PolicyRegistry;
  apps: AppRegistry;
  /** The callbackUri rule, with --allow-callback-hosts. */
  callbacks: CallbackPolicy;
}

const bad = (message: string) => new GraphError('INVALID_BODY', message);
const body = (r: FastifyRequest) => (r.body ?? {}) as Record<string, unknown>;
const id = (r: FastifyRequest, k = 'id') => normaliseId((r.params as Record<string, string>)[k]!);

/** A simulated person: `{"user":{"id","displayName"}}` as an identitySet, or the short form `{"id","displayName"}`. */
function identityOf(v: unknown, member: string): IdentitySet {
  if (v === undefined || v === null) return { user: { id: randomUUID(), displayName: 'Simulated User' } };
  if (typeof v !== 'object') throw bad(`'${member}' must be an object`);
  const o = v as Record<string, unknown>;
  if (o.user || o.phone || o.application || o.guest) return o as IdentitySet;
  if (o.displayName !== undefined && typeof o.displayName !== 'string') throw bad(`'${member}.displayName' must be a string`);
  return { user: { id: typeof o.id === 'string' ? o.id : randomUUID(), displayName: (o.displayName as string | undefined) ?? 'Simulated User', ...(typeof o.tenantId === 'string' ? { tenantId: o.tenantId } : {}) } };
}

function optionalCallbackUri(v: unknown, callbacks: CallbackPolicy): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw bad(`'callbackUri' must be a string`);
  const problem = callbacks.uriProblem(v);
  if (problem) throw bad(`Invalid 'callbackUri': ${problem}.`);
  return v;
}

/**
 * The far side of Teams, scriptable (docs/control-plane.md): incoming calls, far-side hang-up, people who
 * join, leave and mute, apps' calling webhooks, and compliance-recording policies.
 */
export async function simulatorRoutes(app: FastifyInstance, o: SimulatorRoutesOptions): Promise<void> {
  app.post('/_emulator/calls/incoming', async (request, reply) => {
    const b = body(request);
    if (b.appId !== undefined && typeof b.appId !== 'string') throw bad(`'appId' must be a client id string`);
    const modalities = b.requestedModalities ?? ['audio'];
    if (!Array.isArray(modalities) || !modalities.every((m) => typeof m === 'string')) throw bad(`'requestedModalities' must be an array of strings`);
    const call = await o.farSide.placeIncomingCall({
      appId: (b.appId as string | undefined) ?? DEV_APP.clientId,
      from: identityOf(b.from, 'from'),
      requestedModalities: modalities as string[],
      callbackUri: optionalCallbackUri(b.callbackUri, o.callbacks),
    });
    return reply.code(201).send(callToWire(call, 'beta'));
  });

  /** The far side hangs up (P2P), ends the meeting, or the caller gives up on an incoming call. */
  app.post('/_emulator/calls/:id/hangUp', async (request) => callToWire(await o.farSide.hangUp(id(request)), 'beta'));

  app.post('/_emulator/calls/:id/participants', async (request, reply) => {
    const b = body(request);
    const part = await o.farSide.join(id(request), identityOf(b.identity ?? b.user ?? b, 'identity'));
    return reply.code(201).send(participantToWire(part));
  });

  app.delete('/_emulator/calls/:id/participants/:participantId', async (request, reply) => {
    await o.farSide.leave(id(request), id(request, 'participantId'));
    return reply.code(204).send();
  });

  app.post('/_emulator/calls/:id/participants/:participantId/mute', async (request) => {
    const b = body(request);
    if (b.isMuted !== undefined && typeof b.isMuted !== 'boolean') throw bad(`'isMuted' must be a boolean`);
    return participantToWire(await o.farSide.setMuted(id(request), id(request, 'participantId'), (b.isMuted as boolean | undefined) ?? true));
  });

  /** Registers an app's calling webhook: where incoming calls and policy invites for it are posted. */
  app.patch('/_emulator/apps/:clientId', async (request) => {
    const uri = optionalCallbackUri(body(request).callbackUri, o.callbacks);
    const updated = await o.apps.setCallbackUri(id(request, 'clientId'), uri);
    if (!updated) throw new GraphError('NOT_FOUND', `No app with client id '${id(request, 'clientId')}' is registered.`);
    return { clientId: updated.clientId, tenantId: updated.tenantId, displayName: updated.displayName, callbackUri: updated.callbackUri };
  });

  app.get('/_emulator/policies', async () => ({ value: o.policies.list() }));

  app.put('/_emulator/policies/:policyId', async (request) => {
    const doc = { ...body(request), id: (request.params as { policyId: string }).policyId };
    const problems = policyProblems(doc, 'policy');
    if (problems.length) throw bad(problems.join('; '));
    const policy = toPolicy(doc);
    if (!o.apps.get(policy.recorderAppId)) throw bad(`'recorderAppId': no app with client id '${policy.recorderAppId}' is registered.`);
    await o.policies.put(policy);
    return policy;
  });

  app.delete('/_emulator/policies/:policyId', async (request, reply) => {
    if (!(await o.policies.remove((request.params as { policyId: string }).policyId))) throw new GraphError('NOT_FOUND', 'No such compliance-recording policy.');
    return reply.code(204).send();
  });
}
