import type { ServerHarness } from './harness.js';
import { waitFor } from './harness.js';

export interface HttpRes {
  status: number;
  headers: Headers;
  body: any;
}

/** A real HTTP request to a listening graph-calls, with the dev app's token (unless `auth: false`). */
export async function api(h: Pick<ServerHarness, 'url' | 'auth'>, method: string, path: string, body?: unknown, opts: { auth?: false } = {}): Promise<HttpRes> {
  const headers: Record<string, string> = {};
  if (opts.auth !== false) headers.authorization = h.auth;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path.startsWith('http') ? path : `${h.url}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  let parsed: unknown;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
  return { status: res.status, headers: res.headers, body: parsed };
}

/** POST /beta/communications/calls; returns the new call. */
export async function createCall(h: Pick<ServerHarness, 'url' | 'auth'>, body: Record<string, unknown>): Promise<any> {
  const res = await api(h, 'POST', '/beta/communications/calls', body);
  if (res.status !== 201) throw new Error(`create call: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits until GET call reports `state`. */
export function waitForState(h: Pick<ServerHarness, 'url' | 'auth'>, callId: string, state: string, timeoutMs = 5000): Promise<any> {
  return waitFor(async () => {
    const r = await api(h, 'GET', `/beta/communications/calls/${callId}`);
    return r.status === 200 && r.body.state === state ? r.body : null;
  }, `call ${callId} to be ${state}`, timeoutMs);
}

/** The call's committed notifications (GET /_emulator/outbox?callId=), oldest first. */
export async function outbox(h: Pick<ServerHarness, 'url' | 'auth'>, callId: string): Promise<any[]> {
  const r = await api(h, 'GET', `/_emulator/outbox?callId=${callId}&top=1000`, undefined, { auth: false });
  if (r.status !== 200) throw new Error(`outbox: ${r.status}`);
  return r.body.value;
}

/** Every delivery attempt for a call (GET /_emulator/deliveries?callId=, all pages), oldest first. */
export async function deliveries(h: Pick<ServerHarness, 'url' | 'auth'>, callId: string): Promise<any[]> {
  const out: any[] = [];
  let next: string | undefined = `/_emulator/deliveries?callId=${callId}&$top=999`;
  while (next) {
    const r: HttpRes = await api(h, 'GET', next, undefined, { auth: false });
    if (r.status !== 200) throw new Error(`deliveries: ${r.status} ${JSON.stringify(r.body)}`);
    out.push(...r.body.value);
    next = r.body['@odata.nextLink'];
  }
  return out;
}

/** Waits until none of the call's notifications is pending (each delivered or dead). */
export function settled(h: Pick<ServerHarness, 'url' | 'auth'>, callId: string, timeoutMs = 5000): Promise<any[]> {
  return waitFor(async () => {
    const rows = await outbox(h, callId);
    return rows.length > 0 && rows.every((r) => r.state !== 'pending') ? rows : null;
  }, `notifications of call ${callId} to settle`, timeoutMs);
}
