import type { Job, Principal } from '../domain/call.js';
import type { CallbackPolicy } from '../domain/callback-uri.js';
import type { CallStore, CallWriter } from '../domain/ports.js';
import type { LifecycleEvent, Subscription } from '../domain/subscription.js';
import { servicePrincipalId } from '../auth/token.service.js';
import { GraphError } from '../graph/graph-errors.js';
import { requireAnyRole } from '../graph/permissions.js';
import type { GraphVersion } from '../graph/wire.js';
import type { WebhookSender } from '../notifications/webhook.sender.js';
import type { Clock } from '../shared/clock.js';
import type { Ids } from '../shared/ids.js';
import type { ChangePublisher } from './change-publisher.js';
import { parseCertificate } from './encryption.js';
import { isProblem, parseResource, type ParsedResource } from './resource-strings.js';
import {
  CERTIFICATE_ID_MAX, CHANGE_TYPES, CLIENT_STATE_MAX, LIFECYCLE_REQUIRED_AFTER_MS, MAX_EXPIRY_MINUTES, MESSAGES, MIN_EXPIRY_MS,
  REAUTHORIZE_LEAD_MS, TLS_VERSIONS, laneOf,
} from './subscription-rules.js';
import { validateEndpoint } from './validation.js';

/** The members of a subscription a create or update may send (spec §1.2); all optional on the wire. */
export interface SubscriptionInput {
  changeType?: string | null;
  notificationUrl?: string | null;
  lifecycleNotificationUrl?: string | null;
  resource?: string | null;
  expirationDateTime?: string | null;
  clientState?: string | null;
  includeResourceData?: boolean | null;
  encryptionCertificate?: string | null;
  encryptionCertificateId?: string | null;
  latestSupportedTlsVersion?: string | null;
  notificationUrlAppId?: string | null;
  notificationQueryOptions?: string | null;
  vapidPublicKey?: string | null;
  webPushEncryptionP256dhPublicKey?: string | null;
  webPushEncryptionSecret?: string | null;
}

export interface SubscriptionServiceOptions {
  store: CallStore;
  clock: Clock;
  ids: Ids;
  sender: WebhookSender;
  /** The callbackUri rule (https, or http on loopback; --allow-callback-hosts) for both URLs. */
  callbacks: CallbackPolicy;
  changes: ChangePublisher;
  validationTimeoutMs: number;
}

const invalid = (message: string) => new GraphError('SUBSCRIPTION_INVALID', message);
const notFound = () => new GraphError('SUBSCRIPTION_NOT_FOUND', MESSAGES.notFound);

/**
 * /subscriptions (spec graph-recordings-pipeline §1): create with Graph's validation handshake, get,
 * list, renew (PATCH), delete, reauthorize; expiry and `reauthorizationRequired` as durable jobs on the
 * call clock. Subscriptions belong to the app and tenant that made them: another app's are not found.
 */
export class SubscriptionService {
  constructor(private readonly o: SubscriptionServiceOptions) {}

