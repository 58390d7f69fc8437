import type { ConfigStore, Wakeups } from '../domain/ports.js';
import { SharedCollection } from '../shared/shared-collection.js';

const PREFIX = 'fault:';

/**
 * Fault injection (docs/faults.md): rules that make graph-calls misbehave the way Graph and Teams do, so a
 * bot's retry, throttling and validation paths can be tested. Graph-side rules act on requests a bot
 * makes; notification-side rules act on what graph-calls posts to the bot.
 */

export type GraphFault =
  | { type: 'status'; status: number; code?: string; message?: string }
  | { type: 'latency'; ms?: number; minMs?: number; maxMs?: number }
  | { type: 'reset' }
  /** 429 + Retry-After; with `limit`/`windowSeconds`, only once an app exceeds that many requests per window. */
  | { type: 'throttle'; retryAfterSeconds?: number; limit?: number; windowSeconds?: number };

export type NotificationFault =
  | { type: 'drop' }
  | { type: 'duplicate' }
  | { type: 'delay'; ms: number }
  /** This notification arrives after the call's next one (when there is a next one). */
  | { type: 'reorder' }
  | { type: 'badToken'; token: 'expired' | 'wrongAudience' | 'wrongIssuer' | 'unknownKey' };

export interface FaultMatch {
  /** Case-insensitive substring of the request path (Graph side) or the notification's resourceUrl. */
  route?: string;
  method?: string;
  appId?: string;
  callId?: string;
}

export interface FaultRule {
  id: string;
  side: 'graph' | 'notification';
  match: FaultMatch;
  action: GraphFault | NotificationFault;
  /** 0..1, default 1. */
  probability: number;
  /** How many more times it may fire; null = unlimited. `once` is count 1. */
  remaining: number | null;
  fired: number;
}

const GRAPH_TYPES = ['status', 'latency', 'reset', 'throttle'];
const NOTIFICATION_TYPES = ['drop', 'duplicate', 'delay', 'reorder', 'badToken'];
const BAD_TOKENS = ['expired', 'wrongAudience', 'wrongIssuer', 'unknownKey'];

/** Every problem with a rule document, at once. */
export function faultProblems(v: unknown, at = 'fault'): string[] {
  if (typeof v !== 'object' || v === null) return [`${at}: expected an object`];
  const r = v as Record<string, unknown>;
  const out: string[] = [];
  if (r.side !== 'graph' && r.side !== 'notification') out.push(`${at}.side: expected 'graph' or 'notification'`);
  const a = r.action as Record<string, unknown> | undefined;
  const types = r.side === 'notification' ? NOTIFICATION_TYPES : GRAPH_TYPES;
  if (!a || typeof a !== 'object' || !types.includes(a.type as string)) out.push(`${at}.action.type: expected one of ${types.join(', ')}`);
  else {
    if (a.type === 'status' && !(Number.isInteger(a.status) && (a.status as number) >= 400 && (a.status as number) <= 599)) out.push(`${at}.action.status: expected an HTTP status from 400 to 599`);
    if (a.type === 'latency' && a.ms === undefined && (a.minMs === undefined || a.maxMs === undefined)) out.push(`${at}.action: latency needs 'ms', or 'minMs' and 'maxMs'`);
    if (a.type === 'delay' && !(typeof a.ms === 'number' && a.ms >= 0)) out.push(`${at}.action.ms: expected a non-negative number`);
    if (a.type === 'badToken' && !BAD_TOKENS.includes(a.token as string)) out.push(`${at}.action.token: expected one of ${BAD_TOKENS.join(', ')}`);
  }
  if (r.probability !== undefined && !(typeof r.probability === 'number' && r.probability >= 0 && r.probability <= 1)) out.push(`${at}.probability: expected a number from 0 to 1`);
  if (r.count !== undefined && !(Number.isInteger(r.count) && (r.count as number) > 0)) out.push(`${at}.count: expected a positive integer`);
  if (r.once !== undefined && typeof r.once !== 'boolean') out.push(`${at}.once: expected a boolean`);
  if (r.match !== undefined && (typeof r.match !== 'object' || r.match === null)) out.push(`${at}.match: expected an object`);
  return out;
}

export function toRule(r: Record<string, unknown>, id: string): FaultRule {
  const m = (r.match ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);
  return {
    id: str(r.id) ?? id,
    side: r.side as FaultRule['side'],
    match: { route: str(m.route), method: str(m.method)?.toUpperCase(), appId: str(m.appId)?.toLowerCase(), callId: str(m.callId)?.toLowerCase() },
    action: r.action as FaultRule['action'],
    probability: (r.probability as number | undefined) ?? 1,
    remaining: r.once === true ? 1 : ((r.count as number | undefined) ?? null),
    fired: 0,
  };
}

