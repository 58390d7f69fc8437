import Database from 'better-sqlite3';
import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { CallStore, CallWriter, Storage, WakeTopic, Wakeups } from '../../domain/ports.js';
import { SqlCallRepository, SqlCallStore } from '../sql/call-repository.js';
import { SqlConfigStore } from '../sql/config-repository.js';
import { LiveScope, type Row, type Sql, type Stmt } from '../sql/sql.js';
import { StorageError } from '../storage-error.js';
import { DataDirLock } from './data-dir-lock.js';
import { MIGRATIONS } from './migrations.js';
import { WalCheckpointer } from './wal-checkpointer.js';

export interface SqliteOptions {
  /** Directory for `graph-calls.db`, or null for an in-memory database. */
  dataDir: string | null;
  synchronous: 'FULL' | 'NORMAL';
}

/** Group-commit counters, for the benchmark and diagnostics. */
export interface CommitStats {
  commands: number;
  transactions: number;
  maxBatch: number;
  /** Time inside flush (commands + COMMIT) and inside COMMIT alone, in ms. */
  flushMs: number;
  commitMs: number;
}

interface Pending { fn: (tx: CallWriter) => Promise<unknown>; resolve: (v: unknown) => void; reject: (e: unknown) => void }

/**
 * The SQLite engine (better-sqlite3, WAL): one connection, one process (a lock on the data directory),
 * and group commit as a private detail, the way Kysely runs better-sqlite3 behind an async driver.
 *
 * Group commit: every `write` queued during one event-loop turn runs in a single transaction, one after
 * another; each command sees the writes before it, so the batch is serialisable. A command gets a
 * savepoint before its first write, so one that fails rolls back alone and the others run once;
 * commands that fail on a precondition before writing (the usual case) cost no savepoint at all. All
 * promises settle after the COMMIT. While a batch is open, reads outside it wait for the commit, so they
 * see only committed state.
 */
export class SqliteEngine implements Storage {
  readonly engine = 'sqlite';
  readonly shared = false;
  readonly calls: CallStore;
  readonly config: SqlConfigStore;
  readonly wakeups: Wakeups;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private queue: Pending[] = [];
  private flushScheduled = false;
  /** Set while a batch's transaction is open; reads outside it wait on this. */
  private flushing: Promise<void> | null = null;
  private readonly events = new EventEmitter();
  private readonly checkpointer: WalCheckpointer | null = null;
  private readonly lock: DataDirLock | null = null;
  private readonly stats: CommitStats = { commands: 0, transactions: 0, maxBatch: 0, flushMs: 0, commitMs: 0 };
  /** Runs statements directly on the connection: only inside a batch, or after `waitForCommit`. */
  private readonly direct: Sql;
  private closed = false;

