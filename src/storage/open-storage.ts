import type { Storage } from '../domain/ports.js';
import { PostgresEngine } from './postgres/engine.js';
import { SqliteEngine } from './sqlite/engine.js';

export interface StorageOptions {
  /** postgres://… or null for SQLite. */
  db: string | null;
  /** SQLite's data directory, or null for an in-memory database. */
  dataDir: string | null;
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** PostgreSQL pool size. */
  poolSize?: number;
}

/** The one place that picks an engine; nothing outside storage/ knows which one runs. */
export async function openStorage(o: StorageOptions): Promise<Storage> {
  if (o.db) return PostgresEngine.open({ url: o.db, poolSize: o.poolSize });
  return new SqliteEngine({ dataDir: o.dataDir, synchronous: o.sqliteSynchronous });
}
