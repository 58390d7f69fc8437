import { setTimeout as sleep } from 'node:timers/promises';
import type { OutboxNotification } from '../domain/call.js';
import type { CallStore } from '../domain/ports.js';
import type { FaultEngine, NotificationFault } from '../faults/fault-rules.js';
import { backoffMs } from '../shared/backoff.js';
import type { Clock } from '../shared/clock.js';
import type { StoredChangeNotification } from '../subscriptions/change-publisher.js';
import { FIRST_ATTEMPT_TIMEOUT_MS, RETRY_TIMEOUT_MS, RETRY_WINDOW_MS } from '../subscriptions/subscription-rules.js';
import type { ValidationTokens } from '../subscriptions/validation-tokens.js';
import type { RetryPolicy } from './retry-policy.js';
import { WebhookError, type WebhookSender } from './webhook.sender.js';

export interface ChangeDeliveryDeps {
  store: CallStore;
  sender: WebhookSender;
  clock: Clock;
  tokens: ValidationTokens;
  policy: RetryPolicy;
  faults?: FaultEngine;
  random?: () => number;
}

/**
 * One attempt at a change or lifecycle notification (outbox kinds `change`/`lifecycle`), with Graph's
 * delivery contract for webhooks (spec graph-recordings-pipeline §2.1, §2.4), not the calling platform's:
 * the body is a `changeNotificationCollection` (`validationTokens` added for rich notifications, signed at
 * send time so a retry carries a fresh one); `Content-Type: application/json; charset=utf-8`; no bearer
 * token (authenticity is `clientState`, and the validationTokens of rich notifications); a 2xx within
 * 3 s (10 s on retries) delivers; anything else is retried with backoff for 4 hours of the call clock,
 * then dead; redirects are not followed. A change whose subscription was deleted meanwhile is not sent.
 * Attempts are journalled in the same delivery journal as call notifications.
 */
export async function deliverChange(d: ChangeDeliveryDeps, n: OutboxNotification): Promise<void> {
  const stored = n.resourceData as StoredChangeNotification;
  const attempt = n.attempts + 1;
  const subscriptionId = String(stored.notification.subscriptionId);
  const journal = (f: { status: number | null; latencyMs: number | null; error: string | null; outcome: 'delivered' | 'retry' | 'dead' | 'dropped' }, settle: 'delivered' | 'dead' | { retryAt: number }) =>
    d.store.write(async (tx) => {
      await tx.recordDeliveryAttempt({ notificationSeq: n.seq, callId: n.callId, messageId: n.messageId, attempt, at: d.clock.now(), url: n.callbackUri, ...f });
      if (typeof settle === 'string') await tx.settleNotification(n.seq, settle, d.clock.now());
      else await tx.retryNotification(n.seq, attempt, settle.retryAt);
    });

  if (n.kind === 'change') {
    const sub = await d.store.getSubscription(subscriptionId);
    if (!sub || sub.expiresAt <= d.clock.now()) {
      return journal({ status: null, latencyMs: null, error: 'not sent: the subscription was deleted or expired', outcome: 'dead' }, 'dead');
    }
  }
  const rule = await d.faults?.pick({ side: 'notification', path: n.resourceUrl, appId: stored.appId, callId: n.callId });
  const fault = rule?.action as NotificationFault | undefined;
  const note = rule && fault ? `injected fault ${rule.id}: ${fault.type}${fault.type === 'badToken' ? ` (${fault.token})` : ''}` : null;
  if (fault?.type === 'drop') return journal({ status: null, latencyMs: 0, error: note, outcome: 'dropped' }, 'delivered');
  if (fault?.type === 'delay') await sleep(fault.ms);

  const body: Record<string, unknown> = { value: [stored.notification] };
  if (stored.rich) {
    body.validationTokens = [await d.tokens.tokenFor(stored.appId, stored.tenantId, fault?.type === 'badToken' ? fault.token : undefined)];
  }
  const text = JSON.stringify(body);
  const headers = { 'content-type': 'application/json; charset=utf-8', accept: 'application/json', 'client-request-id': n.messageId };
  const timeoutMs = attempt === 1 ? FIRST_ATTEMPT_TIMEOUT_MS : RETRY_TIMEOUT_MS;
  let result: Awaited<ReturnType<WebhookSender['post']>> | Error;
  try {
    result = await d.sender.post(n.callbackUri, headers, text, timeoutMs);
    if (fault?.type === 'duplicate') await d.sender.post(n.callbackUri, headers, text, timeoutMs).catch(() => undefined);
  } catch (err) {
    result = err instanceof Error ? err : new Error(String(err));
  }
  const status = result instanceof Error ? null : result.status;
  const latencyMs = result instanceof Error ? (result instanceof WebhookError ? result.latencyMs : null) : result.latencyMs;
  const error = [result instanceof Error ? result.message : (status !== null && (status < 200 || status >= 300) ? `HTTP ${status}` : result.note), note].filter(Boolean).join('; ') || null;
  if (status !== null && status >= 200 && status < 300) return journal({ status, latencyMs, error, outcome: 'delivered' }, 'delivered');
  // A host graph-calls does not call gets the same answer every time: final, as for call notifications.
  const final = result instanceof WebhookError && result.final;
  const retryAt = d.clock.now() + backoffMs(attempt, d.policy.baseDelayMs, d.policy.maxDelayMs, d.random);
  if (final || retryAt > n.createdAt + RETRY_WINDOW_MS) return journal({ status, latencyMs, error, outcome: 'dead' }, 'dead');
  return journal({ status, latencyMs, error, outcome: 'retry' }, { retryAt });
}
