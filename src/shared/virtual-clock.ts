import type { Clock } from './clock.js';

interface Timer { at: number; seq: number; fn: () => void; cancelled: boolean }

/**
 * A clock that moves only when told (`--clock virtual`, POST /_emulator/clock/advance). Timers fire in
 * due order as time passes them, each seeing `now()` equal to its own due time, so an hour of far-side
 * work (answers, timeouts, operation completions, delivery backoff) runs in milliseconds.
 */
export class VirtualClock implements Clock {
  private current: number;
  private readonly timers: Timer[] = [];
  private seq = 0;
  private advancing: Promise<void> = Promise.resolve();
  private readonly advanced: Array<(now: number) => Promise<void>> = [];

  constructor(start: number, private readonly settle: () => Promise<void> = defaultSettle) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const t: Timer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(t);
    return () => { t.cancelled = true; };
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in order, and letting the
   * work each one starts (commits, follow-up timers) settle before the next. Advances are serialised.
   */
  /** Called after each advance made here (not after `follow`): how time is shared with other instances. */
  onAdvanced(listener: (now: number) => Promise<void>): void {
    this.advanced.push(listener);
  }

  /** Moves to `at` if that is later, firing timers on the way, without announcing it (another instance moved time). */
  async follow(at: number): Promise<void> {
    if (at > this.current) await this.move(at - this.current);
  }

  async advance(ms: number): Promise<number> {
    const now = await this.move(ms);
    for (const l of this.advanced) await l(now);
    return now;
  }

  private move(ms: number): Promise<number> {
    const run = this.advancing.then(async () => {
      const target = this.current + Math.max(0, ms);
      await this.settle();
      for (;;) {
        const next = this.nextDue(target);
        if (!next) break;
        this.current = Math.max(this.current, next.at);
        next.cancelled = true;
        next.fn();
        await this.settle();
      }
      this.current = target;
      await this.settle();
    });
    this.advancing = run.catch(() => undefined);
    return run.then(() => this.current);
  }

  /** Number of live timers (for diagnostics). */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  private nextDue(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (let i = this.timers.length - 1; i >= 0; i--) {
      const t = this.timers[i]!;
      if (t.cancelled) { this.timers.splice(i, 1); continue; }
      if (t.at <= target && (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq))) best = t;
    }
    return best;
  }
}

/** Lets promise chains and setImmediate-based group commits run to completion. */
async function defaultSettle(): Promise<void> {
  for (let i = 0; i < 8; i++) await new Promise<void>((r) => setImmediate(r));
}
