import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import type { Storage } from '../../src/domain/ports.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';
import { StorageError } from '../../src/storage/storage-error.js';
import { WalSync } from '../../src/storage/sqlite/wal-sync.js';
import { MIGRATIONS } from '../../src/storage/sqlite/migrations.js';
import { writeFileSync } from 'node:fs';
import { newCall, newNotification } from '../support/factories.js';
import { scriptArgs } from '../support/node-script.js';
import { tempDataDir } from '../support/temp-dir.js';
import { runStorageContract } from './storage.contract.js';

const run = promisify(execFile);
const FIXTURE = fileURLToPath(new URL('../fixtures/open-sqlite.ts', import.meta.url));

const open = (dataDir: string | null) => new SqliteEngine({ dataDir, synchronous: 'FULL' });

runStorageContract({
  name: 'sqlite in memory',
  open: async () => open(null),
  groupCommit: true,
});

const dirOf = new WeakMap<Storage, { dir: string; cleanup(): void }>();

runStorageContract({
  name: 'sqlite on disk',
  open: async () => {
    const d = tempDataDir();
    const s = open(d.dir);
    dirOf.set(s, d);
    return s;
  },
  reopen: async (s) => {
    const d = dirOf.get(s)!;
    await s.close();
    const next = open(d.dir);
    dirOf.set(next, d);
    return next;
  },
  discard: async (first) => dirOf.get(first)!.cleanup(),
  groupCommit: true,
});

/** Opens the engine on `dir` in a process of its own: what it printed, and whether it opened. */
async function openElsewhere(dir: string): Promise<{ ok: boolean; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [...scriptArgs(FIXTURE), dir]);
    return { ok: true, out: stdout.trim() };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() };
  }
}

describe('sqlite on disk: one process per data directory', () => {
  test('another process is refused the data directory while one holds it, and may open it once that one closed', async () => {
    const d = tempDataDir();
    try {
      const s = open(d.dir);
      s.announce('http://127.0.0.1:4567');
      const refused = await openElsewhere(d.dir);
      assert.equal(refused.ok, false, refused.out);
      assert.match(refused.out, /^StorageError: /);
      assert.ok(refused.out.includes(d.dir), `names the directory: ${refused.out}`);
      assert.ok(refused.out.includes(`pid ${process.pid}`) && refused.out.includes('http://127.0.0.1:4567'), `names the holder: ${refused.out}`);
      await s.close();
      const second = await openElsewhere(d.dir);
      assert.deepEqual(second, { ok: true, out: 'opened' });
    } finally {
      d.cleanup();
    }
  });

  test('a sweep lease left by a process that died is freed at start, as its outbox and job leases are', async () => {
    const d = tempDataDir();
    try {
      const first = open(d.dir);
      const far = Date.now() + 3_600_000;
      assert.equal(await first.calls.write((tx) => tx.claimSweep({ owner: 'dead', until: far, now: Date.now() })), true);
      assert.equal(await first.calls.write((tx) => tx.claimSweep({ owner: 'other', until: far, now: Date.now() })), false, 'held');
      await first.close(); // never released: as if the process had died mid-sweep
      const next = open(d.dir);
      assert.equal(await next.calls.write((tx) => tx.claimSweep({ owner: 'other', until: far, now: Date.now() })), true, 'free after the restart');
      await next.close();
    } finally {
      d.cleanup();
    }
  });

  test('a database written before the outbox bodies moved keeps its notifications, operations and attempts', async () => {
    // The last two migrations (issue 11): operations by id, attempts through the outbox, bodies apart.
    const d = tempDataDir();
    try {
      const file = join(d.dir, 'graph-calls.db');
      const db = new Database(file);
      for (const m of MIGRATIONS.slice(0, -2)) db.exec(m);
      db.pragma(`user_version = ${MIGRATIONS.length - 2}`);
      db.prepare("INSERT INTO operations (call_id, id, data) VALUES ('c1', 'op1', ?)").run(JSON.stringify({ id: 'op1', callId: 'c1', status: 'running' }));
      const seq = db.prepare(`INSERT INTO outbox (call_id, message_id, change_type, resource_url, resource_data, callback_uri, created_at, kind)
        VALUES ('c1', 'm1', 'updated', '/communications/calls/c1', '{"state":"established"}', 'https://bot/cb', 1, 'call') RETURNING seq`).get() as { seq: number };
      db.prepare(`INSERT INTO delivery_attempts (outbox_seq, call_id, message_id, attempt, at, url, status, latency_ms, error, outcome)
        VALUES (?, 'c1', 'm1', 1, 2, 'https://bot/cb', 202, 1, NULL, 'delivered')`).run(seq.seq);
      db.close();
      const s = open(d.dir);
      try {
        const [n] = await s.calls.listOutbox({ callId: 'c1', limit: 10 });
        assert.deepEqual(n?.resourceData, { state: 'established' });
        assert.equal((await s.calls.getOperation('c1', 'op1'))?.status, 'running');
        assert.deepEqual((await s.calls.listDeliveryAttempts({ callId: 'c1', limit: 10 })).map((a) => a.notificationSeq), [seq.seq]);
        const claimed = await s.calls.write((tx) => tx.claimDeliveries(Date.now(), 10, { owner: 'w', now: Date.now(), until: Date.now() + 1000 }));
        assert.deepEqual(claimed.map((x) => x.resourceData), [{ state: 'established' }]);
      } finally {
        await s.close();
      }
    } finally {
      d.cleanup();
    }
  });

  test('a database with a schema newer than the code is refused, and the directory is not left locked', async () => {
    const d = tempDataDir();
    try {
      await open(d.dir).close();
      const file = join(d.dir, 'graph-calls.db');
      const db = new Database(file);
      const known = db.pragma('user_version', { simple: true }) as number;
      db.pragma('user_version = 999');
      db.close();
      assert.throws(() => open(d.dir), (e: unknown) => e instanceof StorageError && /newer/.test(e.message) && e.message.includes(file));
      const again = new Database(file);
      again.pragma(`user_version = ${known}`);
      again.close();
      await open(d.dir).close();
    } finally {
      d.cleanup();
    }
  });
});

