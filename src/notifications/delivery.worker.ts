import type { OutboxNotification } from '../domain/call.js';
import type { CallStore } from '../domain/ports.js';
import type { Clock } from '../shared/clock.js';
import type { NotificationTokens } from './notification-token.js';
import type { FaultEngine, NotificationFault } from '../faults/fault-rules.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { decide, type RetryPolicy } from './retry-policy.js';
import { WebhookError, type WebhookSender } from './webhook.sender.js';

export interface DeliveryWorkerOptions {
  store: CallStore;
  clock: Clock;
  sender: WebhookSender;
  tokens: NotificationTokens;
  policy: RetryPolicy;
  render(n: OutboxNotification): string;
  timeoutMs: number;
  /** Calls delivered in parallel (each call has at most one notification in flight). */
  concurrency: number;
  random?: () => number;
  /** Notification-side fault rules (drop, duplicate, delay, bad token). */
  faults?: FaultEngine;
  onError(err: unknown): void;
}

/** Header values Teams' calling platform sends (spec §3.1, observed). */
const USER_AGENT = 'Microsoft-Skype/3.0,(Calling/1.0)';

/**
 * Delivers committed notifications to each call's callbackUri. Order: a call's notifications go out in
 * commit order with one in flight; different calls proceed in parallel. Durability: a notification
 * stays `pending` until a 2xx is recorded, so after a crash it is sent again (at-least-once; the message
 * id is stable, so bots can deduplicate). Every attempt is journalled in the same transaction as its
 * outcome.
 */
export class DeliveryWorker {
  private readonly inFlight = new Set<string>();
  private pumpScheduled = false;
  private cancelTimer: (() => void) | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = true;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(private readonly o: DeliveryWorkerOptions) {
    o.store.onNotificationsAppended(() => this.wake());
  }

  start(): void {
    this.stopped = false;
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
  }

  /** Resolves when nothing is in flight (for orderly shutdown and tests). */
  async idle(): Promise<void> {
    if (this.inFlight.size === 0) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  wake(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      try {
        this.pump();
      } catch (err) {
        this.o.onError(err);
      }
    });
  }

  private pump(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const room = this.o.concurrency - this.inFlight.size;
    if (room > 0) {
      const heads = this.o.store.deliverableHeads(now, room + this.inFlight.size);
      for (const n of heads) {
        if (this.inFlight.size >= this.o.concurrency) break;
        if (this.inFlight.has(n.callId)) continue;
        this.inFlight.add(n.callId);
        void this.deliver(n).catch((err) => this.o.onError(err)).finally(() => {
          this.inFlight.delete(n.callId);
          if (this.inFlight.size === 0) this.idleWaiters.splice(0).forEach((r) => r());
          this.wake();
        });
      }
    }
    this.armTimer(now);
  }

  /** Sleeps until the earliest retry falls due (new commits wake the worker sooner). */
  private armTimer(now: number): void {
    const due = this.o.store.nextDeliveryDue(now);
    if (due === null) return;
    if (this.cancelTimer && this.timerAt <= due) return;
    this.cancelTimer?.();
    this.timerAt = due;
    this.cancelTimer = this.o.clock.setTimer(due - now, () => {
      this.cancelTimer = null;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.wake();
    });
  }

  private async deliver(n: OutboxNotification, noteForThis: string | null = null): Promise<void> {
    const call = this.o.store.getCall(n.callId);
    if (!call) throw new Error(`notification ${n.seq} for unknown call ${n.callId}`);
    const attempt = n.attempts + 1;
    // A notification sent early by a reorder fault is not subject to further faults.
    const rule = noteForThis ? undefined : this.o.faults?.pick({ side: 'notification', path: n.resourceUrl, appId: call.appId, callId: n.callId });
    const fault = rule?.action as NotificationFault | undefined;
    const note = noteForThis ?? (rule && fault ? `injected fault ${rule.id}: ${fault.type}${fault.type === 'badToken' ? ` (${fault.token})` : ''}` : null);
    if (fault?.type === 'drop') {
      // Lost on the way: graph-calls believes it delivered, the bot never sees it.
      const at = this.o.clock.now();
      await this.o.store.write((tx) => {
        tx.recordDeliveryAttempt({ notificationSeq: n.seq, callId: n.callId, messageId: n.messageId, attempt, at, url: n.callbackUri, status: null, latencyMs: 0, error: note, outcome: 'dropped' });
        tx.settleNotification(n.seq, 'delivered', at);
      });
      return;
    }
    if (fault?.type === 'delay') await sleep(fault.ms);
    if (fault?.type === 'reorder') {
      // Out of order on purpose: the call's next notification goes first, then this one.
      const next = this.o.store.nextPendingAfter(n.callId, n.seq);
      if (next) await this.deliver(next, `injected fault ${rule!.id}: reorder (sent before ${n.messageId})`);
    }
    const token = fault?.type === 'badToken'
      ? await this.o.tokens.badTokenFor(fault.token, call.appId, call.tenantId)
      : await this.o.tokens.tokenFor(call.appId, call.tenantId);
    const headers = {
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      authorization: `Bearer ${token}`,
      'user-agent': USER_AGENT,
      'x-microsoft-skype-chain-id': call.callChainId,
      'scenario-id': call.id,
      'x-microsoft-skype-message-id': n.messageId,
      'client-request-id': n.messageId,
    };
    let result: Awaited<ReturnType<WebhookSender['post']>> | Error;
    const body = this.o.render(n);
    try {
      result = await this.o.sender.post(n.callbackUri, headers, body, this.o.timeoutMs);
      // A duplicate arrives twice with the same message id; the first answer decides.
      if (fault?.type === 'duplicate') await this.o.sender.post(n.callbackUri, headers, body, this.o.timeoutMs).catch(() => undefined);
    } catch (err) {
      result = err instanceof Error ? err : new Error(String(err));
    }
    let decision = decide(result, attempt, this.o.policy, this.o.random ?? Math.random);
    const at = this.o.clock.now();
    await this.o.store.write((tx) => {
      if (decision.outcome === 'redirected') {
        const redirects = tx.listDeliveryAttempts({ callId: n.callId, limit: 10_000 })
          .filter((a) => a.notificationSeq === n.seq && a.outcome === 'redirected').length;
        if (redirects >= this.o.policy.maxRedirects) decision = { outcome: 'dead' };
      }
      tx.recordDeliveryAttempt({
        notificationSeq: n.seq, callId: n.callId, messageId: n.messageId, attempt, at, url: n.callbackUri,
        status: result instanceof Error ? null : result.status,
        latencyMs: result instanceof Error ? (result instanceof WebhookError ? result.latencyMs : null) : result.latencyMs,
        error: [result instanceof Error ? result.message : null, note].filter(Boolean).join('; ') || null,
        outcome: decision.outcome,
      });
      switch (decision.outcome) {
        case 'delivered':
          tx.settleNotification(n.seq, 'delivered', at);
          return;
        case 'retry':
          tx.retryNotification(n.seq, attempt, at + (decision.delayMs ?? 0));
          return;
        case 'redirected': {
          // Re-home this call's callbacks: the pending notifications and the call itself.
          tx.rehomeNotifications(n.callId, decision.location!);
          const current = tx.getCall(n.callId);
          if (current) tx.updateCall({ ...current, callbackUri: decision.location!, updatedAt: at });
          tx.retryNotification(n.seq, attempt, at);
          return;
        }
        case 'dead':
        case 'rejected':
          tx.settleNotification(n.seq, 'dead', at);
          return;
      }
    });
  }
}
