import type { FastifyInstance, FastifyRequest } from 'fastify';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { checkedCallbackUri, enumMember, mediaConfigOf, modalitiesOf } from './call-input.js';
import type { GraphRouteOptions } from './calls.routes.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { AnswerBody, RedirectBody, REJECT_REASONS, RejectBody } from './schemas.js';

const callId = (r: FastifyRequest) => normaliseId((r.params as { id: string }).id);
const REASONS = new Map(REJECT_REASONS.map((r) => [r, r]));

/** What a bot does with an incoming call (answer, reject, redirect: 202, no body; notifications follow), and keepAlive. */
export async function incomingRoutes(app: FastifyInstance, { calls, callbacks }: GraphRouteOptions): Promise<void> {
  /** https://learn.microsoft.com/graph/api/call-answer */
  app.post('/communications/calls/:id/answer', { schema: { body: AnswerBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.answer);
    const b = request.body as Record<string, unknown>;
    await calls.answer(p, callId(request), {
      callbackUri: checkedCallbackUri(b.callbackUri, callbacks),
      acceptedModalities: modalitiesOf(b.acceptedModalities as string[], 'acceptedModalities'),
      mediaConfig: mediaConfigOf(b.mediaConfig as Record<string, unknown>),
    });
    return reply.code(202).send();
  });

  /** https://learn.microsoft.com/graph/api/call-keepalive — 200, no body; 404 once the call has ended. */
  app.post('/communications/calls/:id/keepAlive', async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    await calls.keepAlive(p, callId(request));
    return reply.code(200).send();
  });

  /** https://learn.microsoft.com/graph/api/call-reject */
  app.post('/communications/calls/:id/reject', { schema: { body: RejectBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readCall);
    const b = request.body as { reason?: string | null; callbackUri?: string | null };
    if (b.reason) enumMember(REASONS, b.reason, 'reason');
    await calls.reject(p, callId(request), checkedCallbackUri(b.callbackUri, callbacks));
    return reply.code(202).send();
  });

  /** https://learn.microsoft.com/graph/api/call-redirect */
  app.post('/communications/calls/:id/redirect', { schema: { body: RedirectBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.redirect);
    const b = request.body as { callbackUri?: string | null };
    await calls.redirect(p, callId(request), checkedCallbackUri(b.callbackUri, callbacks));
    return reply.code(202).send();
  });
}
