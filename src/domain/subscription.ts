/**
 * A change-notification subscription (Graph `subscription`, spec graph-recordings-pipeline §1), as
 * graph-calls keeps it. Owned by the app and tenant that created it, like a call. The wire shape is
 * src/subscriptions/subscription.mapper.ts; what the resource string means is src/subscriptions/resource-strings.ts.
 */

/** The Graph types a subscription can announce (both carry `created` notifications only). */
export type ArtifactKind = 'callRecording' | 'callTranscript';

export type LifecycleEvent = 'reauthorizationRequired' | 'subscriptionRemoved' | 'missed';

export interface Subscription {
  id: string;
  tenantId: string;
  /** The subscribing app's client id (`applicationId` on the wire). */
  appId: string;
  /** The app's service principal object id (`creatorId` for application permissions). */
  creatorId: string;
  /** As the app sent it (Graph echoes it unnormalised, spec §1.3). */
  resource: string;
  /** The resource normalised (case, leading `/`, query dropped): duplicates compare on it. */
  matchKey: string;
  resourceKind: ArtifactKind;
  /** Which artifacts it covers, as a key the publisher computes for each artifact too (resource-strings.ts). */
  scopeKey: string;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl: string | null;
  clientState: string | null;
  /** ms since the epoch, on the call clock (virtual or real). */
  expiresAt: number;
  includeResourceData: boolean;
  encryptionCertificate: string | null;
  encryptionCertificateId: string | null;
  latestSupportedTlsVersion: string;
  notificationUrlAppId: string | null;
  createdAt: number;
  /** Last renewal or reauthorize (call clock). */
  reauthorizedAt: number;
}
