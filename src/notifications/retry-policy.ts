import type { DeliveryOutcome } from '../domain/call.js';
import { callbackUriProblem } from '../domain/callback-uri.js';
import { backoffMs } from '../shared/backoff.js';
import type { WebhookResponse } from './webhook.sender.js';

export interface RetryPolicy {
  /** Attempts in all, the first included, before a notification is dead-lettered. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** Redirects followed for one notification before it counts as a failure. */
  maxRedirects: number;
}

export interface Decision {
  outcome: DeliveryOutcome;
  /** For `retry`: wait this long. */
  delayMs?: number;
  /** For `redirected`: the new callbackUri. */
  location?: string;
}

/**
 * What to do after attempt number `attempt` (1-based):
 * 2xx delivered · 302/307 + an absolute Location that passes the callbackUri rule re-homes the call (Teams honours region redirects) ·
 * network error, timeout, 5xx, 408 and 429 retry with exponential backoff and jitter (429/503 honour
 * Retry-After) until `maxAttempts`, then dead · any other status is final (rejected).
 */
export function decide(result: WebhookResponse | Error, attempt: number, policy: RetryPolicy, random: () => number): Decision {
  const retry = (retryAfterMs: number | null = null): Decision => {
    if (attempt >= policy.maxAttempts) return { outcome: 'dead' };
    // Equal jitter: half fixed, half random, so retries of many calls spread out but still back off.
    const delay = Math.max(retryAfterMs ?? 0, backoffMs(attempt, policy.baseDelayMs, policy.maxDelayMs, random));
    return { outcome: 'retry', delayMs: Math.min(delay, Math.max(policy.maxDelayMs, retryAfterMs ?? 0)) };
  };
  if (result instanceof Error) return retry();
  const s = result.status;
  if (s >= 200 && s < 300) return { outcome: 'delivered' };
  if ((s === 302 || s === 307 || s === 301 || s === 308) && result.location) {
    // The new home must pass the same rule as any callbackUri; a relative or broken Location is final.
    if (callbackUriProblem(result.location) === null) return { outcome: 'redirected', location: new URL(result.location).toString() };
    return { outcome: 'rejected' };
  }
  if (s >= 500 || s === 429 || s === 408) return retry(s === 429 || s === 503 ? result.retryAfterMs : null);
  return { outcome: 'rejected' };
}
