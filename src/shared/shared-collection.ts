import type { ConfigStore, Wakeups } from '../domain/ports.js';

/** Lookups that miss reload at most this often (another instance's change arrives by wake-up within ms). */
const MISS_RELOAD_MS = 50;

/**
 * A collection of configuration documents kept in the config store, one key each (`<prefix><id>`), with
 * an in-memory copy for the hot path (every request looks up apps and fault rules). A change made here
 * is written, then announced on the `config` wake-up topic; every instance on the same database reloads
 * its copy when it hears the announcement (design.md §5: caches are invalidated, never authoritative).
 * One key per document means two instances changing different documents never overwrite each other.
 */
export class SharedCollection<T> {
  private items = new Map<string, T>();
  private readonly listeners: Array<() => void> = [];
  private reads = 0;
  private missReload: Promise<void> | null = null;
  private missReloadAt = 0;
  private applied = 0;

  private constructor(private readonly config: ConfigStore, private readonly wakeups: Wakeups, private readonly prefix: string) {}

  static async open<T>(config: ConfigStore, wakeups: Wakeups, prefix: string, legacyKey?: string): Promise<SharedCollection<T>> {
    const c = new SharedCollection<T>(config, wakeups, prefix);
    if (legacyKey) await c.migrateLegacy(legacyKey);
    await c.reload();
    wakeups.on('config', (detail) => {
      if (detail === '*' || detail.startsWith(prefix)) void c.reload().catch(() => undefined);
    });
    return c;
  }

  /** Earlier releases kept the whole collection as one JSON array under one key. */
  private async migrateLegacy(key: string): Promise<void> {
    const legacy = await this.config.getValue(key);
    if (!legacy) return;
    for (const item of JSON.parse(legacy) as Array<T & { id?: string; clientId?: string }>) {
      const id = item.clientId ?? item.id;
      if (id) await this.config.setValueIfAbsent(`${this.prefix}${id}`, JSON.stringify(item));
    }
    await this.config.deleteValue(key);
  }

  async reload(): Promise<void> {
    const n = ++this.reads;
    const rows = await this.config.listValues(this.prefix);
    // Reloads overlap (wake-ups, lookups that missed): one that read earlier must not land last.
    if (n < this.applied) return;
    this.applied = n;
    this.items = new Map(rows.map((r) => [r.key.slice(this.prefix.length), JSON.parse(r.value) as T]));
    for (const l of this.listeners) l();
  }

  /**
   * A reload for a lookup that missed: it joins one already under way, and is skipped when one started
   * within the last MISS_RELOAD_MS, so a stream of misses (unauthenticated requests with unknown ids)
   * costs the database at most one read per interval instead of one per request.
   */
  reloadAfterMiss(): Promise<void> {
    if (this.missReload) return this.missReload;
    if (Date.now() - this.missReloadAt < MISS_RELOAD_MS) return Promise.resolve();
    this.missReloadAt = Date.now();
    this.missReload = this.reload().finally(() => { this.missReload = null; });
    return this.missReload;
  }

  /** Called after every reload (here or from another instance's change). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  get(id: string): T | undefined {
    return this.items.get(id);
  }

  has(id: string): boolean {
    return this.items.has(id);
  }

  values(): T[] {
    return [...this.items.values()];
  }

  async put(id: string, value: T): Promise<void> {
    await this.config.setValue(`${this.prefix}${id}`, JSON.stringify(value));
    this.items.set(id, value);
    await this.wakeups.publish('config', `${this.prefix}${id}`);
  }

  /** Stores `value` only where no document has that id yet (a file loaded at start by every instance). */
  async putIfAbsent(id: string, value: T): Promise<void> {
    await this.config.setValueIfAbsent(`${this.prefix}${id}`, JSON.stringify(value));
  }

  async remove(id: string): Promise<boolean> {
    const had = this.items.has(id) || (await this.config.getValue(`${this.prefix}${id}`)) !== undefined;
    await this.config.deleteValue(`${this.prefix}${id}`);
    this.items.delete(id);
    await this.wakeups.publish('config', `${this.prefix}${id}`);
    return had;
  }

  async clear(): Promise<void> {
    for (const { key } of await this.config.listValues(this.prefix)) await this.config.deleteValue(key);
    this.items.clear();
    await this.wakeups.publish('config', this.prefix);
  }
}
