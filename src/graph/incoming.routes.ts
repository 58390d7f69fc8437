import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { checkedCallbackUri, enumMember, mediaConfigOf, modalitiesOf } from './call-input.js';
import type { GraphRouteOptions } from './calls.routes.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { AnswerBody, CallParams, RedirectBody, REJECT_REASONS, RejectBody } from './schemas.js';

const callId = (r: { params: { id: string } }) => normaliseId(r.params.id);
const params = CallParams;
const REASONS = new Map(REJECT_REASONS.map((r) => [r, r]));

/** What a bot does with an incoming call (answer, reject, redirect: 202, no body; notifications follow), and keepAlive. */
export async function incomingRoutes(plain: FastifyInstance, { version, calls, callbacks }: GraphRouteOptions): Promise<void> {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  /** https://learn.microsoft.com/graph/api/call-answer */
  app.post('/communications/calls/:id/answer', { schema: { params, body: AnswerBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.answer);
    const b = request.body;
    await calls.answer(p, callId(request), {
      callbackUri: checkedCallbackUri(b.callbackUri, callbacks),
      acceptedModalities: modalitiesOf(b.acceptedModalities, 'acceptedModalities'),
      mediaConfig: mediaConfigOf(b.mediaConfig),
      apiVersion: version,
    });
    return reply.code(202).send();
  });

  /** https://learn.microsoft.com/graph/api/call-keepalive — 200, no body; 404 once the call has ended. */
  app.post('/communications/calls/:id/keepAlive', { schema: { params } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    await calls.keepAlive(p, callId(request));
    return reply.code(200).send();
  });

  /** https://learn.microsoft.com/graph/api/call-reject */
  app.post('/communications/calls/:id/reject', { schema: { params, body: RejectBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const b = request.body;
    if (b.reason) enumMember(REASONS, b.reason, 'reason');
    await calls.reject(p, callId(request), checkedCallbackUri(b.callbackUri, callbacks));
    return reply.code(202).send();
  });

  /** https://learn.microsoft.com/graph/api/call-redirect */
  app.post('/communications/calls/:id/redirect', { schema: { params, body: RedirectBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.redirect);
    const b = request.body;
    await calls.redirect(p, callId(request), checkedCallbackUri(b.callbackUri, callbacks));
    return reply.code(202).send();
  });
}
