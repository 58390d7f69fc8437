/**
 * Every decision about subscriptions where Graph is silent or contradicts itself, in one place (spec
 * graph-recordings-pipeline §8, §9; docs/fidelity.md "Change notifications" lists each with its reason).
 */

/** Max lifetime of callRecording/callTranscript subscriptions: 4,320 min (subscription resource page, spec §1.5). */
export const MAX_EXPIRY_MINUTES = 4320;
/** Graph raises an expiry under 45 minutes from now to now + 45 minutes (spec §1.5). */
export const MIN_EXPIRY_MS = 45 * 60_000;
/** Teams: beyond 1 hour, a lifecycleNotificationUrl is required (spec §0.3). */
export const LIFECYCLE_REQUIRED_AFTER_MS = 60 * 60_000;
/**
 * `reauthorizationRequired` goes out once per expiry period, this long before the subscription expires
 * (Graph: "do not assume a frequency"; its illustration sends the last ones every 15 min under 60 min, spec §2.5).
 */
export const REAUTHORIZE_LEAD_MS = 15 * 60_000;
/** The handshake's deadline (spec §1.4: 10 s); `--subscription-validation-timeout-ms` shortens it for tests. */
export const VALIDATION_TIMEOUT_MS = 10_000;
/** The validation token: the text real Graph sends (spec §1.4, §9.5), so URL-decoding bugs surface. */
export const validationTokenText = (requestId: string) => `Validation: Testing client application reachability for subscription Request-Id: ${requestId}`;
/** Change-notification delivery: 3 s for the first attempt, 10 s for retries, retried for 4 hours (spec §2.4). */
export const FIRST_ATTEMPT_TIMEOUT_MS = 3_000;
export const RETRY_TIMEOUT_MS = 10_000;
export const RETRY_WINDOW_MS = 4 * 60 * 60_000;
/** Only `created` appears for recordings and transcripts (spec §1.2, INFERRED sole supported value). */
export const CHANGE_TYPES: readonly string[] = ['created'];
/** clientState: ≤128 characters (subscription page; the changeNotification page says 255, spec §8.2). */
export const CLIENT_STATE_MAX = 128;
export const CERTIFICATE_ID_MAX = 128;
export const TLS_VERSIONS: readonly string[] = ['v1_0', 'v1_1', 'v1_2', 'v1_3'];
/** The Microsoft Graph Change Tracking service principal: `azp`/`appid` of validation tokens (spec §2.2). */
export const CHANGE_TRACKING_APP_ID = '0bf30f3b-4a52-48df-9a82-234910c4a086';
/** Lifetime of a validationToken (the doc's example ≈ 24 h, spec §2.2). */
export const VALIDATION_TOKEN_LIFETIME_S = 24 * 3600;
/** Subscriptions an app lists per page (Graph pages with @odata.nextLink, size undocumented). */
export const LIST_PAGE_SIZE = 100;
/** The outbox lane of a subscription's notifications: one in flight per subscription, in commit order. */
export const laneOf = (subscriptionId: string) => `subscription:${subscriptionId}`;

/**
 * Error messages, verbatim where Graph's are known (spec §1.7); codes chosen where only messages are
 * known (spec §9.3): `InvalidRequest` for request problems, as Graph uses it for the handshake timeout.
 */
export const MESSAGES = {
  validationFailed: 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.',
  validationMismatch: 'Subscription validation request failed. Response must exactly match validationToken query parameter.',
  validationTimeout: 'Subscription validation request timed out.',
  lifecycleRequired: 'lifecycleNotificationUrl is required for subscription creation on this resource when the expirationDateTime value exceeds 1 hour.',
  expiryMissing: 'expirationDateTime is a required property for subscription creation.',
  expiryTooFar: (minutes: number) => `Subscription expiration can only be ${minutes} minutes in the future.`,
  expiryPast: 'Subscription expiration time must be in the future.',
  patchEmpty: "Subscription must contain either the 'expirationDateTime' or 'notificationUrl' property and its value.",
  badCertificate: 'Certificate validation error: Cannot find the requested object.',
  duplicate: (id: string) => `Subscription Id ${id} already exists for the requested combination`,
  notFound: 'The object was not found.',
} as const;
