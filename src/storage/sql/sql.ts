/**
 * The one seam between the shared SQL of the repositories and each engine's driver, as Kysely's
 * dialects are: a statement is written once with `?` placeholders (SQLite's form) and the PostgreSQL
 * text is derived from it (`$1`, `$2`, …), or given where the dialects differ (row locks).
 */
export interface Stmt {
  /** Unique: PostgreSQL prepares each named statement once per connection; SQLite caches by it. */
  readonly name: string;
  readonly sqlite: string;
  readonly pg: string;
}

export function stmt(name: string, sqlite: string, pg: string = numbered(sqlite)): Stmt {
  return Object.freeze({ name, sqlite, pg });
}

/** `?` placeholders as `$1`, `$2`, … (our statements hold no `?` inside string literals). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

export type Row = Record<string, unknown>;

/** Runs statements on one connection (a transaction's, or the pool's for reads). */
export interface Sql {
  all<R = Row>(s: Stmt, params?: readonly unknown[]): Promise<R[]>;
  get<R = Row>(s: Stmt, params?: readonly unknown[]): Promise<R | undefined>;
  /** Returns the number of rows changed. */
  run(s: Stmt, params?: readonly unknown[]): Promise<number>;
}

/**
 * What a repository asks of the transaction it runs in: whether it may still be used, and for writes,
 * a hook that runs before the first write of a command (SQLite opens its savepoint there).
 */
export interface TxScope {
  /** Throws when the transaction has ended, or when `write` is asked of a read-only scope. */
  check(write: boolean): void;
  /** Marks what the commit should wake (outbox, jobs); for the outbox, the call it changed if known. */
  touch(topic: 'outbox' | 'jobs', callId?: string): void;
}

/** Reads outside any transaction: writes are refused. */
export const READ_ONLY: TxScope = Object.freeze({
  check(write: boolean) {
    if (write) throw new Error('storage: writes run inside store.write(fn), through the transaction object it hands to fn');
  },
  touch() {
    throw new Error('storage: writes run inside store.write(fn)');
  },
});

/** A transaction's scope: valid until `end()`; any use after that throws. */
export class LiveScope implements TxScope {
  private ended = false;
  readonly touched = new Set<'outbox' | 'jobs'>();
  /** The calls whose outbox this transaction changed; null once a change named no call. */
  outboxCalls: Set<string> | null = new Set();
  constructor(private readonly beforeFirstWrite: (() => void) | null = null) {}
  private wrote = false;

  check(write: boolean): void {
    if (this.ended) throw new Error('storage: this transaction has ended; a write after an await escaped it. Keep every use of tx inside the write callback and await it there.');
    if (write && !this.wrote) {
      this.wrote = true;
      this.beforeFirstWrite?.();
    }
  }

  touch(topic: 'outbox' | 'jobs', callId?: string): void {
    this.touched.add(topic);
    if (topic !== 'outbox' || this.outboxCalls === null) return;
    if (callId === undefined) this.outboxCalls = null;
    else this.outboxCalls.add(callId);
  }

  get didWrite(): boolean {
    return this.wrote;
  }

  end(): void {
    this.ended = true;
  }
}
