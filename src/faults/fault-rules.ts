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

/** The active rules. The first matching rule that fires wins; firing spends its count. */
export class FaultEngine {
  private rules: FaultRule[] = [];
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(private readonly random: () => number = Math.random, private readonly now: () => number = Date.now) {}

  list(): FaultRule[] {
    return [...this.rules];
  }

  add(rule: FaultRule): FaultRule {
    this.rules = [...this.rules.filter((r) => r.id !== rule.id), rule];
    return rule;
  }

  remove(id: string): boolean {
    const before = this.rules.length;
    this.rules = this.rules.filter((r) => r.id !== id);
    return this.rules.length < before;
  }

  clear(): void {
    this.rules = [];
    this.windows.clear();
  }

  /** The rule to apply to this request or notification, if any. */
  pick(ctx: FaultContext): FaultRule | null {
    if (this.rules.length === 0) return null;
    const path = ctx.path.toLowerCase();
    for (const r of this.rules) {
      if (r.side !== ctx.side || r.remaining === 0) continue;
      const m = r.match;
      if (m.route && !path.includes(m.route.toLowerCase())) continue;
      if (m.method && m.method !== ctx.method?.toUpperCase()) continue;
      if (m.appId && m.appId !== ctx.appId?.toLowerCase()) continue;
      if (m.callId && m.callId !== ctx.callId?.toLowerCase()) continue;
      if (r.action.type === 'throttle' && r.action.limit !== undefined && !this.overLimit(r, ctx.appId ?? '')) continue;
      if (r.probability < 1 && this.random() >= r.probability) continue;
      if (r.remaining !== null) r.remaining--;
      r.fired++;
      return r;
    }
    return null;
  }

  /** Fixed-window request count per rule and app (Graph's limits are per app per tenant per window). */
  private overLimit(r: FaultRule, appId: string): boolean {
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
