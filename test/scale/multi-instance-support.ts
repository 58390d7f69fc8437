import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fleet, type Instance } from '../support/fleet.js';
import { CLIENT_ID } from '../support/harness.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

/**
 * What the multi-instance tests share (test/scale/multi-instance*.test.ts, two files so that the runner
 * runs them side by side): fleets of real graph-calls processes on one PostgreSQL database, their
 * cleanup, and HTTP helpers. Each test file registers `cleanUp` after each test and after all.
 */

export const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
/** Fast far side, short leases (takeover within about lease + the 2 s shared poll), quick retries. */
export const COMMON = [
  '--log-level', 'error', '--answer-delay-ms', '20', '--operation-delay-ms', '20', '--lease-ms', '2000',
  '--delivery-retry-base-ms', '50', '--delivery-retry-max-ms', '1000',
  // The recording-ready notification to the callbackUri is opt-in (not Graph); these tests count it per recording.
  '--recording-callback-notifications',
];

// ---- cleanup: every fleet, receiver and database, even when a test fails or times out ----------------

const cleanups: Array<() => Promise<void>> = [];
export const onCleanup = (fn: () => Promise<void>) => void cleanups.push(fn);
export async function cleanUp(): Promise<void> {
  // In reverse order of creation: webhooks and clients, then the processes, then their database.
  for (const fn of cleanups.splice(0).reverse()) await fn().catch(() => undefined);
}

/** The current test's fleets, whose output a failure reports. */
export const fleets: Fleet[] = [];
export function withLogs(fn: (t: TestContext) => Promise<void>): (t: TestContext) => Promise<void> {
  return async (t) => {
    try {
      await fn(t);
    } catch (err) {
      const out = fleets.map((f) => f.output()).filter(Boolean).join('\n');
      if (out) t.diagnostic(`instance output:\n${out}`);
      throw err;
    } finally {
      fleets.length = 0;
    }
  };
}

export async function setUp(instances: string[], extra: string[] = []): Promise<{ db: TestDatabase; fleet: Fleet; nodes: Instance[] }> {
  const db = await createTestDatabase();
  onCleanup(() => db.drop());
  const fleet = new Fleet({ db: db.url, args: [...COMMON, ...extra] });
  fleets.push(fleet);
  onCleanup(() => fleet.close());
  // Started together on an empty database: they race for the migrations and the signing keys.
  const nodes = await Promise.all(instances.map((n) => fleet.start(n)));
  return { db, fleet, nodes };
}

export async function receiverFor(graphCallsUrl: string, respond?: Parameters<typeof startReceiver>[0]['respond']): Promise<Receiver> {
  const r = await startReceiver({ graphCallsUrl, appId: CLIENT_ID, respond });
  onCleanup(() => r.close());
  return r;
}

// ---- HTTP ----------------------------------------------------------------------------------------------

export interface Res { status: number; headers: Headers; body: any }

/** One request; throws when no answer comes (connection refused or reset: the instance is gone). */
export async function req(base: string, method: string, path: string, o: { token?: string; body?: unknown; headers?: Record<string, string> } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
    method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: unknown;
  try { body = text ? JSON.parse(text) : undefined; } catch { body = text; }
  return { status: res.status, headers: res.headers, body };
}

export async function ok(base: string, method: string, path: string, o: Parameters<typeof req>[3] = {}): Promise<any> {
  const r = await req(base, method, path, o);
  assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} on ${base}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function tokenOf(base: string, app: { tenantId: string; clientId: string; clientSecret: string }): Promise<Res> {
  const res = await fetch(`${base}/${app.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: app.clientSecret, scope: 'https://graph.microsoft.com/.default' }),
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, headers: res.headers, body: await res.json() };
}

/** Polls `fn` every `everyMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function until<T>(fn: () => Promise<T>, what: string, timeoutMs: number, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(everyMs);
  }
}

/** The whole outbox (every call), oldest first. */
export async function outboxAll(base: string): Promise<any[]> {
  const rows: any[] = [];
  let after = 0;
  for (;;) {
    const page = await ok(base, 'GET', `/_emulator/outbox?top=1000&after=${after}`);
    rows.push(...page.value);
    if (page.next === null || page.next === undefined) return rows;
    after = page.next;
  }
}

/** Every operation of a call through Graph's paging, each page from whichever instance `pick` names. */
export async function operationsOf(pick: () => Instance, token: string, callId: string, top = 3): Promise<any[]> {
  const out: any[] = [];
  let path: string | undefined = `/beta/communications/calls/${callId}/operations?$top=${top}`;
  for (let pages = 0; path; pages++) {
    assert.ok(pages < 100, 'operations paging ends');
    const page: any = await ok(pick().url, 'GET', path, { token });
    out.push(...page.value);
    const next: string | undefined = page['@odata.nextLink'];
    path = next ? `${new URL(next).pathname}${new URL(next).search}` : undefined;
  }
  return out;
}

/**
 * Waits until every closed segment of the calls has its recording and every operation has completed, then
 * until none of their notifications is pending; returns their outbox rows.
 */
export async function drained(pick: () => Instance, token: string, callIds: string[], timeoutMs: number): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  await until(async () => (await Promise.all(callIds.map(async (id) => {
    const [segs, recs, ops] = await Promise.all([
      ok(pick().url, 'GET', `/_emulator/calls/${id}/recordingSegments`).then((b) => b.value as any[]),
      ok(pick().url, 'GET', `/_emulator/calls/${id}/recordings`).then((b) => b.value as any[]),
      operationsOf(pick, token, id, 999),
    ]);
    return recs.length >= segs.filter((s) => s.endedAt !== null).length && ops.every((op) => op.status === 'completed' || op.status === 'failed');
  }))).every(Boolean), 'every recording rendered and every operation completed', Math.max(1000, deadline - Date.now()), 200);
  const mine = new Set(callIds);
  return until(async () => {
    const rows = (await outboxAll(pick().url)).filter((r) => mine.has(r.callId));
    return rows.every((r) => r.state !== 'pending') ? rows : null;
  }, 'the outbox to drain', Math.max(1000, deadline - Date.now()), 200);
}

export const callRow = (rows: any[], callId: string) => rows.filter((r) => r.callId === callId).sort((x, y) => x.seq - y.seq);
export const isEstablished = (r: any, callId: string) => r.resourceUrl === `/communications/calls/${callId}` && r.resourceData?.state === 'established';
export const isOpDone = (r: any, callId: string, opId: string) => r.changeType === 'deleted' && r.resourceUrl === `/communications/calls/${callId}/operations/${opId}`;

/** The holder of a lease, as the instances name themselves: `host:pid:random`. */
export const pidOf = (owner: string | null) => (owner ? Number(/:(\d+):[0-9a-f]{8}$/.exec(owner)?.[1]) : NaN);