describe('sqlite on disk, FULL: the WAL is synced off the event loop before anything settles', () => {
  test('a write settles only after a WAL sync that began after its COMMIT; concurrent writes share syncs; reads wait for it too', async () => {
    const d = tempDataDir();
    try {
      const s = open(d.dir);
      s.commitStats(true);
      const c = newCall();
      await s.calls.write(async (tx) => { await tx.insertCall(c); });
      const one = s.commitStats();
      assert.equal(one.transactions, 1);
      assert.ok(one.syncs >= 1, `a sync before the write settled: ${JSON.stringify(one)}`);
      // 200 writes in 200 event-loop turns: batches pipeline behind syncs, and no batch goes without one.
      s.commitStats(true);
      const writes: Promise<void>[] = [];
      for (let i = 0; i < 200; i++) {
        writes.push(s.calls.write(async (tx) => { await tx.appendOutbox(newNotification(c.id)); }));
        await new Promise((r) => setImmediate(r));
      }
      const read = s.calls.getCall(c.id);
      await Promise.all(writes);
      assert.equal((await read)?.id, c.id);
      const many = s.commitStats();
      assert.ok(many.syncs >= 1 && many.syncs <= many.transactions, `syncs coalesce: ${JSON.stringify(many)}`);
      assert.equal((await s.calls.listOutbox({ callId: c.id, limit: 1000 })).length, 200);
      await s.close();
      // Everything acknowledged is there after a reopen.
      const again = open(d.dir);
      assert.equal((await again.calls.getCall(c.id))?.id, c.id);
      await again.close();
    } finally {
      d.cleanup();
    }
  });

  test('WalSync: coalesces syncs asked for while one runs, keeps naming the same file, and fails every later call once a sync fails', async () => {
    const d = tempDataDir();
    try {
      const path = join(d.dir, 'x-wal');
      writeFileSync(path, 'frames');
      const w = new WalSync(path);
      assert.equal(w.settled(), null, 'nothing asked yet');
      const first = w.durable();
      const rest = Array.from({ length: 10 }, () => w.durable());
      assert.ok(w.settled() instanceof Promise);
      await Promise.all([first, ...rest]);
      assert.equal(w.syncs, 2, 'one running, one covering the ten asked while it ran');
      assert.equal(w.settled(), null);
      assert.equal(w.sameFile(), true);
      await w.close();
      // A sync on a closed descriptor fails (EBADF): that failure is permanent.
      await assert.rejects(w.durable(), (e: unknown) => e instanceof StorageError && /could not be synced/.test(e.message));
      await assert.rejects(w.durable(), StorageError);
      await assert.rejects(w.settled()!, StorageError);
    } finally {
      d.cleanup();
    }
  });

  test('group commit keeps two batches in the pipeline: the next commits while the last one syncs, none is acknowledged before a sync that began after its COMMIT', async () => {
    const d = tempDataDir();
    const s = open(d.dir);
    const engine = s as unknown as { walSync: WalSync; commitStats(reset?: boolean): { transactions: number } };
    const real = engine.walSync;
    const held: Array<(err: null) => void> = [];
    const turns = async () => { for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)); };
    try {
      const c = newCall();
      await s.calls.write(async (tx) => { await tx.insertCall(c); });
      engine.commitStats(true);
      // Syncs that finish only when the test says so.
      engine.walSync = new WalSync(join(d.dir, 'graph-calls.db-wal'), (_fd, done) => held.push(done));
      const acked: string[] = [];
      const write = (name: string) => void s.calls.write(async (tx) => { await tx.appendOutbox(newNotification(c.id)); }).then(() => acked.push(name));
      const committed = () => engine.commitStats().transactions;

      write('a');
      await turns();
      assert.deepEqual([committed(), held.length, acked], [1, 1, []], 'a committed, its sync running, not acknowledged');
      write('b');
      await turns();
      assert.deepEqual([committed(), held.length, acked], [2, 1, []], 'b committed while a syncs; its sync waits for the running one');
      write('c');
      await turns();
      assert.deepEqual([committed(), held.length, acked], [2, 1, []], 'c waits: two batches are in the pipeline already');
      held[0]!(null);
      await turns();
      assert.deepEqual([committed(), held.length, acked], [3, 2, ['a']], "a's sync ended: a acknowledged, b's sync runs, c committed");
      held[1]!(null);
      await turns();
      assert.deepEqual([committed(), held.length, acked], [3, 3, ['a', 'b']], 'b acknowledged; c needs the sync that began after its COMMIT');
      held[2]!(null);
      await turns();
      assert.deepEqual(acked, ['a', 'b', 'c']);
    } finally {
      // A failed assertion must not leave writes waiting on held syncs (close() would wait for them).
      const fake = engine.walSync;
      for (let i = 0; i < 100 && fake.settled() !== null; i++) {
        held.splice(0).forEach((done) => done(null));
        await turns();
      }
      await fake.close();
      engine.walSync = real;
      await s.close();
      d.cleanup();
    }
  });

  test('the engine keeps syncing the file SQLite writes, through checkpoints', async () => {
    const d = tempDataDir();
    try {
      const s = open(d.dir);
      const c = newCall();
      await s.calls.write(async (tx) => { await tx.insertCall(c); });
      for (let i = 0; i < 20; i++) {
        await s.calls.write(async (tx) => { for (let k = 0; k < 50; k++) await tx.appendOutbox(newNotification(c.id)); });
        if (i % 5 === 0) await new Promise((r) => setTimeout(r, 300)); // the checkpoint thread runs every 250 ms
      }
      const sync = (s as unknown as { walSync: WalSync }).walSync;
      assert.equal(sync.sameFile(), true);
      await s.close();
    } finally {
      d.cleanup();
    }
  });
});
