/** What the benchmarks share: settings from the environment, the load client, and established calls. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEV_APP } from '../src/auth/apps.js';
import type { Storage } from '../src/domain/ports.js';
import type { CommitStats } from '../src/storage/sqlite/engine.js';
import { p2pCallBody } from '../test/support/harness.js';

export type { CommitStats };

/**
 * Where the benchmarks read a call's state: an in-process composition's `comp.store`, or (for
 * graph-calls in other processes) a storage opened on the same database. Reads are asynchronous.
 */
export interface CallLookup {
  getCall(id: string): Promise<{ state: string; recordingActive: boolean } | undefined>;
}

/**
 * SQLite's group-commit counters (one flush = one transaction), or null for an engine without them
 * (PostgreSQL commits each write on its own). `reset` zeroes them after reading.
 */
export function commitStats(storage: Storage, reset = false): CommitStats | null {
  const s = storage as Storage & { commitStats?: (reset?: boolean) => CommitStats };
  return typeof s.commitStats === 'function' ? s.commitStats(reset) : null;
}

/** An access token for the dev app, the way a bot gets one: client credentials over HTTP. */
export async function fetchDevToken(base: string): Promise<string> {
  const res = await fetch(`${base}/${DEV_APP.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials', client_id: DEV_APP.clientId, client_secret: DEV_APP.clientSecret, scope: 'https://graph.microsoft.com/.default',
    }),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token: expected 200, got ${res.status}: ${text}`);
  const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string') throw new Error(`token: no access_token in ${text}`);
  return token;
}

export { p2pCallBody };

export const JSON_BODY = JSON.stringify({ clientContext: 'graph-calls-bench' });

/**
 * The throttle limit every benchmarked graph-calls runs with. Graph throttles the calls resource at 50,000
 * requests per 15 s per app and tenant (~3,333/s, graph-calls' default, src/graph/throttle.hook.ts); a
 * fast machine outruns that with one app, and a benchmark measures cost, not the limit (a 429 fails it).
 */
export const BENCH_THROTTLE_LIMIT = 1_000_000_000;
/** autocannon `setupClient` file: each connection owns one call and alternates start/stop on it. */
export const LOAD_CLIENT = fileURLToPath(new URL('./load-client.cjs', import.meta.url));
export const AUTOCANNON_VERSION = (JSON.parse(readFileSync(new URL('../node_modules/autocannon/package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** Nearest-rank percentile of ascending `sorted`; NaN when empty. */
export function percentile(sorted: Float64Array, p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]! : Number.NaN;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
export const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** A benchmark setting from the environment; a bad value ends the run with status 2 (never a timing). */
export function envNumber(name: string, fallback: number, ok: (n: number) => boolean, what: string): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!ok(n)) usage(`${name} must be ${what}, got '${raw}'`);
  return n;
}

export function usage(problem: string): never {
  console.error(`bench: ${problem}`);
  process.exit(2);
}

export async function post(url: string, token: string, body: unknown): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The start/stop pair each connection sends on its own call. */
export const startStopPaths = (ids: string[]) =>
  ids.map((id) => [`/beta/communications/calls/${id}/startRecording`, `/beta/communications/calls/${id}/stopRecording`]);

/** Creates `n` peer-to-peer calls through Graph and waits until the far side has answered them all. */
export async function establishedCalls(calls: CallLookup, base: string, token: string, n: number, callbackUri = 'http://127.0.0.1:9/callback'): Promise<string[]> {
  const ids = await Promise.all(Array.from({ length: n }, async () => {
    const res = await post(`${base}/beta/communications/calls`, token, p2pCallBody({ callbackUri }));
    if (res.status !== 201) throw new Error(`create call: expected 201, got ${res.status}: ${res.text}`);
    return (JSON.parse(res.text) as { id: string }).id;
  }));
  const deadline = Date.now() + 10_000;
  for (const id of ids) {
    while ((await calls.getCall(id))?.state !== 'established') {
      if (Date.now() > deadline) throw new Error(`call ${id} not established after 10 s (state ${(await calls.getCall(id))?.state})`);
      await sleep(10);
    }
  }
  return ids;
}

/**
 * Stops any recording a run left running (autocannon stops connections mid-cycle). Requests still in
 * flight when the load stopped may land meanwhile (a slower engine answers later), so passes repeat
 * until two in a row, 100 ms apart, find nothing recording (bounded): one clean pass could come just
 * before such a late startRecording commits. Returns how many recordings it stopped.
 */
export async function resetRecordingState(calls: CallLookup, base: string, token: string, ids: string[]): Promise<number> {
  let stopped = 0;
  let clean = 0;
  for (let pass = 0; pass < 20; pass++) {
    let found = 0;
    for (const id of ids) {
      const call = await calls.getCall(id);
      if (!call || call.state !== 'established') throw new Error(`call ${id} is no longer established (${call?.state})`);
      if (!call.recordingActive) continue;
      found++;
      const res = await post(`${base}/beta/communications/calls/${id}/stopRecording`, token, {});
      if (res.status === 202) stopped++;
      // A stopRecording still in flight from the load committed between the read and this request.
      else if (res.status === 409 && !(await calls.getCall(id))?.recordingActive) continue;
      else throw new Error(`reset stopRecording ${id}: expected 202, got ${res.status}: ${res.text}`);
    }
    clean = found === 0 ? clean + 1 : 0;
    if (clean === 2) return stopped;
    await sleep(100);
  }
  throw new Error('reset: recordings kept starting after the load had stopped');
}
