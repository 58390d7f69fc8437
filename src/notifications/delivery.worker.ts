import type { Call, OutboxNotification } from '../domain/call.js';
import type { CallStore, Lease, Wakeups } from '../domain/ports.js';
import { backoffMs } from '../shared/backoff.js';
import { remember } from '../shared/bounded-map.js';
import type { Clock } from '../shared/clock.js';
import type { NotificationTokens } from './notification-token.js';
import type { FaultEngine, NotificationFault } from '../faults/fault-rules.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { decide, type RetryPolicy } from './retry-policy.js';
import { WebhookError, type WebhookSender } from './webhook.sender.js';
import { deliverChange } from './change-delivery.js';
import type { ValidationTokens } from '../subscriptions/validation-tokens.js';

export interface DeliveryWorkerOptions {
  store: CallStore;
  wakeups: Wakeups;
  clock: Clock;
  /** This instance's name on the leases it takes. */
  owner: string;
  /** How long a claim lasts; renewed while attempts run, so only a dead instance's claims expire. */
  leaseMs: number;
  /** How often to look for work nobody announced (another instance's expired claims); 0 = never. */
  pollMs: number;
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
  /** Signs the validationTokens of rich change notifications (outbox kind `change`). */
  validationTokens?: ValidationTokens;
  onError(err: unknown): void;
}

/** A call's fields that notifications carry and that never change once the call exists. */
type CallIdentity = Pick<Call, 'id' | 'appId' | 'tenantId' | 'callChainId'>;
/** Calls whose identity the worker keeps (the oldest read is forgotten first): about 200 bytes each. */
const IDENTITIES_KEPT = 4096;

/** Header values Teams' calling platform sends (spec §3.1, observed). */
const USER_AGENT = 'Microsoft-Skype/3.0,(Calling/1.0)';

/**
 * Delivers committed notifications to each call's callbackUri. Order: a call's notifications go out in
 * commit order with one in flight; different calls proceed in parallel. Each head is claimed with a
 * lease before it is sent, so with several instances a notification is sent by one of them at a time
 * and per-call order holds across all of them; a dead instance's claims expire and others take over.
 * Durability: a notification stays `pending` until a 2xx is recorded, so after a crash it is sent again
 * (at-least-once; the message id is stable, so bots can deduplicate). Every attempt is journalled in the
 * same transaction as its outcome; an attempt that fails before it reaches the network is journalled,
 * backed off and retried like any other.
 */
export class DeliveryWorker {
  /** seq of each notification in flight, by call. */
  private readonly inFlight = new Map<string, number>();
  /** A claimed head waiting for the same call's attempt in flight to return. */
  private readonly next = new Map<string, OutboxNotification>();
  private pumpScheduled = false;
  private pumping = false;
  private pumpAgain = false;
  private cancelTimer: (() => void) | null = null;
  private timerAt = Number.POSITIVE_INFINITY;
  private stopped = true;
  private readonly idleWaiters: Array<() => void> = [];
  private renew: NodeJS.Timeout | null = null;
  private renewing = false;
  private poll: NodeJS.Timeout | null = null;
  /** The last claim filled every free slot (or there was none), so more heads may be waiting. */
  private saturated = false;
  /** The next pump claims any call's head; else only those of `wanted` (calls a wake-up named). */
  private everywhere = true;
  private readonly wanted = new Set<string>();
  /** Calls a wake-up named while their attempt was in flight. */
  private readonly named = new Set<string>();
  private readonly identities = new Map<string, CallIdentity>();

  constructor(private readonly o: DeliveryWorkerOptions) {
    o.wakeups.on('outbox', (detail) => this.wakeFor(detail));
  }

  start(): void {
    this.stopped = false;
    this.renew = setInterval(() => this.renewLeases(), Math.max(500, this.o.leaseMs / 3));
    this.renew.unref();
    if (this.o.pollMs > 0) {
      this.poll = setInterval(() => this.wake(), this.o.pollMs);
      this.poll.unref();
    }
    this.wake();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = null;
    if (this.renew) clearInterval(this.renew);
    if (this.poll) clearInterval(this.poll);
    this.renew = this.poll = null;
  }

  /** Tells idle() waiters, when nothing is in flight and no pump is running or due (its end tells them). */
  private settleIdle(): void {
    if (this.inFlight.size === 0 && !this.pumping && !this.pumpScheduled) this.idleWaiters.splice(0).forEach((r) => r());
  }

  /** Resolves when nothing is in flight (for orderly shutdown and tests). */
  async idle(): Promise<void> {
    if (this.inFlight.size === 0 && !this.pumping) return;
    await new Promise<void>((r) => this.idleWaiters.push(r));
  }

