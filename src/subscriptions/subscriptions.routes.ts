import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import { principalOf } from '../graph/auth.hook.js';
import { nextLink, pageParams } from '../graph/paging.js';
import { sendJson, versionBase, type GraphVersion } from '../graph/wire.js';
import type { SubscriptionService } from './subscription.service.js';
import { subscriptionToWire } from './subscription.mapper.js';
import { LIST_PAGE_SIZE } from './subscription-rules.js';

export interface SubscriptionsRoutesOptions {
  version: GraphVersion;
  subscriptions: SubscriptionService;
}

const Str = Type.Optional(Type.Union([Type.String({ maxLength: 8192 }), Type.Null()]));
/** Graph's subscription members (spec §1.2). Open type: unknown members are ignored. */
const SubscriptionBody = Type.Object({
  changeType: Str, notificationUrl: Str, lifecycleNotificationUrl: Str, resource: Str, expirationDateTime: Str, clientState: Str,
  includeResourceData: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  // A certificate is a few KiB of base64: the body limit bounds it.
  encryptionCertificate: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  encryptionCertificateId: Str, latestSupportedTlsVersion: Str, notificationUrlAppId: Str, notificationQueryOptions: Str,
  vapidPublicKey: Str, webPushEncryptionP256dhPublicKey: Str, webPushEncryptionSecret: Str,
});
const IdParams = Type.Object({ id: Type.String() });

/**
 * /subscriptions on v1.0 and beta (subscription-post-subscriptions, -get, -list, -update, -delete,
 * -reauthorize docs). Permissions are per resource (resource-strings.ts); get/update/delete/reauthorize
 * act on the caller's own subscriptions only.
 */
export async function subscriptionsRoutes(app: FastifyInstance, o: SubscriptionsRoutesOptions): Promise<void> {
  // Route generics carry the schemas' static types (fastify's TypeBox provider does not fit fastify 5.12's types).
  type Body = { Body: Static<typeof SubscriptionBody> | undefined };
  type Id = { Params: Static<typeof IdParams> };
  const context = (request: Parameters<typeof versionBase>[0]) => `${versionBase(request, o.version)}/$metadata#subscriptions`;

  app.post<Body>('/subscriptions', { schema: { body: Type.Optional(SubscriptionBody) } }, async (request, reply) => {
    const p = principalOf(request);
    const s = await o.subscriptions.create(p, o.version, request.body ?? {});
    reply.header('location', `${versionBase(request, o.version)}/subscriptions/${s.id}`);
    return sendJson(reply, 201, { '@odata.context': `${context(request)}/$entity`, ...subscriptionToWire(s) });
  });

  app.get('/subscriptions', async (request, reply) => {
    const p = principalOf(request);
    const { after } = pageParams(request);
    const rows = await o.subscriptions.list(p, after, LIST_PAGE_SIZE + 1);
    const body: Record<string, unknown> = { '@odata.context': context(request), value: rows.slice(0, LIST_PAGE_SIZE).map((s) => subscriptionToWire(s, { inList: true })) };
    if (rows.length > LIST_PAGE_SIZE) body['@odata.nextLink'] = nextLink(`${versionBase(request, o.version)}/subscriptions`, LIST_PAGE_SIZE, rows[LIST_PAGE_SIZE - 1]!.seq);
    return sendJson(reply, 200, body);
  });

  app.get<Id>('/subscriptions/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const p = principalOf(request);
    const s = await o.subscriptions.get(p, request.params.id);
    return sendJson(reply, 200, { '@odata.context': `${context(request)}/$entity`, ...subscriptionToWire(s) });
  });

  app.patch<Id & Body>('/subscriptions/:id', { schema: { params: IdParams, body: Type.Optional(SubscriptionBody) } }, async (request, reply) => {
    const p = principalOf(request);
    const s = await o.subscriptions.update(p, request.params.id, request.body ?? {});
    return sendJson(reply, 200, { '@odata.context': `${context(request)}/$entity`, ...subscriptionToWire(s) });
  });

  app.delete<Id>('/subscriptions/:id', { schema: { params: IdParams } }, async (request, reply) => {
    const p = principalOf(request);
    await o.subscriptions.remove(p, request.params.id);
    return reply.code(204).send();
  });

  app.post<Id>('/subscriptions/:id/reauthorize', { schema: { params: IdParams } }, async (request, reply) => {
    const p = principalOf(request);
    await o.subscriptions.reauthorize(p, request.params.id);
    return reply.code(204).send();
  });
}
