import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The machine's PostgreSQL (CI starts it: .ci/run). Override with GRAPH_CALLS_TEST_PG; the URL names
 * the maintenance database tests connect to in order to create and drop their own.
 */
export const ADMIN_URL = process.env.GRAPH_CALLS_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';

/** Runs `fn` on a fresh connection to `url`, closing it afterwards. */
async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  /** postgres://…/graph_calls_test_<random>: a database this test created and alone uses. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

/**
 * Creates a fresh, empty database; `drop()` removes it (closing any connections left on it). With
 * `template` (a test database nobody is connected to), the new one starts as a copy of it: cheaper than
 * migrating each test's database afresh.
 */
export async function createTestDatabase(o: { template?: string } = {}): Promise<TestDatabase> {
  const name = `graph_calls_test_${randomBytes(6).toString('hex')}`;
  if (o.template !== undefined && !/^graph_calls_test_[0-9a-f]+$/.test(o.template)) throw new Error(`not a test database: ${o.template}`);
  await withClient(ADMIN_URL, (admin) => admin.query(o.template ? `CREATE DATABASE ${name} TEMPLATE ${o.template}` : `CREATE DATABASE ${name}`));
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      await withClient(ADMIN_URL, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/**
 * Test databases for one file, each copied once from `template` (a migrated test database nobody is
 * connected to) and then reused: a database given back is emptied in place (every table but
 * graph_calls_schema truncated, identities restarted) instead of dropped, and the next `take()` gets it.
 * Copying a database costs PostgreSQL ~0.1–0.3 s of CPU, most of it in the kernel; truncating ~20 tables
 * a few milliseconds, so a file of many short tests stops paying for a copy each. An emptied database
 * is the template again only while its schema is: one whose tables or version a test changed is dropped.
 */
export class TestDatabasePool {
  private readonly free: TestDatabase[] = [];
  private readonly all = new Set<TestDatabase>();
  private shape: string | undefined;

  constructor(private readonly template: TestDatabase) {}

  async take(): Promise<TestDatabase> {
    const reused = this.free.pop();
    if (reused) return reused;
    const db = await createTestDatabase({ template: this.template.name });
    this.all.add(db);
    return db;
  }

  /** Empties `db` for the next test; drops it when its schema is no longer the template's. */
  async give(db: TestDatabase): Promise<void> {
    this.shape ??= await withClient(this.template.url, shapeOf);
    const reusable = await withClient(db.url, async (c) => {
      if ((await shapeOf(c)) !== this.shape) return false;
      // DELETE rather than TRUNCATE: a test leaves a few rows, and TRUNCATE rebuilds every table's files
      // and indexes (each fsynced), which costs more than copying the template.
      const { rows } = await c.query<{ name: string }>(
        `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'graph_calls_schema'`);
      const { rows: identities } = await c.query<{ seq: string }>(
        `SELECT pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq FROM information_schema.columns
          WHERE table_schema = 'public' AND is_identity = 'YES'`);
      // A connection a test left open holding a lock makes this one give up (and the database is dropped).
      await c.query(`SET lock_timeout = '2s'`);
      await c.query('BEGIN');
      for (const r of rows) await c.query(`DELETE FROM ${r.name}`);
      for (const i of identities) await c.query('SELECT setval($1::regclass, 1, false)', [i.seq]);
      await c.query('COMMIT');
      return true;
    }).catch(() => false);
    if (reusable) this.free.push(db);
    else {
      this.all.delete(db);
      await db.drop();
    }
  }

  /** Drops every database this pool made. */
  async close(): Promise<void> {
    const dbs = [...this.all];
    this.all.clear();
    this.free.length = 0;
    await Promise.all(dbs.map((db) => db.drop()));
  }
}

/** A database's tables, columns, indexes and schema version, as one comparable string. */
async function shapeOf(c: pg.Client): Promise<string> {
  const { rows } = await c.query<{ shape: string }>(`SELECT concat_ws(' | ',
    (SELECT string_agg(table_name || '.' || column_name || ':' || data_type, ',' ORDER BY table_name, ordinal_position)
       FROM information_schema.columns WHERE table_schema = 'public'),
    (SELECT string_agg(indexdef, ',' ORDER BY indexdef) FROM pg_indexes WHERE schemaname = 'public'),
    (SELECT string_agg(version::text, ',') FROM graph_calls_schema)) AS shape`);
  return rows[0]!.shape;
}