  async create(p: Principal, version: GraphVersion, body: SubscriptionInput): Promise<Subscription> {
    for (const m of ['changeType', 'notificationUrl', 'resource'] as const) {
      if (typeof body[m] !== 'string' || body[m] === '') throw invalid(`${m} is a required property for subscription creation.`);
    }
    if (typeof body.expirationDateTime !== 'string' || body.expirationDateTime === '') throw invalid(MESSAGES.expiryMissing);
    const parsed = this.resource(body.resource!, version);
    requireAnyRole(p, parsed.roles);
    const changeTypes = body.changeType!.split(',').map((c) => c.trim());
    const unsupported = changeTypes.filter((c) => !CHANGE_TYPES.includes(c));
    if (unsupported.length) throw invalid(`changeType '${unsupported.join(',')}' is not supported on resource '${body.resource}'. Supported: ${CHANGE_TYPES.join(', ')}.`);
    const now = this.o.clock.now();
    const expiresAt = this.expiry(body.expirationDateTime, now);
    const notificationUrl = this.url('notificationUrl', body.notificationUrl!);
    const lifecycleNotificationUrl = body.lifecycleNotificationUrl ? this.url('lifecycleNotificationUrl', body.lifecycleNotificationUrl) : null;
    if (!lifecycleNotificationUrl && expiresAt - now > LIFECYCLE_REQUIRED_AFTER_MS) throw invalid(MESSAGES.lifecycleRequired);
    if (body.clientState != null && body.clientState.length > CLIENT_STATE_MAX) throw invalid(`clientState is longer than ${CLIENT_STATE_MAX} characters.`);
    for (const m of ['vapidPublicKey', 'webPushEncryptionP256dhPublicKey', 'webPushEncryptionSecret'] as const) {
      if (body[m] != null) throw invalid(`${m} applies to Web Push subscriptions only; remove it from a webhook subscription.`);
    }
    if (body.notificationQueryOptions != null) throw invalid('notificationQueryOptions is supported for Universal Print resources only.');
    const tls = body.latestSupportedTlsVersion ?? 'v1_2';
    if (!TLS_VERSIONS.includes(tls)) throw invalid(`latestSupportedTlsVersion '${tls}' is not one of ${TLS_VERSIONS.join(', ')}.`);
    const includeResourceData = body.includeResourceData === true;
    const cert = this.certificate(includeResourceData, body.encryptionCertificate ?? null, body.encryptionCertificateId ?? null);

    const matchKey = parsed.matchKey;
    const existing = await this.o.store.findSubscription({ tenantId: p.tenantId, appId: p.appId, matchKey, now });
    if (existing) throw new GraphError('SUBSCRIPTION_EXISTS', MESSAGES.duplicate(existing.id));
    // The handshake runs before anything is stored, outside any transaction: a failure leaves nothing behind.
    await validateEndpoint(this.o.sender, notificationUrl, this.o.validationTimeoutMs);
    if (lifecycleNotificationUrl) await validateEndpoint(this.o.sender, lifecycleNotificationUrl, this.o.validationTimeoutMs);

    const at = this.o.clock.now();
    const s: Subscription = {
      id: this.o.ids.next().toLowerCase(), tenantId: p.tenantId, appId: p.appId, creatorId: servicePrincipalId({ tenantId: p.tenantId, clientId: p.appId }),
      resource: body.resource!, matchKey, resourceKind: parsed.kind, scopeKey: parsed.scopeKey, changeType: changeTypes.join(','),
      notificationUrl, lifecycleNotificationUrl, clientState: body.clientState ?? null, expiresAt, includeResourceData,
      encryptionCertificate: cert?.value ?? null, encryptionCertificateId: cert?.id ?? null, latestSupportedTlsVersion: tls,
      notificationUrlAppId: body.notificationUrlAppId ?? null, createdAt: at, reauthorizedAt: at,
    };
    try {
      return await this.o.store.write(async (tx) => {
        // Two creates racing through the handshake: the second finds the first here, or (two instances on
        // PostgreSQL committing together) the unique index refuses it.
        const raced = await tx.findSubscription({ tenantId: p.tenantId, appId: p.appId, matchKey, now: at });
        if (raced) throw new GraphError('SUBSCRIPTION_EXISTS', MESSAGES.duplicate(raced.id));
        await tx.insertSubscription(s);
        await this.scheduleTimers(tx, s);
        return s;
      });
    } catch (err) {
      if (err instanceof GraphError) throw err;
      const winner = await this.o.store.findSubscription({ tenantId: p.tenantId, appId: p.appId, matchKey, now: at });
      if (winner) throw new GraphError('SUBSCRIPTION_EXISTS', MESSAGES.duplicate(winner.id));
      throw err;
    }
  }

  async get(p: Principal, id: string): Promise<Subscription> {
    return this.owned(p, await this.o.store.getSubscription(id));
  }