  constructor(o: SqliteOptions) {
    let file = ':memory:';
    if (o.dataDir) {
      mkdirSync(o.dataDir, { recursive: true });
      this.lock = DataDirLock.acquire(o.dataDir);
      file = join(o.dataDir, 'graph-calls.db');
    }
    try {
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${o.synchronous}`);
      this.db.pragma('busy_timeout = 5000');
      this.db.pragma('foreign_keys = ON');
      this.db.pragma('cache_size = -65536');
      this.migrate(file);
    } catch (err) {
      this.lock?.release();
      throw err;
    }
    if (o.dataDir) {
      // Checkpoints run on a worker thread (wal-checkpointer.ts), not inside a request's commit.
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new WalCheckpointer(file, createRequire(import.meta.url).resolve('better-sqlite3'));
    }
    // One process owns the database (the lock above), so any lease in it is a dead process's: free them.
    this.db.exec('UPDATE outbox SET lease_owner = NULL, lease_until = 0 WHERE lease_until > 0; UPDATE jobs SET lease_owner = NULL, lease_until = 0 WHERE lease_until > 0');
    this.events.setMaxListeners(100);

    const prepared = (s: Stmt) => {
      let p = this.statements.get(s.name);
      if (!p) {
        p = this.db.prepare(s.sqlite);
        this.statements.set(s.name, p);
      }
      return p;
    };
    const bind = (params: readonly unknown[] | undefined) => (params ?? []).map((v) => (typeof v === 'boolean' ? (v ? 1 : 0) : v));
    this.direct = {
      all: async <R = Row>(s: Stmt, params?: readonly unknown[]) => prepared(s).all(...bind(params)) as R[],
      get: async <R = Row>(s: Stmt, params?: readonly unknown[]) => prepared(s).get(...bind(params)) as R | undefined,
      run: async (s: Stmt, params?: readonly unknown[]) => prepared(s).run(...bind(params)).changes,
    };
    // Outside a batch: wait for an open transaction to commit, then run (statements run synchronously,
    // so no batch can begin between the wait and the statement).
    const outside: Sql = {
      all: async (s, params) => { await this.waitForCommit(); return this.direct.all(s, params); },
      get: async (s, params) => { await this.waitForCommit(); return this.direct.get(s, params); },
      run: async (s, params) => { await this.waitForCommit(); return this.direct.run(s, params); },
    };
    this.calls = new SqlCallStore(outside, this);
    this.config = new SqlConfigStore(outside);
    this.wakeups = {
      on: (topic, listener) => void this.events.on(topic, listener),
      publish: async (topic, detail) => void this.events.emit(topic, detail),
    };
  }

  private migrate(file: string): void {
    const at = this.db.pragma('user_version', { simple: true }) as number;
    if (at > MIGRATIONS.length) {
      throw new StorageError(`the database ${file} has schema version ${at}, newer than this graph-calls knows (${MIGRATIONS.length}); use the graph-calls that wrote it, or another --data directory`);
    }
    for (let v = at; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  private async waitForCommit(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.closed) throw new StorageError('the database is closed');
  }

  // ---- transactions -----------------------------------------------------------------------------

  write<T>(fn: (tx: CallWriter) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new StorageError('the database is closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.flushing || this.queue.length === 0) return;
      let done!: () => void;
      this.flushing = new Promise<void>((r) => (done = r));
      void this.flush().finally(() => {
        this.flushing = null;
        done();
        if (this.queue.length) this.scheduleFlush();
      });
    });
  }

  private async flush(): Promise<void> {
    const t0 = performance.now();
    const batch = this.queue;
    this.queue = [];
    const settled: Array<{ ok: boolean; value: unknown }> = [];
    const touched = new Set<WakeTopic>();
    try {
      this.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const item of batch) item.reject(err);
      return;
    }
    for (const item of batch) {
      const scope = new LiveScope(() => this.exec('SAVEPOINT cmd'));
      try {
        const value = await item.fn(new SqlCallRepository(this.direct, scope));
        scope.end();
        if (scope.didWrite) this.exec('RELEASE cmd');
        for (const t of scope.touched) touched.add(t);
        settled.push({ ok: true, value });
      } catch (err) {
        scope.end();
        if (scope.didWrite && this.db.inTransaction) {
          this.exec('ROLLBACK TO cmd');
          this.exec('RELEASE cmd');
        }
        settled.push({ ok: false, value: err });
      }
    }
    try {
      const tc = performance.now();
      this.exec('COMMIT');
      this.stats.commitMs += performance.now() - tc;
    } catch (err) {
      if (this.db.inTransaction) this.exec('ROLLBACK');
      for (const item of batch) item.reject(err);
      return;
    }
    this.stats.commands += batch.length;
    this.stats.transactions++;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    this.stats.flushMs += performance.now() - t0;
    batch.forEach((item, i) => (settled[i]!.ok ? item.resolve(settled[i]!.value) : item.reject(settled[i]!.value)));
    for (const t of touched) this.events.emit(t, '');
  }

  private exec(sql: string): void {
    let p = this.statements.get(sql);
    if (!p) {
      p = this.db.prepare(sql);
      this.statements.set(sql, p);
    }
    p.run();
  }

  announce(url: string): void {
    this.lock?.announce(url);
  }

  /** Counters since the last reset. */
  commitStats(reset = false): CommitStats {
    const out = { ...this.stats };
    if (reset) Object.assign(this.stats, { commands: 0, transactions: 0, maxBatch: 0, flushMs: 0, commitMs: 0 });
    return out;
  }

  /** Lets queued writes commit, waits for the checkpoint thread, then closes the database and its lock. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.queue.length || this.flushing || this.flushScheduled) {
      if (this.flushing) await this.flushing;
      else await new Promise<void>((r) => setImmediate(r));
    }
    this.closed = true;
    await this.checkpointer?.stop();
    if (this.db.open) {
      if (this.checkpointer) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
    this.lock?.release();
  }
}
