import type { Harness } from './harness.js';

export interface Res {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: any;
  raw: string;
}

/**
 * app.inject with JSON in/out; `auth: false` sends no Authorization header. Control-plane requests carry
 * `x-graph-calls-control: 1`, as scripts must (docs/control-plane.md, "Access and safety"): a bodyless
 * POST is otherwise refused.
 */
export async function call(h: Harness, method: string, url: string, opts: { body?: unknown; headers?: Record<string, string>; auth?: string | false; rawBody?: string } = {}): Promise<Res> {
  const headers: Record<string, string> = { ...(url.startsWith('/_emulator/') ? { 'x-graph-calls-control': '1' } : {}), ...(opts.headers ?? {}) };
  if (opts.auth !== false) headers.authorization = opts.auth ?? h.auth;
  let payload: string | undefined;
  if (opts.rawBody !== undefined) payload = opts.rawBody;
  else if (opts.body !== undefined) {
    payload = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await h.comp.app.inject({ method: method as 'GET', url, headers, payload });
  let body: unknown = undefined;
  try { body = res.body ? JSON.parse(res.body) : undefined; } catch { body = undefined; }
  return { status: res.statusCode, headers: res.headers, body, raw: res.body };
}

/** Creates a peer-to-peer call and waits until the far side has answered. */
export async function establishedCall(h: Harness, body: Record<string, unknown>): Promise<string> {
  const created = await call(h, 'POST', '/beta/communications/calls', { body });
  if (created.status !== 201) throw new Error(`create failed: ${created.status} ${created.raw}`);
  const id = created.body.id as string;
  const deadline = Date.now() + 5000;
  for (;;) {
    const got = await call(h, 'GET', `/beta/communications/calls/${id}`);
    if (got.body?.state === 'established') return id;
    if (Date.now() > deadline) throw new Error('call never established');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A snapshot of everything stored about a call, to prove a bad request changed nothing. */
export async function snapshot(h: Harness, callId: string): Promise<string> {
  const s = h.comp.store;
  return JSON.stringify({
    call: await s.getCall(callId),
    participants: await s.listParticipants(callId, { includeLeft: true }),
    operations: await s.listOperations(callId, 0, 1000),
    segments: await s.listSegments(callId),
    // Committed notifications, not their delivery progress (retries go on in the background).
    outbox: (await s.listOutbox({ callId, limit: 1000 })).map(({ seq, messageId, changeType, resourceUrl, resourceData }) => ({ seq, messageId, changeType, resourceUrl, resourceData })),
  });
}