  async list(p: Principal, afterSeq: number, limit: number): Promise<Array<Subscription & { seq: number }>> {
    return this.o.store.listSubscriptions({ tenantId: p.tenantId, appId: p.appId, now: this.o.clock.now(), afterSeq, limit });
  }

  /** PATCH: a new expirationDateTime (renews and reauthorizes) and/or notificationUrl (validated again, INFERRED). */
  async update(p: Principal, id: string, body: SubscriptionInput): Promise<Subscription> {
    const current = await this.get(p, id);
    if (body.lifecycleNotificationUrl !== undefined) throw invalid('lifecycleNotificationUrl cannot be changed by an update; delete the subscription and create it again.');
    for (const m of ['resource', 'changeType', 'includeResourceData'] as const) {
      if (body[m] !== undefined) throw invalid(`${m} cannot be changed by an update; delete the subscription and create it again.`);
    }
    const hasExpiry = typeof body.expirationDateTime === 'string' && body.expirationDateTime !== '';
    const hasUrl = typeof body.notificationUrl === 'string' && body.notificationUrl !== '';
    if (!hasExpiry && !hasUrl) throw invalid(MESSAGES.patchEmpty);
    const now = this.o.clock.now();
    const expiresAt = hasExpiry ? this.expiry(body.expirationDateTime!, now) : current.expiresAt;
    if (!current.lifecycleNotificationUrl && expiresAt - now > LIFECYCLE_REQUIRED_AFTER_MS) throw invalid(MESSAGES.lifecycleRequired);
    const notificationUrl = hasUrl ? this.url('notificationUrl', body.notificationUrl!) : current.notificationUrl;
    const rotating = body.encryptionCertificate !== undefined || body.encryptionCertificateId !== undefined;
    const cert = rotating
      ? this.certificate(current.includeResourceData, body.encryptionCertificate ?? current.encryptionCertificate, body.encryptionCertificateId ?? current.encryptionCertificateId)
      : null;
    if (hasUrl && notificationUrl !== current.notificationUrl) await validateEndpoint(this.o.sender, notificationUrl, this.o.validationTimeoutMs);
    return this.o.store.write(async (tx) => {
      const stored = this.owned(p, await tx.getSubscription(id));
      const next: Subscription = {
        ...stored, expiresAt, notificationUrl, reauthorizedAt: hasExpiry ? this.o.clock.now() : stored.reauthorizedAt,
        ...(cert ? { encryptionCertificate: cert.value, encryptionCertificateId: cert.id } : {}),
      };
      await tx.updateSubscription(next);
      if (hasExpiry) await this.scheduleTimers(tx, next);
      return next;
    });
  }

  async remove(p: Principal, id: string): Promise<void> {
    await this.o.store.write(async (tx) => {
      const s = this.owned(p, await tx.getSubscription(id));
      await tx.deleteSubscription(s.id);
    });
  }

  /** `reauthorize` (spec §1.1, §2.5): answers a reauthorizationRequired challenge; 204. */
  async reauthorize(p: Principal, id: string): Promise<void> {
    await this.o.store.write(async (tx) => {
      const s = this.owned(p, await tx.getSubscription(id));
      await tx.updateSubscription({ ...s, reauthorizedAt: this.o.clock.now() });
    });
  }

  /**
   * A lifecycle event graph-calls does not raise by itself for these resources (spec §2.5, §9.9):
   * `subscriptionRemoved` (the subscription is deleted with it) or `missed`, for the control plane.
   */
  async injectLifecycle(id: string, event: LifecycleEvent): Promise<Subscription> {
    return this.o.store.write(async (tx) => {
      const s = await tx.getSubscription(id);
      if (!s || s.expiresAt <= this.o.clock.now()) throw notFound();
      if (!s.lifecycleNotificationUrl) throw invalid('The subscription has no lifecycleNotificationUrl.');
      await this.o.changes.publishLifecycle(tx, s, event);
      if (event === 'subscriptionRemoved') await tx.deleteSubscription(s.id);
      return s;
    });
  }

