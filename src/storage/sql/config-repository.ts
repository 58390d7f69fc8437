import type { ConfigStore } from '../../domain/ports.js';
import { stmt, type Sql } from './sql.js';

const Q = {
  get: stmt('cfgGet', 'SELECT value FROM meta WHERE key = ?'),
  set: stmt('cfgSet', 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
  setIfAbsent: stmt('cfgSetIfAbsent', 'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING'),
  delete: stmt('cfgDelete', 'DELETE FROM meta WHERE key = ?'),
  // Prefix match by range, so the primary key serves it on both engines (LIKE would need escaping).
  list: stmt('cfgList', 'SELECT key, value FROM meta WHERE key >= ? AND key < ? ORDER BY key'),
  spend: stmt('cfgSpend', 'UPDATE counters SET remaining = CASE WHEN remaining IS NULL THEN NULL ELSE remaining - 1 END, spent = spent + 1 WHERE key = ? AND (remaining IS NULL OR remaining > 0)'),
  setCounter: stmt('cfgSetCounter', 'INSERT INTO counters (key, remaining, spent) VALUES (?, ?, 0) ON CONFLICT (key) DO UPDATE SET remaining = excluded.remaining, spent = 0'),
  deleteCounter: stmt('cfgDeleteCounter', 'DELETE FROM counters WHERE key = ?'),
  counters: stmt('cfgCounters', 'SELECT key, remaining, spent FROM counters WHERE key >= ? AND key < ?'),
  putBlob: stmt('cfgPutBlob', 'INSERT INTO blobs (key, data) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET data = excluded.data'),
  getBlob: stmt('cfgGetBlob', 'SELECT data FROM blobs WHERE key = ?'),
};

/**
 * The end of a prefix range: every key starting with `prefix` sorts below it. Both engines compare keys
 * as UTF-8 bytes (code point order), where characters beyond U+FFFF (emoji) sort above U+FFFF; so the
 * bound is the last code point, U+10FFFF.
 */
const upper = (prefix: string) => `${prefix}\u{10FFFF}`;

/**
 * The config/key-value store: signing keys, apps, policies, fault rules and their counters, the virtual
 * clock and the media library, shared by every instance on the database. Each call is its own
 * statement (autocommit); `spend` is a single conditional UPDATE, so a rule with a count fires that
 * many times across all instances.
 */
export class SqlConfigStore implements ConfigStore {
  constructor(private readonly sql: Sql) {}

  async getValue(key: string): Promise<string | undefined> {
    return (await this.sql.get<{ value: string }>(Q.get, [key]))?.value;
  }

  async setValue(key: string, value: string): Promise<void> {
    await this.sql.run(Q.set, [key, value]);
  }

  async setValueIfAbsent(key: string, value: string): Promise<string> {
    await this.sql.run(Q.setIfAbsent, [key, value]);
    return (await this.getValue(key))!;
  }

  async deleteValue(key: string): Promise<void> {
    await this.sql.run(Q.delete, [key]);
    await this.sql.run(Q.deleteCounter, [key]);
  }

  async listValues(prefix: string): Promise<Array<{ key: string; value: string }>> {
    return this.sql.all<{ key: string; value: string }>(Q.list, [prefix, upper(prefix)]);
  }

  async spend(key: string): Promise<boolean> {
    return (await this.sql.run(Q.spend, [key])) === 1;
  }

  async setCounter(key: string, remaining: number | null): Promise<void> {
    await this.sql.run(Q.setCounter, [key, remaining]);
  }

  async counters(prefix: string): Promise<Map<string, { remaining: number | null; spent: number }>> {
    const rows = await this.sql.all<{ key: string; remaining: unknown; spent: unknown }>(Q.counters, [prefix, upper(prefix)]);
    return new Map(rows.map((r) => [r.key, { remaining: r.remaining === null ? null : Number(r.remaining), spent: Number(r.spent) }]));
  }

  async putBlob(key: string, bytes: Buffer): Promise<void> {
    await this.sql.run(Q.putBlob, [key, bytes]);
  }

  async getBlob(key: string): Promise<Buffer | undefined> {
    const row = await this.sql.get<{ data: Buffer }>(Q.getBlob, [key]);
    return row ? Buffer.from(row.data) : undefined;
  }
}
