import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import { DomainError } from '../../domain/errors.js';
import type { CallStore, CallWriter, Storage, WakeTopic, Wakeups } from '../../domain/ports.js';
import { SqlCallRepository, SqlCallStore } from '../sql/call-repository.js';
import { SqlConfigStore } from '../sql/config-repository.js';
import { LiveScope, type Row, type Sql, type Stmt } from '../sql/sql.js';
import { StorageError } from '../storage-error.js';
import { PG_MIGRATIONS } from './migrations.js';

export interface PostgresOptions {
  /** postgres://USER[:PASSWORD]@HOST:PORT/DB */
  url: string;
  /** Pool size (connections this instance may hold). */
  poolSize?: number;
}

/**
 * The channel every instance LISTENs on; the payload is `<origin>|<topic>` or `<origin>|config:<key>`,
 * where origin names the sending instance: it has woken its own listeners already, at commit.
 */
const CHANNEL = 'graph_calls';
/** Advisory lock key that serialises migrations of instances starting together ("graphcal"). */
const MIGRATION_LOCK = 0x67726170_6863616c;
/** Lock races a transaction is retried for: serialisation failures, deadlocks, and a lost optimistic version. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_TRIES = 6;

// BIGINT (int8) and COUNT(*) come back as strings by default; every value of ours fits a double exactly.
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

/**
 * The PostgreSQL engine: a node-postgres pool, real transactions, named (prepared) statements, row locks
 * for claims (`FOR UPDATE SKIP LOCKED`) and `LISTEN/NOTIFY` wake-ups, so any number of graph-calls
 * processes on one database act as one service (design.md §5).
 */
export class PostgresEngine implements Storage {
  readonly engine = 'postgres';
  readonly shared = true;
  readonly calls: CallStore;
  readonly config: SqlConfigStore;
  readonly wakeups: Wakeups;
  private readonly pool: pg.Pool;
  private readonly events = new EventEmitter();
  private listener: pg.Client | null = null;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** Names this instance in its notifications, so its own listener skips what it already emitted. */
  private readonly origin = randomUUID();

  private constructor(private readonly o: PostgresOptions, private readonly target: string) {
    this.pool = new pg.Pool({ connectionString: o.url, max: o.poolSize ?? 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, types });
    // An idle client that loses its server emits here; without a handler the process would crash.
    this.pool.on('error', () => undefined);
    const pooled: Sql = sqlOn((q) => this.pool.query(q));
    this.calls = new SqlCallStore(pooled, this);
    this.config = new SqlConfigStore(pooled);
    this.events.setMaxListeners(100);
    this.wakeups = {
      on: (topic, listener) => void this.events.on(topic, listener),
      publish: async (topic, detail) => {
        this.events.emit(topic, detail);
        await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, this.payload(topic, detail)]);
      },
    };
  }

  /** Connects, checks the server and credentials, migrates, and starts listening for wake-ups. */
  static async open(o: PostgresOptions): Promise<PostgresEngine> {
    const target = describe(o.url);
    const engine = new PostgresEngine(o, target);
    try {
      await engine.migrate();
      await engine.listen();
    } catch (err) {
      await engine.pool.end().catch(() => undefined);
      throw err instanceof StorageError ? err : new StorageError(explain(err, target));
    }
    return engine;
  }

  private async migrate(): Promise<void> {
    const client = await this.pool.connect().catch((err: unknown) => { throw new StorageError(explain(err, this.target)); });
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS graph_calls_schema (version INTEGER NOT NULL)');
      const { rows } = await client.query<{ version: number }>('SELECT version FROM graph_calls_schema');
      let at = rows[0]?.version ?? 0;
      if (rows.length === 0) await client.query('INSERT INTO graph_calls_schema (version) VALUES (0)');
      if (at > PG_MIGRATIONS.length) {
        throw new StorageError(`the database ${this.target} has schema version ${at}, newer than this graph-calls knows (${PG_MIGRATIONS.length}); use the graph-calls that wrote it, or another database`);
      }
      for (; at < PG_MIGRATIONS.length; at++) {
        await client.query('BEGIN');
        try {
          await client.query(PG_MIGRATIONS[at]!);
          await client.query('UPDATE graph_calls_schema SET version = $1', [at + 1]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK');
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      client.release();
    }
  }

  private payload(topic: WakeTopic, detail: string): string {
    return `${this.origin}|${detail ? `${topic}:${detail}` : topic}`;
  }

  /** One connection LISTENs; when it drops, it reconnects and wakes everything (a wake may have been missed). */
  private async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.o.url, connectionTimeoutMillis: 5000 });
    client.on('notification', (m) => {
      if (m.channel !== CHANNEL || !m.payload) return;
      const bar = m.payload.indexOf('|');
      if (m.payload.slice(0, bar) === this.origin) return;
      const body = m.payload.slice(bar + 1);
      const colon = body.indexOf(':');
      const topic = (colon < 0 ? body : body.slice(0, colon)) as WakeTopic;
      this.events.emit(topic, colon < 0 ? '' : body.slice(colon + 1));
    });
    client.on('error', () => this.relisten(client));
    client.on('end', () => this.relisten(client));
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  private relisten(client: pg.Client): void {
    if (this.closed || this.listener !== client || this.reconnectTimer) return;
    this.listener = null;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      this.listen().then(() => {
        for (const t of ['outbox', 'jobs'] as const) this.events.emit(t, '');
        this.events.emit('config', '*');
      }, () => this.relisten(client));
    }, 1000);
    this.reconnectTimer.unref();
  }

  // ---- transactions -----------------------------------------------------------------------------

  async write<T>(fn: (tx: CallWriter) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError('the database is closed');
    for (let attempt = 1; ; attempt++) {
      const client = await this.pool.connect();
      const scope = new LiveScope();
      let began = false;
      try {
        await client.query('BEGIN');
        began = true;
        const value = await fn(new SqlCallRepository(sqlOn((q) => client.query(q)), scope, true));
        scope.end();
        // NOTIFY inside the transaction is sent at COMMIT, and only if it commits. One round trip for both:
        // the payloads are ours (an id and topic names), so they go inline in a simple multi-statement query.
        const notify = [...scope.touched].map((t) => `pg_notify('${CHANNEL}', '${this.payload(t, '')}')`);
        await client.query(notify.length ? `SELECT ${notify.join(', ')}; COMMIT` : 'COMMIT');
        client.release();
        // This instance hears which calls changed (its worker claims only those); the others' NOTIFY names
        // none, so they look at every call's heads.
        for (const t of scope.touched) this.events.emit(t, t === 'outbox' && scope.outboxCalls ? [...scope.outboxCalls].join(' ') : '');
        return value;
      } catch (err) {
        scope.end();
        if (began) await client.query('ROLLBACK').catch(() => undefined);
        client.release();
        // Nothing of a rolled-back attempt was committed, so running `fn` again does nothing twice.
        const retry = attempt < MAX_TRIES && (RETRYABLE.has((err as { code?: string }).code ?? '') || (err instanceof DomainError && err.code === 'CONCURRENT_UPDATE'));
        if (!retry) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
      }
    }
  }

  announce(): void {
    // Instances on PostgreSQL share the database by design: there is no owner to name.
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    const l = this.listener;
    this.listener = null;
    await l?.end().catch(() => undefined);
    await this.pool.end();
  }
}