  /**
   * A commit changed the outbox. When the engine names the calls, only those not in flight here need a
   * claim (a call in flight gets its next head when the current one settles); else look at every call.
   */
  private wakeFor(detail: string): void {
    if (!detail) return this.wake();
    let any = false;
    for (const id of detail.split(' ')) {
      // Its settle claims the next head in its own transaction; what commits after that is looked at
      // when the attempt returns (named).
      if (this.inFlight.has(id)) this.named.add(id);
      else {
        this.wanted.add(id);
        any = true;
      }
    }
    if (any) this.wake(false);
  }

  /** `everywhere`: claim any call's head (a timer, a poll, a wake-up that named no call); else the wanted calls'. */
  wake(everywhere = true): void {
    if (everywhere) this.everywhere = true;
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pumping = true;
      this.pump().catch((err) => {
        // The database failed: try again after a pause rather than at once.
        this.o.onError(err);
        setTimeout(() => this.wake(), 1000).unref();
      }).finally(() => {
        this.pumping = false;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          // What the wake-ups during the pump asked for is already in `everywhere` and `wanted`: a named
          // call's wake-up must not turn into a pass over every call's pending rows (which costs the
          // whole backlog: ~0.6 ms a pump with 200 calls, issue 11).
          this.wake(false);
        }
        // Stopped, the pump a wake-up asked for never comes: the waiters (close()) must hear it here, or
        // they sit out --shutdown-grace-ms.
        this.settleIdle();
      });
    });
  }

  private lease(extraMs = 0): Lease {
    const now = Date.now();
    return { owner: this.o.owner, until: now + this.o.leaseMs + extraMs, now };
  }

  private renewLeases(): void {
    // One renewal at a time: a renewal that waits (a lock, a slow database) is not joined by more.
    if (this.inFlight.size === 0 || this.renewing) return;
    this.renewing = true;
    const deliveries = [...this.inFlight.values()];
    void this.o.store.write((tx) => tx.extendLeases(this.lease(), { deliveries })).catch(() => undefined)
      .finally(() => { this.renewing = false; });
  }

  private async pump(): Promise<void> {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const room = this.o.concurrency - this.inFlight.size;
    // Full: heads may be waiting that this claim could not take; a slot that frees must look again.
    this.saturated = room <= 0;
    if (room > 0 && (this.everywhere || this.wanted.size > 0)) {
      const ids = this.everywhere ? [] : [...this.wanted].filter((id) => !this.inFlight.has(id));
      const only = this.everywhere ? undefined : ids.slice(0, room);
      this.everywhere = false;
      this.wanted.clear();
      // More named calls than free slots: the rest are found by the claim a freed slot makes.
      if (ids.length > room) this.saturated = true;
      const heads = await this.o.store.write((tx) => tx.claimDeliveries(now, room, this.lease(), only));
      if (heads.length >= room) this.saturated = true;
      for (const n of heads) this.send(n);
    }
    await this.armTimer(now);
  }

  /**
   * Sends a claimed head. A head of a call whose previous notification is still finishing here (it
   * settled, but its attempt has not returned yet) waits for it, so the call's order holds.
   */
  private send(n: OutboxNotification): void {
    if (this.inFlight.has(n.callId)) {
      this.next.set(n.callId, n);
      return;
    }
    this.inFlight.set(n.callId, n.seq);
    void this.attempt(n).then((chained) => {
      this.inFlight.delete(n.callId);
      // The call's next head, claimed when this one settled; else one a claim found meanwhile.
      const queued = chained ?? this.next.get(n.callId);
      this.next.delete(n.callId);
      // Named while in flight: if the settle chained nothing, it may have committed after the settle.
      const named = this.named.delete(n.callId) && !queued;
      if (queued) this.send(queued);
      // A settle that chained nothing woke the workers itself (settleNotification); a freed slot only
      // matters when the last claim left heads behind for want of room.
      else if (this.saturated) this.wake();
      else if (named) {
        this.wanted.add(n.callId);
        this.wake(false);
      }
      this.settleIdle();
    });
  }

  /**
   * One attempt; anything that fails before the attempt is journalled is journalled as a failed attempt.
   * Resolves with the call's next head when the settle claimed it (never rejects).
   */
  private async attempt(n: OutboxNotification): Promise<OutboxNotification | null> {
    try {
      return await this.deliver(n);
    } catch (err) {
      this.o.onError(err);
      const attempt = n.attempts + 1;
      const at = this.o.clock.now();
      const dead = attempt >= this.o.policy.maxAttempts;
      // If even this write fails, the claim simply expires and the notification is tried again then.
      await this.o.store.write(async (tx) => {
        await tx.recordDeliveryAttempt({
          notificationSeq: n.seq, callId: n.callId, messageId: n.messageId, attempt, at, url: n.callbackUri, status: null, latencyMs: null,
          error: `graph-calls could not send it: ${err instanceof Error ? err.message : String(err)}`, outcome: dead ? 'dead' : 'retry',
        });
        if (dead) await tx.settleNotification(n.seq, 'dead', at);
        else await tx.retryNotification(n.seq, attempt, at + backoffMs(attempt, this.o.policy.baseDelayMs, this.o.policy.maxDelayMs, this.o.random));
      }).catch((e) => this.o.onError(e));
      return null;
    }
  }

  /** What a settle claims besides: the call's next head, if due now and free (see settleNotification). */
  private chain(callId: string) {
    return this.stopped ? undefined : { callId, now: this.o.clock.now(), lease: this.lease() };
  }

  /** Sleeps until the earliest retry falls due (new commits wake the worker sooner). */
  private async armTimer(now: number): Promise<void> {
    const due = await this.o.store.nextDeliveryDue(now);
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

  /**
   * What a notification's headers and token need of its call. These never change in a call's life, so
   * they are read once per call rather than the whole call (row and JSON) for every notification; the
   * cache is bounded, and a call it forgot is read again.
   */
  private async identity(n: OutboxNotification): Promise<CallIdentity> {
    const known = this.identities.get(n.callId);
    if (known) return known;
    const call = await this.o.store.getCall(n.callId);
    if (!call) throw new Error(`notification ${n.seq} for unknown call ${n.callId}`);
    return remember(this.identities, n.callId, { id: call.id, appId: call.appId, tenantId: call.tenantId, callChainId: call.callChainId }, IDENTITIES_KEPT);
  }

  /** Sends `n` and records the outcome; resolves with the call's next head when settling claimed it. */
  private async deliver(n: OutboxNotification, noteForThis: string | null = null, chain = true): Promise<OutboxNotification | null> {
    // Subscription lanes carry change and lifecycle notifications: Graph's webhook contract, not the call's.
    if (n.kind === 'change' || n.kind === 'lifecycle') {
      if (!this.o.validationTokens) throw new Error(`notification ${n.seq} is a ${n.kind} notification, and this worker has no validation token signer`);
      await deliverChange({ ...this.o, tokens: this.o.validationTokens }, n);
      return null;
    }
    const call = await this.identity(n);
    const attempt = n.attempts + 1;
    // A notification sent early by a reorder fault is not subject to further faults.
    const rule = noteForThis ? undefined : await this.o.faults?.pick({ side: 'notification', path: n.resourceUrl, appId: call.appId, callId: n.callId });
    const fault = rule?.action as NotificationFault | undefined;
    const note = noteForThis ?? (rule && fault ? `injected fault ${rule.id}: ${fault.type}${fault.type === 'badToken' ? ` (${fault.token})` : ''}` : null);
    if (fault?.type === 'drop') {
      // Lost on the way: graph-calls believes it delivered, the bot never sees it.
      const at = this.o.clock.now();
      return this.o.store.write(async (tx) => {
        await tx.recordDeliveryAttempt({ notificationSeq: n.seq, callId: n.callId, messageId: n.messageId, attempt, at, url: n.callbackUri, status: null, latencyMs: 0, error: note, outcome: 'dropped' });
        return tx.settleNotification(n.seq, 'delivered', at, this.chain(n.callId));
      });
    }
    if (fault?.type === 'delay') await sleep(fault.ms);
    if (fault?.type === 'reorder') {
      // Out of order on purpose: the call's next notification goes first, then this one.
      const next = await this.o.store.nextPendingAfter(n.callId, n.seq);
      // Its settle must not claim a head: `n` is still pending before it.
      if (next) await this.deliver(next, `injected fault ${rule!.id}: reorder (sent before ${n.messageId})`, false);
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
    const claimNext = chain ? this.chain(n.callId) : undefined;
    return this.o.store.write(async (tx): Promise<OutboxNotification | null> => {
      if (decision.outcome === 'redirected' && (await tx.countRedirects(n.seq)) >= this.o.policy.maxRedirects) decision = { outcome: 'dead' };
      await tx.recordDeliveryAttempt({
        notificationSeq: n.seq, callId: n.callId, messageId: n.messageId, attempt, at, url: n.callbackUri,
        status: result instanceof Error ? null : result.status,
        latencyMs: result instanceof Error ? (result instanceof WebhookError ? result.latencyMs : null) : result.latencyMs,
        error: [result instanceof Error ? result.message : result.note, decision.reason, note].filter(Boolean).join('; ') || null,
        outcome: decision.outcome,
      });
      switch (decision.outcome) {
        case 'delivered':
          return tx.settleNotification(n.seq, 'delivered', at, claimNext);
        case 'retry':
          await tx.retryNotification(n.seq, attempt, at + (decision.delayMs ?? 0));
          return null;
        case 'redirected': {
          // Re-home this call's callbacks: the pending notifications and the call itself.
          await tx.rehomeNotifications(n.callId, decision.location!);
          const current = await tx.getCall(n.callId);
          if (current) await tx.updateCall({ ...current, callbackUri: decision.location!, updatedAt: at });
          await tx.retryNotification(n.seq, attempt, at);
          return null;
        }
        case 'dead':
        case 'rejected':
          return tx.settleNotification(n.seq, 'dead', at, claimNext);
      }
      return null;
    });
  }
}
