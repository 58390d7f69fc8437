import type { Subscription } from '../domain/subscription.js';
import { graphDateTime } from './change-publisher.js';

/**
 * Graph `subscription` on the wire (spec graph-recordings-pipeline §1.3): the members Graph's samples
 * return, `notificationContentType` included; the certificate body is not echoed (`encryptionCertificate`
 * comes back empty), and `clientState` is null in lists ("for security purposes", spec §1.1).
 */
export function subscriptionToWire(s: Subscription, o: { inList?: boolean } = {}): Record<string, unknown> {
  return {
    id: s.id,
    resource: s.resource,
    applicationId: s.appId,
    changeType: s.changeType,
    clientState: o.inList ? null : s.clientState,
    notificationUrl: s.notificationUrl,
    notificationQueryOptions: null,
    lifecycleNotificationUrl: s.lifecycleNotificationUrl,
    expirationDateTime: graphDateTime(s.expiresAt),
    creatorId: s.creatorId,
    includeResourceData: s.includeResourceData,
    latestSupportedTlsVersion: s.latestSupportedTlsVersion,
    encryptionCertificate: '',
    encryptionCertificateId: s.encryptionCertificateId,
    notificationUrlAppId: s.notificationUrlAppId,
    notificationContentType: 'application/json',
  };
}