export interface FaultContext {
  side: FaultRule['side'];
  path: string;
  method?: string;
  appId?: string;
  callId?: string;
}

/** A stored rule: the document, and its place in the order rules were added (the first match wins). */
interface StoredRule { rule: Omit<FaultRule, 'remaining' | 'fired'>; order: number }

/**
 * The active rules. The first matching rule that fires wins; firing spends its count. Rules and their
 * counts live in the config store, shared by every instance: a rule added through one control plane
 * applies everywhere, and a rule with `count: N` fires N times across all of them (the count is spent
 * with one conditional UPDATE). Throttle windows are counted per instance.
 */
export class FaultEngine {
  private readonly windows = new Map<string, { start: number; count: number }>();
  private ordered: StoredRule[] = [];

  private constructor(private readonly rules: SharedCollection<StoredRule>, private readonly config: ConfigStore,
    private readonly random: () => number, private readonly now: () => number) {
    const sort = () => { this.ordered = rules.values().sort((a, b) => a.order - b.order); };
    rules.onChange(sort);
    sort();
  }

  static async open(config: ConfigStore, wakeups: Wakeups, random: () => number = Math.random, now: () => number = Date.now): Promise<FaultEngine> {
    return new FaultEngine(await SharedCollection.open<StoredRule>(config, wakeups, PREFIX), config, random, now);
  }

  /** The rules in the order they apply, with what each has left and how often it fired. */
  async list(): Promise<FaultRule[]> {
    const counts = await this.config.counters(PREFIX);
    return this.ordered.map(({ rule }) => {
      const c = counts.get(`${PREFIX}${rule.id}`);
      return { ...rule, remaining: c?.remaining ?? null, fired: c?.spent ?? 0 };
    });
  }

  async add(rule: FaultRule): Promise<FaultRule> {
    const { remaining, fired: _fired, ...doc } = rule;
    const order = Math.max(Date.now(), ...this.ordered.map((r) => r.order + 1));
    await this.config.setCounter(`${PREFIX}${rule.id}`, remaining);
    await this.rules.put(rule.id, { rule: doc, order });
    this.ordered = this.rules.values().sort((a, b) => a.order - b.order);
    return { ...rule, fired: 0 };
  }

  async remove(id: string): Promise<boolean> {
    const had = this.rules.has(id);
    await this.rules.remove(id);
    this.ordered = this.rules.values().sort((a, b) => a.order - b.order);
    return had;
  }

  async clear(): Promise<void> {
    await this.rules.clear();
    this.ordered = [];
    this.windows.clear();
  }

  /** The rule to apply to this request or notification, if any. */
  async pick(ctx: FaultContext): Promise<FaultRule | null> {
    if (this.ordered.length === 0) return null;
    const path = ctx.path.toLowerCase();
    for (const { rule: r } of this.ordered) {
      if (r.side !== ctx.side) continue;
      const m = r.match;
      if (m.route && !path.includes(m.route.toLowerCase())) continue;
      if (m.method && m.method !== ctx.method?.toUpperCase()) continue;
      if (m.appId && m.appId !== ctx.appId?.toLowerCase()) continue;
      if (m.callId && m.callId !== ctx.callId?.toLowerCase()) continue;
      if (r.action.type === 'throttle' && r.action.limit !== undefined && !this.overLimit(r, ctx.appId ?? '')) continue;
      if (r.probability < 1 && this.random() >= r.probability) continue;
      // Spent atomically in the database: an exhausted rule (here or on another instance) does not fire.
      if (!(await this.config.spend(`${PREFIX}${r.id}`))) continue;
      return { ...r, remaining: null, fired: 0 };
    }
    return null;
  }

  /** Fixed-window request count per rule and app (Graph's limits are per app per tenant per window). */
  private overLimit(r: Omit<FaultRule, 'remaining' | 'fired'>, appId: string): boolean {
    const a = r.action as Extract<GraphFault, { type: 'throttle' }>;
    const key = `${r.id}|${appId}`;
    const now = this.now();
    const windowMs = (a.windowSeconds ?? 15) * 1000;
    let w = this.windows.get(key);
    if (!w || now - w.start >= windowMs) w = { start: now, count: 0 };
    w.count++;
    this.windows.set(key, w);
    return w.count > (a.limit ?? 0);
  }
}
