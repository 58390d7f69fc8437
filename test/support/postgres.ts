import { randomBytes } from 'node:crypto';
import pg from 'pg';

/**
 * The machine's PostgreSQL (CI starts it: .ci/run). Override with GRAPH_CALLS_TEST_PG; the URL names
 * the maintenance database tests connect to in order to create and drop their own.
 */
export const ADMIN_URL = process.env.GRAPH_CALLS_TEST_PG ?? 'postgres://root@127.0.0.1:5432/postgres';

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
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(o.template ? `CREATE DATABASE ${name} TEMPLATE ${o.template}` : `CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
