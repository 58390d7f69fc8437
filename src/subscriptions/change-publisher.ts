import type { Recording } from '../domain/call.js';
import type { Transcript } from '../domain/meeting.js';
import { transcriptToWire } from '../transcripts/transcripts.routes.js';
import type { CallWriter } from '../domain/ports.js';
import type { ArtifactKind, LifecycleEvent, Subscription } from '../domain/subscription.js';
import { recordingToWire } from '../graph/call.mapper.js';
import type { Clock } from '../shared/clock.js';
import type { Ids } from '../shared/ids.js';
import { encryptResource, parseCertificate } from './encryption.js';
import { scopeKeysFor, type ArtifactScope } from './resource-strings.js';
import { laneOf } from './subscription-rules.js';

/**
 * A new artifact to announce. `resourceData` is the resource as a subscriber decrypts it (spec §3.3: the
 * GET shape with relative content URLs); the publisher builds the notification's `resource` path itself.
 */
export interface ResourceChange {
  tenantId: string;
  kind: ArtifactKind;
  changeType: 'created';
  /** The artifact's id. */
  id: string;
  /** Which subscriptions cover it: meeting, organizer, call, users, apps. */
  scope: ArtifactScope;
  /** For ad hoc artifacts: the user the notification path names (`users/{userId}/adhocCalls/…`). */
  adhocUserId?: string | null;
  resourceData: Record<string, unknown>;
}

/** What an outbox row of kind `change`/`lifecycle` holds: the item, and whom its validationToken is for. */
export interface StoredChangeNotification {
  appId: string;
  tenantId: string;
  /** Rich notification: the POST carries `validationTokens`. */
  rich: boolean;
  notification: Record<string, unknown>;
}

const COLLECTION: Record<ArtifactKind, string> = { callRecording: 'recordings', callTranscript: 'transcripts' };

/**
 * The notification `resource` of an artifact (spec §4.2, §9.4): the 2025 form Teams sends now,
 * `users/{organizerId}/onlineMeetings('{meetingId}')/recordings('{id}')`; ad hoc artifacts as
 * `users/{userId}/adhocCalls('{callId}')/recordings('{id}')` (Microsoft's samples mix forms; fidelity.md).
 */
export function notificationResource(c: ResourceChange): string {
  const coll = COLLECTION[c.kind];
  if (c.scope.meetingId) return `users/${c.scope.organizerId ?? 'unknown'}/onlineMeetings('${c.scope.meetingId}')/${coll}('${c.id}')`;
  return `users/${c.adhocUserId ?? c.scope.userIds[0] ?? 'unknown'}/adhocCalls('${c.scope.callId}')/${coll}('${c.id}')`;
}

/** `subscriptionExpirationDateTime` etc.: ISO-8601 UTC with 7 fractional digits, as Graph's samples print them. */
export const graphDateTime = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

/**
 * Turns new artifacts into change notifications on the durable outbox, in the caller's transaction: one
 * `changeNotificationCollection` POST per matching live subscription, delivered, retried and journalled by
 * the same DeliveryWorker as call notifications (src/notifications/change-delivery.ts renders it).
 * The transcript side calls `publishResourceChange` with `kind: 'callTranscript'`.
 */
export class ChangePublisher {
  constructor(private readonly o: { clock: Clock; ids: Ids }) {}

  /** Enqueues the notifications for one new artifact; returns how many subscriptions it matched. */
  async publishResourceChange(tx: CallWriter, c: ResourceChange): Promise<number> {
    const now = this.o.clock.now();
    const subs = await tx.subscriptionsFor({ tenantId: c.tenantId, resourceKind: c.kind, scopeKeys: scopeKeysFor(c.scope), now });
    const resource = notificationResource(c);
    for (const s of subs) {
      const notification: Record<string, unknown> = {
        subscriptionId: s.id,
        changeType: c.changeType,
        tenantId: s.tenantId,
        clientState: s.clientState,
        subscriptionExpirationDateTime: graphDateTime(s.expiresAt),
        resource,
        resourceData: { id: c.id, '@odata.type': `#Microsoft.Graph.${c.kind}`, '@odata.id': resource },
      };
      const rich = s.includeResourceData && s.encryptionCertificate !== null;
      if (rich) {
        const cert = parseCertificate(s.encryptionCertificate!);
        // The certificate was checked at create/update; one that no longer parses sends the basic form.
        if (!('problem' in cert)) notification.encryptedContent = encryptResource(c.resourceData, cert, s.encryptionCertificateId ?? '');
      }
      await this.enqueue(tx, s, 'change', resource, s.notificationUrl, { appId: s.appId, tenantId: s.tenantId, rich, notification }, now);
    }
    return subs.length;
  }

