import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import type { Storage } from '../../src/domain/ports.js';
import { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { PG_MIGRATIONS } from '../../src/storage/postgres/migrations.js';
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

  test('a database written before the outbox bodies moved keeps its notifications, operations and attempts', async () => {
    // The last two migrations (issue 11): operations by id, attempts through the outbox, bodies apart.
    const db = await createTestDatabase();
    try {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      let seq: number;
      try {
        await c.query('CREATE TABLE graph_calls_schema (version INTEGER NOT NULL)');
        for (const m of PG_MIGRATIONS.slice(0, -2)) await c.query(m);
        await c.query('INSERT INTO graph_calls_schema (version) VALUES ($1)', [PG_MIGRATIONS.length - 2]);
        await c.query("INSERT INTO operations (call_id, id, data) VALUES ('c1', 'op1', $1)", [JSON.stringify({ id: 'op1', callId: 'c1', status: 'running' })]);
        const { rows } = await c.query(`INSERT INTO outbox (call_id, message_id, change_type, resource_url, resource_data, callback_uri, created_at, kind)
          VALUES ('c1', 'm1', 'updated', '/communications/calls/c1', '{"state":"established"}', 'https://bot/cb', 1, 'call') RETURNING seq`);
        seq = Number(rows[0].seq);
        await c.query(`INSERT INTO delivery_attempts (outbox_seq, call_id, message_id, attempt, at, url, status, latency_ms, error, outcome)
          VALUES ($1, 'c1', 'm1', 1, 2, 'https://bot/cb', 202, 1, NULL, 'delivered')`, [seq]);
      } finally {
        await c.end();
      }
      const s = await open(db.url);
      try {
        const [n] = await s.calls.listOutbox({ callId: 'c1', limit: 10 });
        assert.deepEqual(n?.resourceData, { state: 'established' });
        assert.equal((await s.calls.getOperation('c1', 'op1'))?.status, 'running');
        assert.deepEqual((await s.calls.listDeliveryAttempts({ callId: 'c1', limit: 10 })).map((a) => a.notificationSeq), [seq]);
        const claimed = await s.calls.write((tx) => tx.claimDeliveries(Date.now(), 10, { owner: 'w', now: Date.now(), until: Date.now() + 1000 }));
        assert.deepEqual(claimed.map((x) => x.resourceData), [{ state: 'established' }]);
      } finally {
        await s.close();
      }
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
