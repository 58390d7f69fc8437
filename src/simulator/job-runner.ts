import type { Job } from '../domain/call.js';
import type { CallStore } from '../domain/ports.js';
import type { Clock } from '../shared/clock.js';

export interface JobRunnerOptions {
  store: CallStore;
  clock: Clock;
  run(job: Job): Promise<void>;
  onError(job: Job, err: unknown): void;
  batchSize?: number;
}

/**
 * Runs the far side's durable jobs when they fall due. Jobs are rows written in the same transaction
 * as the change that caused them, so after a restart or crash the runner simply picks up where the
 * stored state says: an answer that was pending is still answered, a hang-up still finishes.
 */
export class JobRunner {
  private cancel: (() => void) | null = null;
  private armedFor = Number.POSITIVE_INFINITY;
  private running = false;
  private current: Promise<void> | null = null;
  private stopped = false;
  /** Jobs that threw: skipped until restart so a poisoned job cannot spin the loop. */
  private readonly poisoned = new Set<number>();

  constructor(private readonly o: JobRunnerOptions) {
    o.store.onJobsScheduled(() => this.arm());
  }

  start(): void {
    this.stopped = false;
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    this.cancel?.();
    this.cancel = null;
  }

  /** Resolves once no job is running (for an orderly close). */
  async idle(): Promise<void> {
    while (this.current) await this.current;
  }

  private arm(): void {
    if (this.stopped || this.running) return;
    const due = this.o.store.nextJobDue();
    if (due === null) return;
    if (this.cancel && due >= this.armedFor) return;
    this.cancel?.();
    this.armedFor = due;
    this.cancel = this.o.clock.setTimer(due - this.o.clock.now(), () => void this.tick());
  }

  private tick(): Promise<void> {
    const run = this.runDue();
    this.current = run;
    void run.finally(() => { if (this.current === run) this.current = null; });
    return run;
  }

  private async runDue(): Promise<void> {
    this.cancel = null;
    this.armedFor = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    this.running = true;
    try {
      for (;;) {
        const jobs = this.o.store.dueJobs(this.o.clock.now(), this.o.batchSize ?? 200).filter((j) => !this.poisoned.has(j.id));
        if (jobs.length === 0 || this.stopped) break;
        await Promise.all(jobs.map((job) => this.o.run(job).catch((err) => {
          this.poisoned.add(job.id);
          this.o.onError(job, err);
        })));
      }
    } finally {
      this.running = false;
    }
    this.arm();
  }
}
