import type { SubscriptionWriter } from '../../domain/ports.js';
import type { ArtifactKind, Subscription } from '../../domain/subscription.js';
import { stmt, type Sql, type TxScope } from './sql.js';

/**
 * Statements for change-notification subscriptions, written once for both engines. Columns exist for
 * what is looked up: the owner (listing, duplicates) and the matching key the change publisher asks by
 * (tenant, artifact kind, scope key); `expires_at` filters what Graph would already have deleted.
 */
const S = {
  insert: stmt('subInsert', `INSERT INTO subscriptions (id, tenant_id, app_id, match_key, resource_kind, scope_key, expires_at, data)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
  update: stmt('subUpdate', 'UPDATE subscriptions SET expires_at = ?, data = ? WHERE id = ?'),
  delete: stmt('subDelete', 'DELETE FROM subscriptions WHERE id = ?'),
  // An expired row Graph would already have deleted must not block a new one on the same resource.
  deleteExpiredTwin: stmt('subDeleteExpiredTwin', 'DELETE FROM subscriptions WHERE tenant_id = ? AND app_id = ? AND match_key = ? AND expires_at <= ?'),
  get: stmt('subGet', 'SELECT data FROM subscriptions WHERE id = ?'),
  list: stmt('subList', `SELECT seq, data FROM subscriptions WHERE tenant_id = ? AND app_id = ? AND expires_at > ? AND seq > ?
    ORDER BY seq LIMIT ?`),
  find: stmt('subFind', 'SELECT data FROM subscriptions WHERE tenant_id = ? AND app_id = ? AND match_key = ? AND expires_at > ? ORDER BY seq LIMIT 1'),
  // The candidate scope keys travel as one JSON array, as the outbox lease renewal does.
  matching: stmt('subMatching', `SELECT data FROM subscriptions WHERE tenant_id = ? AND resource_kind = ? AND expires_at > ?
    AND scope_key IN (SELECT value FROM json_each(?)) ORDER BY seq`,
  `SELECT data FROM subscriptions WHERE tenant_id = $1 AND resource_kind = $2 AND expires_at > $3
    AND scope_key IN (SELECT jsonb_array_elements_text($4::jsonb)) ORDER BY seq`),
};

/**
 * The subscription half of the call repository (SqlCallRepository extends it), so subscriptions are read
 * and written in the same transactions as the recordings they announce.
 */
export class SqlSubscriptionRepository implements SubscriptionWriter {
  constructor(private readonly subSql: Sql, private readonly subScope: TxScope) {}

  private r(): Sql {
    this.subScope.check(false);
    return this.subSql;
  }

  private w(): Sql {
    this.subScope.check(true);
    return this.subSql;
  }

  async getSubscription(id: string): Promise<Subscription | undefined> {
    const row = await this.r().get<{ data: string }>(S.get, [id.toLowerCase()]);
    return row ? (JSON.parse(row.data) as Subscription) : undefined;
  }

  async listSubscriptions(f: { tenantId: string; appId: string; now: number; afterSeq: number; limit: number }): Promise<Array<Subscription & { seq: number }>> {
    const rows = await this.r().all<{ seq: number; data: string }>(S.list, [f.tenantId, f.appId, f.now, f.afterSeq, f.limit]);
    return rows.map((row) => ({ ...(JSON.parse(row.data) as Subscription), seq: Number(row.seq) }));
  }

  async findSubscription(f: { tenantId: string; appId: string; matchKey: string; now: number }): Promise<Subscription | undefined> {
    const row = await this.r().get<{ data: string }>(S.find, [f.tenantId, f.appId, f.matchKey, f.now]);
    return row ? (JSON.parse(row.data) as Subscription) : undefined;
  }

  async subscriptionsFor(f: { tenantId: string; resourceKind: ArtifactKind; scopeKeys: readonly string[]; now: number }): Promise<Subscription[]> {
    if (f.scopeKeys.length === 0) return [];
    const rows = await this.r().all<{ data: string }>(S.matching, [f.tenantId, f.resourceKind, f.now, JSON.stringify(f.scopeKeys)]);
    return rows.map((row) => JSON.parse(row.data) as Subscription);
  }

  async insertSubscription(s: Subscription): Promise<void> {
    await this.w().run(S.deleteExpiredTwin, [s.tenantId, s.appId, s.matchKey, s.createdAt]);
    await this.w().run(S.insert, [s.id, s.tenantId, s.appId, s.matchKey, s.resourceKind, s.scopeKey, s.expiresAt, JSON.stringify(s)]);
  }

  async updateSubscription(s: Subscription): Promise<void> {
    await this.w().run(S.update, [s.expiresAt, JSON.stringify(s), s.id]);
  }

  async deleteSubscription(id: string): Promise<boolean> {
    return (await this.w().run(S.delete, [id.toLowerCase()])) === 1;
  }
}
