import type { Job } from '../domain/call.js';
import type { CallStore, Lease, Wakeups } from '../domain/ports.js';
import type { Clock } from '../shared/clock.js';
import { backoffMs } from '../shared/backoff.js';
import type { JobRegistry } from './job-registry.js';

export interface JobRunnerOptions {
  store: CallStore;
  wakeups: Wakeups;
  clock: Clock;
  jobs: JobRegistry;
  /** This instance's name on the leases it takes. */
  owner: string;
  /** How long a claim lasts; renewed while the job runs, so only a dead instance's claims expire. */
  leaseMs: number;
  /** Attempts in all before a failing job is dead-lettered. */
  maxAttempts: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** How often to look for work nobody announced (another instance's expired claims); 0 = never. */
  pollMs: number;
  onError(job: Job | null, err: unknown): void;
  batchSize?: number;
}

/**
 * Runs durable jobs (answering, operation completion, timeouts, keep-alive expiry, renders) when they
 * fall due. Jobs are rows written in the same transaction as the change that caused them, so after a
 * restart or crash the runner simply picks up where the stored state says. Each job is claimed with a
 * lease before it runs, so with several instances each job runs on one of them; a job that throws is
 * recorded, backed off and retried, then dead-lettered; never retried in a tight loop.
 */
export class JobRunner {
  private cancel: (() => void) | null = null;
  private armedFor = Number.POSITIVE_INFINITY;
  private running = false;
  private again = false;
  private current: Promise<void> | null = null;
  private stopped = true;
  private poll: NodeJS.Timeout | null = null;

  constructor(private readonly o: JobRunnerOptions) {
    o.wakeups.on('jobs', () => this.kick());
  }

  start(): void {
    this.stopped = false;
    if (this.o.pollMs > 0) {
      this.poll = setInterval(() => this.kick(), this.o.pollMs);
      this.poll.unref();
    }
    this.kick();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
    if (this.poll) clearInterval(this.poll);
    this.poll = null;
  }

  /** Resolves once no job is running (for an orderly close). */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  /** Runs what is due now, then sleeps until the next job falls due. */
  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.cancel?.();
    this.cancel = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    const run = this.runDue().catch((err) => {
      // The database itself failed (a networked one does, now and then): try again after a pause.
      this.o.onError(null, err);
      setTimeout(() => this.kick(), 1000).unref();
    });
    this.current = run;
    void run.finally(() => { if (this.current === run) this.current = null; });
  }

  private lease(): Lease {
    const now = Date.now();
    return { owner: this.o.owner, until: now + this.o.leaseMs, now };
  }

  private async runDue(): Promise<void> {
    this.running = true;
    // The next due time read last, when nothing was due: arm() need not read it again.
    let next: number | null | undefined;
    try {
      do {
        this.again = false;
        next = undefined;
        for (;;) {
          if (this.stopped) return;
          // A read first: most wake-ups announce a job due later, and a read is cheaper than a claim.
          const due = await this.o.store.nextJobDue();
          if (due === null || due > this.o.clock.now()) { next = due; break; }
          const jobs = await this.o.store.write((tx) => tx.claimJobs(this.o.clock.now(), this.o.batchSize ?? 100, this.lease()));
          if (jobs.length === 0) break;
          // One renewal at a time: a renewal that waits (a lock, a slow database) is not joined by more.
          let renewing = false;
          const renew = setInterval(() => {
            if (renewing) return;
            renewing = true;
            void this.o.store.write((tx) => tx.extendLeases(this.lease(), { jobs: jobs.map((j) => j.id) }))
              .catch(() => undefined).finally(() => { renewing = false; });
          }, Math.max(500, this.o.leaseMs / 3));
          try {
            await Promise.all(jobs.map((job) => this.o.jobs.run(job).catch((err) => this.failed(job, err))));
          } finally {
            clearInterval(renew);
          }
        }
      } while (this.again);
    } finally {
      this.running = false;
    }
    await this.arm(next);
  }

  private async failed(job: Job, err: unknown): Promise<void> {
    this.o.onError(job, err);
    // The count lives in the job row (failJob increments it), so it survives restarts and instances.
    const attempt = (job.attempts ?? 0) + 1;
    const message = err instanceof Error ? err.message : String(err);
    const retryAt = attempt >= this.o.maxAttempts ? null : this.o.clock.now() + backoffMs(attempt, this.o.retryBaseMs ?? 200, this.o.retryMaxMs ?? 60_000);
    await this.o.store.write((tx) => tx.failJob(job.id, message, retryAt)).catch((e) => this.o.onError(job, e));
  }

  private async arm(known?: number | null): Promise<void> {
    if (this.stopped) return;
    const due = known !== undefined ? known : await this.o.store.nextJobDue();
    if (due === null) return;
    if (this.cancel && due >= this.armedFor) return;
    this.cancel?.();
    this.armedFor = due;
    this.cancel = this.o.clock.setTimer(due - this.o.clock.now(), () => {
      this.cancel = null;
      this.armedFor = Number.POSITIVE_INFINITY;
      this.kick();
    });
  }
}
