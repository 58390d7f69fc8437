import type { CallStore, CallWriter, Lease } from '../domain/ports.js';
import type { Clock } from '../shared/clock.js';

export interface RetentionSweeperOptions {
  store: CallStore;
  /** This instance's name on the sweep's lease, and how long the lease lasts unless renewed (`--lease-ms`). */
  owner: string;
  leaseMs: number;
  /** The call clock: a call's end and a delivery attempt are stamped on it (virtual with `--clock virtual`). */
  clock: Clock;
  /** `--retention`: how long ended calls and journals are kept; 0 = forever (the sweeper does nothing). */
  retentionMs: number;
  /** `--retention-batch`: calls per transaction at most. Journal rows go `JOURNAL_ROWS_PER_CALL` times as many at a time. */
  batchCalls: number;
  /** Real time between sweeps (one also runs at start, and after each advance of a virtual clock). */
  intervalMs?: number;
  /** Real time the sweep yields between two batches at least, so requests queued meanwhile commit first. */
  pauseMs?: number;
  /**
   * How long one batch should take (ms): a slower batch halves the next one's size, a quick one doubles it
   * back up to `batchCalls`. The pause after a batch is at least as long as the batch took, so cleanup never
   * holds the database more than half the time.
   */
  batchBudgetMs?: number;
  /** Reads the real-time stopwatch batches are timed with, inside their transaction (ms; `performance.now` by default). */
  stopwatch?: () => number;
  onError(err: unknown): void;
}

/** What one sweep deleted (`busy`: another instance holds the sweep's lease, so this one did nothing more). */
export interface SweepReport {
  calls: number;
  attempts: number;
  journal: number;
  notifications: number;
  /** Transactions the sweep ran, and how many of them deleted calls. */
  batches: number;
  callBatches: number;
  busy: boolean;
}

const emptyReport = (): SweepReport => ({ calls: 0, attempts: 0, journal: 0, notifications: 0, batches: 0, callBatches: 0, busy: false });

const DEFAULT_INTERVAL_MS = 60_000;
const DEFAULT_PAUSE_MS = 5;
const DEFAULT_BUDGET_MS = 20;
/** A journal row is far smaller than a call with its rows: trims take this many per call of the batch size. */
const JOURNAL_ROWS_PER_CALL = 10;

/**
 * Deletes ended calls and journal rows older than `--retention`, in the background, so what the database
 * holds (and what every lookup pays) is bounded by recent activity, not by history (issue 11 item 4).
 *
 * A sweep is a series of small batches, each one short transaction (at most `batchCalls` calls, or a
 * bounded number of journal rows, fewer when batches run over their time budget) that yields between
 * batches at least as long as the last one took, so requests never wait behind a long delete; on SQLite a
 * batch joins one group commit like any other write. One sweep runs at a time in a process, and one
 * instance sweeps at a time on a shared database: each batch claims or renews the sweep's lease in its own
 * transaction (real time, `--lease-ms`), the lease is released when the sweep ends, and an instance that
 * finds it held stops at once (the holder is doing the work; a dead holder's lease expires). Cut-offs are
 * read from the call clock when the sweep starts, so on a virtual clock calls expire as virtual time passes.
 */
export class RetentionSweeper {
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  private closing = false;
  private current: Promise<SweepReport> | null = null;
  /** A sweep asked for while one runs: it starts when that one ends, with the cut-off of that moment. */
  private queued: Promise<SweepReport> | null = null;

  /** What every sweep of this process deleted so far (`busy` counts sweeps that found the sweep held elsewhere). */
  readonly totals = { ...emptyReport(), busy: 0, sweeps: 0, slowestBatchMs: 0 };

  constructor(private readonly o: RetentionSweeperOptions) {}

  get enabled(): boolean {
    return this.o.retentionMs > 0;
  }

