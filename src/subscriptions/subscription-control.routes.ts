import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { SubscriptionService } from './subscription.service.js';
import { subscriptionToWire } from './subscription.mapper.js';

const LifecycleBody = Type.Object({ lifecycleEvent: Type.Union([Type.Literal('subscriptionRemoved'), Type.Literal('missed'), Type.Literal('reauthorizationRequired')]) });
const IdParams = Type.Object({ id: Type.String() });

/**
 * Control plane: lifecycle events Graph does not send on its own for recording/transcript subscriptions
 * (spec graph-recordings-pipeline §2.5, §9.9) — `subscriptionRemoved` (the subscription is deleted with
 * it) and `missed` — plus an early `reauthorizationRequired`, so a pipeline's handling of each can be tested.
 */
export async function subscriptionControlRoutes(app: FastifyInstance, o: { subscriptions: SubscriptionService }): Promise<void> {
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof LifecycleBody> }>('/_emulator/subscriptions/:id/lifecycleEvents',
    { schema: { params: IdParams, body: LifecycleBody } }, async (request, reply) => {
      const s = await o.subscriptions.injectLifecycle(request.params.id, request.body.lifecycleEvent);
      return reply.code(202).send({ lifecycleEvent: request.body.lifecycleEvent, subscription: subscriptionToWire(s) });
    });
}
