import assert from 'node:assert/strict';
import type { ServerHarness } from './harness.js';
import { DEV_APP, waitFor } from './harness.js';

/** The development app's token from graph-calls' token endpoint over the socket, as MSAL would request it. */
export async function fetchDevToken(baseUrl: string): Promise<string> {
  const res = await fetch(`${baseUrl}/${DEV_APP.tenantId}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials', client_id: DEV_APP.clientId, client_secret: DEV_APP.clientSecret,
      scope: 'https://graph.microsoft.com/.default',
    }),
  });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { token_type?: string; expires_in?: number; access_token?: string };
  assert.equal(body.token_type, 'Bearer');
  assert.ok(typeof body.expires_in === 'number' && body.expires_in > 0);
  assert.ok(typeof body.access_token === 'string' && body.access_token.split('.').length === 3, 'access_token is a JWS');
  return body.access_token;
}

export interface HttpRes {
  status: number;
  headers: Headers;
  body: any;
}

/**
 * A real HTTP request to a listening graph-calls, with the dev app's token (unless `auth: false`).
 * Control-plane requests carry `x-graph-calls-control: 1` (a bodyless POST or DELETE needs it).
 */
export async function api(h: Pick<ServerHarness, 'url' | 'auth'>, method: string, path: string, body?: unknown, opts: { auth?: false } = {}): Promise<HttpRes> {
  const headers: Record<string, string> = path.includes('/_emulator/') ? { 'x-graph-calls-control': '1' } : {};
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
