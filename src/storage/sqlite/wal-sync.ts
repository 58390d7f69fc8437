import { closeSync, fdatasync, fdatasyncSync, fstatSync, fsyncSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { StorageError } from '../storage-error.js';

/**
 * `synchronous=FULL` durability without the fsync on the event loop.
 *
 * With FULL, SQLite fsyncs the WAL inside every COMMIT, on the calling thread: under load that was
 * ~5–8 ms of every group commit with the whole process stalled (the benchmark's "COMMIT ms/tx"). Here the
 * connection runs with `synchronous=OFF`, so COMMIT only write()s its WAL frames, and the engine makes
 * them durable itself with `fdatasync` on the WAL file, which node runs on libuv's thread pool. A batch's
 * promises settle only after a sync that started after its COMMIT has finished, so a 2xx still means
 * on disk, exactly as with FULL; meanwhile the event loop serves requests and runs the next batch.
 *
 * Syncs coalesce: while one runs, every COMMIT that follows waits for the next one, which covers them all
 * (fdatasync flushes the file, whichever descriptor asks). A WAL frame written but not yet synced when
 * power fails is discarded at recovery by the frame checksums, and its batch was never acknowledged.
 *
 * What SQLite still syncs on its own: checkpoints (the checkpoint thread's connection keeps the default
 * FULL, so it syncs the WAL before copying it and the database before resetting it) and the closing
 * TRUNCATE checkpoint, for which the engine turns FULL back on. The WAL file keeps its inode while any
 * connection is open (SQLite truncates or rewrites it, never unlinks it), which `sameFile` checks.
 */
export class WalSync {
  private readonly fd: number;
  private running: Promise<void> | null = null;
  private queued: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  private failed: StorageError | null = null;
  syncs = 0;
  syncMs = 0;

  /** `sync`: how a descriptor is made durable (fdatasync on libuv's pool; tests hold it to see the pipeline). */
  constructor(private readonly walPath: string, private readonly sync: (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void = fdatasync) {
    this.fd = openSync(walPath, 'r');
    // What was written before (migrations, the start's lease clean-up) is made durable once, here, and the
    // WAL's directory entry too (FULL syncs the directory when it creates the file).
    fdatasyncSync(this.fd);
    const dir = openSync(dirname(walPath), 'r');
    try { fsyncSync(dir); } finally { closeSync(dir); }
  }

  /** Resolves once everything written to the WAL before this call is on disk. */
  durable(): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (!this.running) return (this.running = this.syncNow());
    if (!this.queued) {
      let resolve!: () => void, reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => { resolve = res; reject = rej; });
      this.queued = { promise, resolve, reject };
    }
    return this.queued.promise;
  }

  /** A sync is running and another already waits to follow it (a COMMIT came after the running one began). */
  get backlogged(): boolean {
    return this.queued !== null;
  }

  /** Resolves once every sync asked for so far has finished: what has been committed is on disk. */
  settled(): Promise<void> | null {
    if (this.failed) return Promise.reject(this.failed);
    return this.queued?.promise ?? this.running;
  }

  /** True while the descriptor still names the WAL file SQLite writes (same device and inode). */
  sameFile(): boolean {
    try {
      const a = fstatSync(this.fd), b = statSync(this.walPath);
      return a.dev === b.dev && a.ino === b.ino;
    } catch {
      return false;
    }
  }

  private syncNow(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const t0 = performance.now();
      this.sync(this.fd, (err) => {
        this.syncs++;
        this.syncMs += performance.now() - t0;
        // A failed fsync leaves the WAL's state on disk unknown: nothing after it can be promised durable,
        // so every later write and read fails too (as PostgreSQL stops on a failed fsync).
        if (err) this.failed = new StorageError(`the database's write-ahead log could not be synced to disk: ${err.message}`);
        const q = this.queued;
        this.queued = null;
        this.running = null;
        if (q) {
          if (this.failed) q.reject(this.failed);
          else { this.running = this.syncNow(); this.running.then(q.resolve, q.reject); }
        }
        if (this.failed) reject(this.failed);
        else resolve();
      });
    });
  }

  /** Waits for syncs in flight, then closes the descriptor. */
  async close(): Promise<void> {
    for (let p = this.settled(); p && !this.failed; p = this.settled()) await p.catch(() => undefined);
    closeSync(this.fd);
  }
}
