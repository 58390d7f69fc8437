import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { ConfigError, loadConfig } from '../../src/config.js';
import type { AppRegistration } from '../../src/auth/apps.js';
import { buildHarness, p2pCallBody, startServer, waitFor, type ServerHarness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { api, fetchDevToken } from '../support/graph-http.js';
import { startServerProcess } from '../support/server-process.js';

const UNKNOWN_CALL = '/beta/communications/calls/00000000-0000-4000-8000-000000000abc';
const OTHER_APP: AppRegistration = {
  tenantId: '56565656-5656-4565-8565-565656565656', clientId: '78787878-7878-4787-8787-787878787878', clientSecret: 'other',
  roles: ['Calls.Initiate.All'], displayName: 'Another bot', callbackUri: null,
};

/** The first bytes the server sends on `socket`, or a rejection after `ms`. */
function firstData(socket: Socket, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer after ${ms} ms`)), ms);
    socket.once('data', (d) => { clearTimeout(timer); resolve(String(d)); });
  });
}

/** Resolves when the server closes `socket` (what it sent first, if anything), or rejects after `ms`. */
function closedBy(socket: Socket, ms: number): Promise<string> {
  let got = '';
  socket.on('data', (d) => { got += String(d); });
  socket.on('error', () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.destroy(); reject(new Error(`socket still open after ${ms} ms`)); }, ms);
    socket.once('close', () => { clearTimeout(timer); resolve(got); });
  });
}

function open(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect(Number(u.port), u.hostname, () => resolve(s));
    s.once('error', reject);
  });
}

describe('throttling: Graph\'s per-app, per-tenant limit on calls', () => {
  test('over the limit: 429 TooManyRequests with Retry-After in Graph\'s envelope; another app is not throttled', async () => {
    const h = await buildHarness({ throttleLimit: 3, throttleWindowMs: 60_000 });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await call(h, 'GET', UNKNOWN_CALL)).status);
      assert.deepEqual(statuses, [404, 404, 404], 'within the limit requests are served');
      // v1.0 and beta are one service with one budget.
      const over = await call(h, 'GET', UNKNOWN_CALL.replace('/beta/', '/v1.0/'), { headers: { 'client-request-id': 'throttled-1' } });
      assert.equal(over.status, 429);
      // 3 per 60 s earns one request back every 20 s.
      assert.equal(over.headers['retry-after'], '20');
      assert.equal(over.body.error.code, 'TooManyRequests');
      assert.match(over.body.error.message, /Retry-After/);
      assert.equal(over.body.error.innerError['client-request-id'], 'throttled-1');
      assert.equal(over.body.error.innerError['request-id'], over.headers['request-id']);
      assert.match(String(over.headers['content-type']), /^application\/json/);

      // Another app (another tenant) has its own budget.
      await h.comp.apps.put(OTHER_APP);
      const other = `Bearer ${(await h.comp.tokens.issue(OTHER_APP)).accessToken}`;
      assert.equal((await call(h, 'GET', UNKNOWN_CALL, { auth: other })).status, 404);
      assert.equal((await call(h, 'GET', UNKNOWN_CALL)).status, 429, 'the first app is still throttled');
      assert.equal((await call(h, 'GET', UNKNOWN_CALL.replace('/communications/', '/app/'))).status, 429, 'the /app/calls alias is the same resource');
      // Refusals happen before any handler: nothing was created.
      assert.equal((await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).status, 429);
      assert.equal((await h.comp.store.recentCalls(10)).length, 0);
      // A request without a valid token is refused by authentication first, never counted.
      assert.equal((await call(h, 'GET', UNKNOWN_CALL, { auth: 'Bearer nope' })).status, 401);
    } finally {
      await h.close();
    }
  });

  test('--throttle-limit 0 turns throttling off', async () => {
    const h = await buildHarness({ throttleLimit: 0 });
    try {
      for (let i = 0; i < 20; i++) assert.equal((await call(h, 'GET', UNKNOWN_CALL)).status, 404);
    } finally {
      await h.close();
    }
  });

  test('the defaults are Graph\'s published limit: 50,000 requests per 15 s', () => {
    const c = loadConfig([], {});
    assert.equal(c.throttleLimit, 50_000);
    assert.equal(c.throttleWindowMs, 15_000);
    assert.equal(loadConfig(['--throttle-limit', '0'], {}).throttleLimit, 0);
  });
});

describe('admission control', () => {
  let h: ServerHarness;
  after(() => h?.close());

  test('over --max-in-flight, a burst is answered 503 serviceNotAvailable at once instead of waiting', async () => {
    h = await startServer({ maxInFlight: 2 });
    const slow = await api(h, 'POST', '/_emulator/faults', { side: 'graph', action: { type: 'latency', ms: 800 } }, { auth: false });
    assert.equal(slow.status, 201);

    const order: number[] = [];
    const burst = await Promise.all(Array.from({ length: 6 }, () => api(h, 'GET', UNKNOWN_CALL).then((r) => { order.push(r.status); return r; })));
    const statuses = burst.map((r) => r.status).sort();
    assert.deepEqual(statuses, [404, 404, 503, 503, 503, 503], 'two served, four shed');
    assert.deepEqual(order.slice(0, 4), [503, 503, 503, 503], 'the shed requests were answered before the slow ones finished');
    const shed = burst.find((r) => r.status === 503)!;
    assert.equal(shed.body.error.code, 'serviceNotAvailable');
    assert.equal(shed.headers.get('retry-after'), '1');
    assert.ok(shed.headers.get('request-id'));
    assert.equal(shed.headers.get('x-graph-calls-fault'), null, 'shed before fault rules run');

    // The control plane is not Graph traffic: it answers while Graph is at its cap.
    const held = [api(h, 'GET', UNKNOWN_CALL), api(h, 'GET', UNKNOWN_CALL)];
    await waitFor(() => h.comp.admission.graphInFlight === 2, 'two Graph requests in flight');
    assert.equal((await api(h, 'GET', '/_emulator/faults', undefined, { auth: false })).status, 200);
    await Promise.all(held);

    // The cap frees as answers finish.
    assert.equal((await api(h, 'DELETE', '/_emulator/faults', undefined, { auth: false })).status, 204);
    await waitFor(() => h.comp.admission.graphInFlight === 0, 'nothing in flight');
    assert.equal((await api(h, 'GET', UNKNOWN_CALL)).status, 404);
  });
});

describe('slow and greedy clients', () => {
  let h: ServerHarness;
  after(() => h?.close());

  test('headers sent too slowly, a body that never completes, and a silent connection are closed within the timeouts; event streams are not', async () => {
    h = await startServer({ headersTimeoutMs: 1000, requestTimeoutMs: 1000 });
    // The dashboard's event stream: its request is complete, so request timeouts never apply to it.
    const events = await open(h.url);
    let streamed = '';
    events.on('data', (d) => { streamed += String(d); });
    events.write('GET /_emulator/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');

    const slowHeaders = await open(h.url);
    slowHeaders.write('GET /beta/communications/calls HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const slowBody = await open(h.url);
    slowBody.write(`POST /beta/communications/calls HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${h.auth}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"callbackUri":');
    const silent = await open(h.url);

    // 1 s to arrive, checked every second: closed well within 5 s (node answers 408 first).
    const [a, b] = await Promise.all([closedBy(slowHeaders, 5000), closedBy(slowBody, 5000), closedBy(silent, 5000)]);
    assert.match(a, /^HTTP\/1\.1 408/);
    assert.match(b, /^HTTP\/1\.1 408/);
    assert.equal((await h.comp.store.recentCalls(10)).length, 0, 'the half-sent call was never created');

    // The event stream outlived the request timeout and still delivers.
    assert.equal(events.destroyed, false);
    assert.match(streamed, /^HTTP\/1\.1 200/);
    const created = await api(h, 'POST', '/beta/communications/calls', p2pCallBody());
    assert.equal(created.status, 201);
    await waitFor(() => streamed.includes('event: change'), 'a change event on the stream');
    events.destroy();
  });

  test('over --max-connections, new connections are closed at once', async () => {
    const capped = await startServer({ maxConnections: 2 });
    const held = [await open(capped.url), await open(capped.url)];
    try {
      const third = await open(capped.url);
      assert.equal(await closedBy(third, 5000), '', 'closed without an answer');
      // The connections already open are served.
      const answer = firstData(held[0]!, 5000);
      held[0]!.write('GET /_emulator/faults HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
      assert.match(await answer, /^HTTP\/1\.1 200/);
    } finally {
      for (const s of held) s.destroy();
      await capped.close();
    }
  });

  test('a headers timeout longer than the request timeout is refused at start (node would throw)', () => {
    assert.throws(() => loadConfig(['--headers-timeout-ms', '5000', '--request-timeout-ms', '1000'], {}),
      (e: unknown) => e instanceof ConfigError && /--headers-timeout-ms \(5000\) must not exceed --request-timeout-ms \(1000\)/.test(e.message));
    assert.equal(loadConfig(['--request-timeout-ms', '0'], {}).requestTimeoutMs, 0, '0 = no limit');
  });
});

