import type { DeliveryOutcome } from '../domain/call.js';
import { STRICT_CALLBACKS, type CallbackPolicy } from '../domain/callback-uri.js';
import { backoffMs } from '../shared/backoff.js';
import { WebhookError, type WebhookResponse } from './webhook.sender.js';

export interface RetryPolicy {
  /** Attempts in all, the first included, before a notification is dead-lettered. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Redirects followed for one notification before it counts as a failure. */
  maxRedirects: number;
  /**
   * The longest Retry-After honoured (--delivery-retry-after-max-ms): a bot's `Retry-After: 1e308` must not
   * park its call's notifications forever. Absent: maxDelayMs.
   */
  maxRetryAfterMs?: number;
  /** The callbackUri rule a redirect target must pass (with --allow-callback-hosts). Absent: no exceptions. */
  callbacks?: CallbackPolicy;
}

export interface Decision {
  outcome: DeliveryOutcome;
  /** For `retry`: wait this long. */
  delayMs?: number;
  /** For `redirected`: the new callbackUri. */
  location?: string;
  /** Why a redirect was not followed (journalled with the attempt). */
  reason?: string;
}

/**
 * What to do after attempt number `attempt` (1-based):
 * 2xx delivered · 301/302/307/308 + an absolute Location that passes the callbackUri rule re-homes the call
 * (Teams honours region redirects); a Location that fails it (an internal host, say) is final, and the call
 * keeps its callbackUri · network error, timeout, 5xx, 408 and 429 retry with exponential backoff and jitter
 * (429/503 honour Retry-After, up to maxRetryAfterMs) until `maxAttempts`, then dead · a host graph-calls
 * does not call, and any other status, are final (rejected).
 */
export function decide(result: WebhookResponse | Error, attempt: number, policy: RetryPolicy, random: () => number): Decision {
  const retry = (retryAfterMs: number | null = null): Decision => {
    if (attempt >= policy.maxAttempts) return { outcome: 'dead' };
    const honoured = retryAfterMs === null ? 0 : Math.min(retryAfterMs, policy.maxRetryAfterMs ?? policy.maxDelayMs);
    // Equal jitter: half fixed, half random, so retries of many calls spread out but still back off.
    const delay = Math.max(honoured, backoffMs(attempt, policy.baseDelayMs, policy.maxDelayMs, random));
    return { outcome: 'retry', delayMs: Math.min(delay, Math.max(policy.maxDelayMs, honoured)) };
  };
  // The callbackUri's host is not one graph-calls calls: the same answer every time, so no retry.
  if (result instanceof WebhookError && result.final) return { outcome: 'rejected' };
  if (result instanceof Error) return retry();
  const s = result.status;
  if (s >= 200 && s < 300) return { outcome: 'delivered' };
  if ((s === 302 || s === 307 || s === 301 || s === 308) && result.location) {
    // The new home must pass the same rule as any callbackUri; a relative, broken or internal Location is final.
    const problem = (policy.callbacks ?? STRICT_CALLBACKS).uriProblem(result.location);
    if (problem === null) return { outcome: 'redirected', location: new URL(result.location).toString() };
    return { outcome: 'rejected', reason: `redirect not followed: ${problem}` };
  }
  if (s >= 500 || s === 429 || s === 408) return retry(s === 429 || s === 503 ? result.retryAfterMs : null);
  return { outcome: 'rejected' };
}
