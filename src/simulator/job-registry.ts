import type { Job, JobKind } from '../domain/call.js';

export type JobHandler = (job: Job) => Promise<void>;

/**
 * Who runs each kind of durable job. Each module fills in its own kinds at composition (the far side
 * its answers and timeouts, the recorder its renders); the runner only dispatches. A handler deletes
 * its job row in the transaction that does the job's work, so a job's effect is committed once.
 */
export class JobRegistry {
  private readonly handlers = new Map<JobKind, JobHandler>();

  register(kind: JobKind, handler: JobHandler): void {
    if (this.handlers.has(kind)) throw new Error(`job kind '${kind}' has two handlers`);
    this.handlers.set(kind, handler);
  }

  run(job: Job): Promise<void> {
    const handler = this.handlers.get(job.kind);
    if (!handler) return Promise.reject(new Error(`no handler for job kind '${job.kind}'`));
    return handler(job);
  }
}