  /** Job `subscriptionLifecycle`: reauthorizationRequired, unless the subscription was renewed or deleted since. */
  async runLifecycleJob(job: Job): Promise<void> {
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id))) return;
      const s = await tx.getSubscription(job.payload.subscriptionId ?? '');
      if (!s || String(s.expiresAt) !== job.payload.expiresAt || s.expiresAt <= this.o.clock.now()) return;
      await this.o.changes.publishLifecycle(tx, s, 'reauthorizationRequired');
    });
  }

  /** Job `subscriptionExpiry`: Graph deletes expired subscriptions (spec §1.5); a renewed one stays. */
  async runExpiryJob(job: Job): Promise<void> {
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id))) return;
      const s = await tx.getSubscription(job.payload.subscriptionId ?? '');
      if (s && s.expiresAt <= this.o.clock.now()) await tx.deleteSubscription(s.id);
    });
  }

  // ---- preconditions ----------------------------------------------------------------------------

  private resource(resource: string, version: GraphVersion): ParsedResource {
    const parsed = parseResource(resource);
    if (isProblem(parsed)) throw invalid(parsed.problem);
    if (parsed.betaOnly && version !== 'beta') throw invalid(`The resource '${resource}' is supported for change notifications on /beta only.`);
    return parsed;
  }

  /** Past → error; under 45 min → raised to 45 min; over the maximum → error (spec §1.5, §9.2). */
  private expiry(value: string, now: number): number {
    const t = Date.parse(value);
    if (Number.isNaN(t) || !/^\d{4}-\d{2}-\d{2}T/.test(value)) throw invalid(`Invalid value '${value}' for expirationDateTime: expected an ISO-8601 DateTimeOffset.`);
    if (t <= now) throw invalid(MESSAGES.expiryPast);
    if (t - now > MAX_EXPIRY_MINUTES * 60_000) throw invalid(MESSAGES.expiryTooFar(MAX_EXPIRY_MINUTES));
    return Math.max(t, now + MIN_EXPIRY_MS);
  }

  private url(member: string, value: string): string {
    const problem = this.o.callbacks.uriProblem(value);
    if (problem) throw invalid(`Invalid ${member} '${value}': ${problem}.`);
    return value;
  }

  private certificate(include: boolean, value: string | null, id: string | null): { value: string; id: string } | null {
    if (!include) return null;
    if (!value) throw invalid('encryptionCertificate is required when includeResourceData is true.');
    if (!id) throw invalid('encryptionCertificateId is required when includeResourceData is true.');
    if (id.length > CERTIFICATE_ID_MAX) throw invalid(`encryptionCertificateId is longer than ${CERTIFICATE_ID_MAX} characters.`);
    const parsed = parseCertificate(value);
    if ('problem' in parsed) throw invalid(`${MESSAGES.badCertificate} (${parsed.problem})`);
    return { value, id };
  }

  /** The caller's own live subscription, with the role its resource needs (INFERRED: as for create, spec §1.6). */
  private owned(p: Principal, s: Subscription | undefined): Subscription {
    if (!s || s.tenantId !== p.tenantId || s.appId !== p.appId || s.expiresAt <= this.o.clock.now()) throw notFound();
    const parsed = parseResource(s.resource);
    if (!isProblem(parsed)) requireAnyRole(p, parsed.roles);
    return s;
  }

  /** reauthorizationRequired before expiry (when there is a lifecycle URL), and the expiry itself. */
  private async scheduleTimers(tx: CallWriter, s: Subscription): Promise<void> {
    const now = this.o.clock.now();
    const payload = { subscriptionId: s.id, expiresAt: String(s.expiresAt) };
    if (s.lifecycleNotificationUrl) {
      await tx.scheduleJob({ callId: laneOf(s.id), kind: 'subscriptionLifecycle', dueAt: Math.max(now, s.expiresAt - REAUTHORIZE_LEAD_MS), payload });
    }
    await tx.scheduleJob({ callId: laneOf(s.id), kind: 'subscriptionExpiry', dueAt: s.expiresAt, payload });
  }
}