  /** A lifecycle notification to the subscription's lifecycleNotificationUrl (spec §2.5); none without one. */
  async publishLifecycle(tx: CallWriter, s: Subscription, event: LifecycleEvent): Promise<boolean> {
    if (!s.lifecycleNotificationUrl) return false;
    const now = this.o.clock.now();
    const notification = {
      subscriptionId: s.id, subscriptionExpirationDateTime: graphDateTime(s.expiresAt), tenantId: s.tenantId, clientState: s.clientState, lifecycleEvent: event,
    };
    await this.enqueue(tx, s, 'lifecycle', `subscriptions/${s.id}`, s.lifecycleNotificationUrl, { appId: s.appId, tenantId: s.tenantId, rich: false, notification }, now);
    return true;
  }

  private async enqueue(tx: CallWriter, s: Subscription, kind: 'change' | 'lifecycle', resourceUrl: string, url: string, stored: StoredChangeNotification, now: number): Promise<void> {
    await tx.appendOutbox({
      kind, callId: laneOf(s.id), messageId: this.o.ids.next(), changeType: 'created', resourceUrl, resourceData: stored, callbackUri: url, createdAt: now,
    });
  }
}

/** A stored recording as a ResourceChange (what the recorder publishes in the transaction that stores it). */
export function recordingChange(r: Recording, f: { userIds: readonly string[]; appIds: readonly string[] }): ResourceChange {
  const organizerId = r.meetingOrganizer?.user?.id ? String(r.meetingOrganizer.user.id) : null;
  const scope: ArtifactScope = { meetingId: r.meetingId, organizerId, callId: r.callId, userIds: f.userIds, appIds: f.appIds };
  const change: ResourceChange = { tenantId: r.tenantId, kind: 'callRecording', changeType: 'created', id: r.id, scope, adhocUserId: f.userIds[0] ?? null, resourceData: {} };
  // Relative content URL, as the decrypted payloads in Graph's samples carry it (spec §3.3).
  const contentUrl = r.meetingId
    ? `users/${organizerId ?? 'unknown'}/onlineMeetings/${r.meetingId}/recordings/${r.id}/content`
    : `users/${change.adhocUserId ?? 'unknown'}/adhocCalls/${r.callId}/recordings/${r.id}/content`;
  const { '@odata.type': _type, ...wire } = recordingToWire(r, contentUrl);
  change.resourceData = { ...wire, content: null };
  return change;
}

/** A stored transcript as a ResourceChange (what the transcript job publishes in the transaction that stores it). */
export function transcriptChange(t: Transcript, f: { userIds: readonly string[]; appIds: readonly string[] }): ResourceChange {
  const organizerId = t.meetingOrganizer?.user?.id ? String(t.meetingOrganizer.user.id) : null;
  const scope: ArtifactScope = { meetingId: t.meetingId, organizerId, callId: t.callId, userIds: f.userIds, appIds: f.appIds };
  const change: ResourceChange = { tenantId: t.tenantId, kind: 'callTranscript', changeType: 'created', id: t.id, scope, adhocUserId: f.userIds[0] ?? null, resourceData: {} };
  // Relative content URL, as for recordings (spec §3.3).
  const contentUrl = t.meetingId
    ? `users/${organizerId ?? 'unknown'}/onlineMeetings/${t.meetingId}/transcripts/${t.id}/content`
    : `users/${change.adhocUserId ?? 'unknown'}/adhocCalls/${t.callId}/transcripts/${t.id}/content`;
  const { '@odata.type': _type, ...wire } = transcriptToWire(t, contentUrl);
  change.resourceData = wire;
  return change;
}