/** The shared statements over one query function (the pool's, or a transaction's client). */
function sqlOn(query: (q: pg.QueryConfig) => Promise<pg.QueryResult>): Sql {
  const config = (s: Stmt, params?: readonly unknown[]): pg.QueryConfig => ({ name: s.name, text: s.pg, values: params ? [...params] : [] });
  return {
    all: async <R = Row>(s: Stmt, params?: readonly unknown[]) => (await query(config(s, params))).rows as R[],
    get: async <R = Row>(s: Stmt, params?: readonly unknown[]) => (await query(config(s, params))).rows[0] as R | undefined,
    run: async (s: Stmt, params?: readonly unknown[]) => (await query(config(s, params))).rowCount ?? 0,
  };
}

/** `user@host:port/db`, never the password. */
export function describe(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StorageError(`--db: '${url}' is not a URL; expected postgres://USER@HOST:PORT/DB`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new StorageError(`--db: expected a postgres:// URL, got '${u.protocol}//…'`);
  if (!u.hostname) throw new StorageError('--db: the URL names no host; expected postgres://USER@HOST:PORT/DB');
  const db = u.pathname.replace(/^\//, '');
  if (!db) throw new StorageError('--db: the URL names no database; expected postgres://USER@HOST:PORT/DB');
  return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.hostname}:${u.port || 5432}/${decodeURIComponent(db)}`;
}

/** One clear line for the operator, from a driver or server error. */
function explain(err: unknown, target: string): string {
  const e = err as { code?: string; message?: string };
  switch (e.code) {
    case 'ECONNREFUSED': return `cannot reach PostgreSQL at ${target}: connection refused (is the server running?)`;
    case 'ENOTFOUND': case 'EAI_AGAIN': return `cannot reach PostgreSQL at ${target}: the host name does not resolve`;
    case 'ETIMEDOUT': return `cannot reach PostgreSQL at ${target}: the connection timed out`;
    case '28P01': case '28000': return `PostgreSQL at ${target} refused the credentials: ${e.message}`;
    case '3D000': return `PostgreSQL at ${target}: ${e.message} (create it first, e.g. createdb)`;
    default: return `PostgreSQL at ${target}: ${e.message ?? String(err)}`;
  }
}
