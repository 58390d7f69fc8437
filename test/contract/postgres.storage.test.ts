import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Storage } from '../../src/domain/ports.js';
import { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { StorageError } from '../../src/storage/storage-error.js';
import { createTestDatabase, TestDatabasePool, type TestDatabase } from '../support/postgres.js';
import { runStorageContract } from './storage.contract.js';

// A small pool: tests run six at a time, each with up to two instances, well inside the server's
// connection limit (100 by default); four connections still let transactions race each other.
const open = (url: string) => PostgresEngine.open({ url, poolSize: 4 });

const dbOf = new WeakMap<Storage, TestDatabase>();

// Each test gets a database of its own: a copy of one migrated once for the whole file, emptied and
// handed to the next test when a test is done with it.
let template: TestDatabase | undefined;
let pool: TestDatabasePool | undefined;
before(async () => {
  template = await createTestDatabase();
  await (await open(template.url)).close();
  pool = new TestDatabasePool(template);
});
after(async () => {
  await pool?.close();
  await template?.drop();
});

runStorageContract({
  name: 'postgres',
  open: async () => {
    const db = await pool!.take();
    try {
      const s = await open(db.url);
      dbOf.set(s, db);
      return s;
    } catch (err) {
      await pool!.give(db);
      throw err;
    }
  },
  openSibling: async (first) => {
    const db = dbOf.get(first)!;
    const s = await open(db.url);
    dbOf.set(s, db);
    return s;
  },
  reopen: async (s) => {
    const db = dbOf.get(s)!;
    await s.close();
    const next = await open(db.url);
    dbOf.set(next, db);
    return next;
  },
  discard: async (first) => pool!.give(dbOf.get(first)!),
  concurrency: 6,
});

/** PostgresEngine.open fails with a StorageError whose message is one line. */
async function refused(url: string, pattern: RegExp): Promise<void> {
  await assert.rejects(PostgresEngine.open({ url }), (e: unknown) => {
    assert.ok(e instanceof StorageError, `a StorageError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

describe('postgres: opening', () => {
  test('a URL that is not a postgres:// URL is refused', async () => {
    await refused('not a url', /not a URL/);
    await refused('mysql://root@127.0.0.1:5432/x', /postgres:\/\//);
    await refused('postgres://root@127.0.0.1:5432', /names no database/);
  });

  test('an unreachable server is refused, naming where it was looked for', async () => {
    await refused('postgres://root@127.0.0.1:1/graph_calls', /127\.0\.0\.1:1\/graph_calls.*refused/);
  });

  test('a database that does not exist is refused', async () => {
    const db = await createTestDatabase();
    // A name derived from a database this test owns, so it cannot be anyone else's.
    const missing = db.url.replace(db.name, `${db.name}_missing`);
    try {
      await refused(missing, new RegExp(`${db.name}_missing`));
    } finally {
      await db.drop();
    }
  });

  test('a database with a schema newer than the code is refused', async () => {
    const db = await createTestDatabase();
    try {
      await (await open(db.url)).close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        await c.query('UPDATE graph_calls_schema SET version = 999');
      } finally {
        await c.end();
      }
      await refused(db.url, /newer/);
    } finally {
      await db.drop();
    }
  });
});
