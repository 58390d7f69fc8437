import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from '../storage-error.js';

/**
 * SQLite is single-process (design.md §5): a second graph-calls on the same data directory would run
 * every job and deliver every notification twice. The lock is an exclusive SQLite lock on a file of its
 * own, an OS lock that dies with its process, so a SIGKILLed instance never leaves a stale lock behind.
 * `graph-calls.owner` says who holds it, for the refusal message.
 */
export class DataDirLock {
  private constructor(private readonly db: Database.Database, private readonly ownerFile: string) {}

  static acquire(dataDir: string): DataDirLock {
    const lockFile = join(dataDir, 'graph-calls.lock');
    const ownerFile = join(dataDir, 'graph-calls.owner');
    const db = new Database(lockFile, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS held (pid INTEGER)');
      db.exec('BEGIN EXCLUSIVE');
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code?.startsWith('SQLITE_BUSY')) {
        let owner = 'another graph-calls process';
        try {
          const o = JSON.parse(readFileSync(ownerFile, 'utf8')) as { pid?: number; url?: string };
          owner = `graph-calls pid ${o.pid ?? '?'}${o.url ? ` at ${o.url}` : ''}`;
        } catch { /* no owner file yet: the holder is still starting */ }
        throw new StorageError(`the data directory ${dataDir} is in use by ${owner}; stop it, or start this one with another --data directory (SQLite is single-process; use --db postgres://… to run several instances)`);
      }
      throw err;
    }
    writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() }));
    return new DataDirLock(db, ownerFile);
  }

  /** Records where the holder listens, for the message a second process prints. */
  announce(url: string): void {
    writeFileSync(this.ownerFile, JSON.stringify({ pid: process.pid, url, startedAt: new Date().toISOString() }));
  }

  release(): void {
    if (!this.db.open) return;
    rmSync(this.ownerFile, { force: true });
    this.db.close();
  }
}
