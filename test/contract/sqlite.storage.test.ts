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