describe('graceful shutdown', () => {
  let child: ChildProcess | undefined;
  after(() => { child?.kill('SIGKILL'); });

  test('while draining, requests in flight finish and a new request on an open connection gets 503 with Connection: close', async () => {
    const h = await startServer();
    const held = (id: string, ms: number) => api(h, 'POST', '/_emulator/faults', { side: 'graph', match: { route: id }, action: { type: 'latency', ms } }, { auth: false });
    assert.equal((await held('0000000000b1', 300)).status, 201);
    assert.equal((await held('0000000000c1', 1500)).status, 201);
    const get = (id: string) => `GET /beta/communications/calls/00000000-0000-4000-8000-${id} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: ${h.auth}\r\n\r\n`;
    const [b, c] = [await open(h.url), await open(h.url)];
    const bAnswer = firstData(b, 5000);
    const cAnswer = firstData(c, 5000);
    b.write(get('0000000000b1'));
    c.write(get('0000000000c1'));
    await waitFor(() => h.comp.admission.graphInFlight === 2, 'both requests in flight');

    const closing = h.comp.close();
    assert.match(await bAnswer, /^HTTP\/1\.1 404/, 'answered normally during the drain');
    // b is open and idle while the drain waits for c: the next request on it is refused, and b is closed.
    const refused = closedBy(b, 5000);
    b.write(get('0000000000b2'));
    const text = await refused;
    assert.match(text, /^HTTP\/1\.1 503/);
    assert.match(text, /\r\nconnection: close\r\n/i);
    assert.match(text, /\r\nretry-after: 1\r\n/i);
    assert.match(text, /"code":"serviceNotAvailable"/);
    assert.match(await cAnswer, /^HTTP\/1\.1 404/, 'the longer request in flight finished too');
    await closing;
    c.destroy();
  });

  test('on SIGTERM a request in flight completes with its normal answer, and the process exits 0', { timeout: 60_000 }, async () => {
    const server = await startServerProcess(['--port', '0', '--in-memory', '--answer-delay-ms', '50']);
    child = server.child;
    const { url, exited, lines } = server;
    const h = { url, auth: `Bearer ${await fetchDevToken(url)}` };
    const rule = await api(h, 'POST', '/_emulator/faults', { side: 'graph', match: { route: '/communications/calls', method: 'POST' }, action: { type: 'latency', ms: 1500 }, once: true }, { auth: false });
    assert.equal(rule.status, 201);

    const inFlight = api(h, 'POST', '/beta/communications/calls', p2pCallBody());
    // The rule has fired: the request is inside the server, held by the latency.
    await waitFor(async () => (await api(h, 'GET', '/_emulator/faults', undefined, { auth: false })).body.value[0]?.fired === 1, 'the request to be in flight');
    child.kill('SIGTERM');

    const answered = await inFlight;
    assert.equal(answered.status, 201, 'the request in flight got its normal answer');
    assert.equal(answered.body.state, 'establishing');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000).unref())]);
    assert.equal(code, 0, `a clean exit; saw: ${lines.join('\n')}`);
  });
});