  /** Sweeps once now, then every `intervalMs` of real time. */
  start(): void {
    if (!this.enabled || this.started || this.closing) return;
    this.started = true;
    this.background();
    this.timer = setInterval(() => this.background(), this.o.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timer; a sweep in progress ends after its current batch (see `idle`), and no other starts. */
  stop(): void {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  async idle(): Promise<void> {
    while (this.current) await this.current.catch(() => undefined);
  }

  /**
   * Runs a sweep, or joins the one asked for after the sweep in progress (never two at once, and at most
   * one waiting). Resolves with what it deleted.
   */
  sweep(): Promise<SweepReport> {
    if (this.queued) return this.queued;
    const previous = this.current;
    const next: Promise<SweepReport> = (previous ? previous.catch(() => undefined) : Promise.resolve()).then(() => {
      if (this.queued === next) this.queued = null;
      return this.run().then((r) => this.count(r));
    });
    if (previous) this.queued = next;
    this.current = next;
    void next.catch(() => undefined).finally(() => { if (this.current === next) this.current = null; });
    return next;
  }

  private background(): void {
    if (this.current) return;
    this.sweep().catch((err) => this.o.onError(err));
  }

  private count(r: SweepReport): SweepReport {
    const t = this.totals;
    t.sweeps++;
    t.busy += r.busy ? 1 : 0;
    for (const k of ['calls', 'attempts', 'journal', 'notifications', 'batches', 'callBatches'] as const) t[k] += r[k];
    return r;
  }

  private async run(): Promise<SweepReport> {
    const report = emptyReport();
    if (!this.enabled) return report;
    const callCutoff = this.o.clock.now() - this.o.retentionMs;
    // The request journal is stamped in real time (requests arrive in real time, whatever the call clock says).
    const journalCutoff = Date.now() - this.o.retentionMs;
    const calls = this.o.batchCalls;
    const rows = calls * JOURNAL_ROWS_PER_CALL;
    const budget = this.o.batchBudgetMs ?? DEFAULT_BUDGET_MS;
    const stopwatch = this.o.stopwatch ?? (() => performance.now());
    const phases: Array<{ key: 'calls' | 'attempts' | 'journal' | 'notifications'; max: number; step(tx: CallWriter, limit: number): Promise<number> }> = [
      { key: 'calls', max: calls, step: async (tx, limit) => (await tx.deleteEndedCalls(callCutoff, limit)).length },
      { key: 'notifications', max: rows, step: (tx, limit) => tx.trimSettledLanes(callCutoff, limit) },
      { key: 'attempts', max: rows, step: (tx, limit) => tx.trimDeliveryAttempts(callCutoff, limit) },
      { key: 'journal', max: rows, step: (tx, limit) => tx.trimJournal(journalCutoff, limit) },
    ];
    const lease = () => {
      const now = Date.now();
      return { owner: this.o.owner, now, until: now + this.o.leaseMs };
    };
    try {
      return await this.phases(phases, report, lease, budget, stopwatch);
    } finally {
      // Others may sweep at once (the next one to try), not only once the lease has run out; a lease that is
      // not this owner's is left alone.
      if (report.batches > 0) await this.o.store.write((tx) => tx.releaseSweep(this.o.owner)).catch(() => undefined);
    }
  }

  private async phases(
    phases: Array<{ key: 'calls' | 'attempts' | 'journal' | 'notifications'; max: number; step(tx: CallWriter, limit: number): Promise<number> }>,
    report: SweepReport, lease: () => Lease, budget: number, stopwatch: () => number,
  ): Promise<SweepReport> {
    for (const phase of phases) {
      let limit = phase.max;
      for (;;) {
        // Stopping lets the batch in progress finish; what is left waits for the next start.
        if (this.closing) return report;
        // Timed inside the transaction: the batch's own work is what other writes wait for. The wait for its
        // turn (behind a busy group commit, or a PostgreSQL lock) is not its cost, and counting it shrank
        // batches to one call under load (41 calls/s on a loaded 2-core machine, issue 11).
        let took = 0;
        const n = await this.o.store.write(async (tx) => {
          if (!(await tx.claimSweep(lease()))) return null;
          const t0 = stopwatch();
          try {
            return await phase.step(tx, limit);
          } finally {
            took = stopwatch() - t0;
          }
        });
        this.totals.slowestBatchMs = Math.max(this.totals.slowestBatchMs, took);
        report.batches++;
        if (phase.key === 'calls') report.callBatches++;
        if (n === null) {
          report.busy = true;
          return report;
        }
        report[phase.key] += n;
        if (n < limit) break;
        // A batch is sized by how long the last one took, not only by count: history is cold, rows vary.
        if (took > budget) limit = Math.max(1, Math.floor(limit / 2));
        else if (took < budget / 2) limit = Math.min(phase.max, limit * 2);
        await new Promise((r) => setTimeout(r, Math.max(this.o.pauseMs ?? DEFAULT_PAUSE_MS, took)));
      }
    }
    return report;
  }
}
