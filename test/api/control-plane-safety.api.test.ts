import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { InjectOptions } from 'fastify';
import { buildHarness, DEV_APP, p2pCallBody, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';

/** A raw request, headers exactly as given (the inject helper adds the control header; these tests must not). */
const raw = (h: Harness, o: { method: string; url: string; headers?: Record<string, string>; payload?: string | Buffer }) =>
  h.comp.app.inject(o as InjectOptions);

const errorOf = (r: { statusCode: number; body: string }) => JSON.parse(r.body).error as { code: string; message: string };

describe('control plane: safe from the browser and the network', () => {
  let h: Harness;
  let callId: string;
  before(async () => {
    h = await buildHarness();
    const created = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
    assert.equal(created.status, 201);
    callId = created.body.id;
  });
  after(() => h.close());

  const callStillExists = async () => (await call(h, 'GET', `/beta/communications/calls/${callId}`)).status === 200;

  test('a cross-origin POST with no body to /_emulator/reset is refused (403) and state is unchanged', async () => {
    const r = await raw(h, { method: 'POST', url: '/_emulator/reset', headers: { origin: 'https://evil.example' } });
    assert.equal(r.statusCode, 403);
    const e = errorOf(r);
    assert.equal(e.code, 'accessDenied');
    assert.match(e.message, /other origins.*evil\.example/);
    assert.ok(JSON.parse(r.body).error.innerError['request-id'], "Graph's envelope");
    assert.ok(await callStillExists(), 'the call survives');
  });

  test('requests a page could send without a preflight are refused, with or without an Origin', async () => {
    const simple: Array<{ name: string; headers: Record<string, string>; payload?: string }> = [
      { name: 'bodyless POST', headers: {} },
      { name: 'text/plain POST', headers: { 'content-type': 'text/plain' }, payload: '{"ms":1}' },
      { name: 'text/plain;charset POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, payload: 'x' },
      { name: 'form POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=1' },
      { name: 'multipart POST', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' },
    ];
    for (const s of simple) {
      const r = await raw(h, { method: 'POST', url: '/_emulator/reset', headers: s.headers, payload: s.payload });
      assert.equal(r.statusCode, 403, s.name);
      assert.match(errorOf(r).message, /Content-Type: application\/json or the header 'x-graph-calls-control: 1'/, s.name);
    }
    // Every state-changing method, not only POST.
    assert.equal((await raw(h, { method: 'DELETE', url: '/_emulator/faults' })).statusCode, 403);
    assert.equal((await raw(h, { method: 'PUT', url: '/_emulator/policies/p', headers: { 'content-type': 'text/plain' }, payload: '{}' })).statusCode, 403);
    assert.ok(await callStillExists());
  });

  test('a foreign Host is refused on the control plane and the dashboard (DNS rebinding); Graph does not care', async () => {
    for (const url of ['/_emulator/info', '/_emulator/ui', '/_emulator/requests/har']) {
      const r = await raw(h, { method: 'GET', url, headers: { host: 'rebound.evil.example:4000' } });
      assert.equal(r.statusCode, 403, url);
      assert.match(errorOf(r).message, /Host 'rebound\.evil\.example'.*--allowed-hosts/, url);
    }
    const reset = await raw(h, { method: 'POST', url: '/_emulator/reset', headers: { host: 'rebound.evil.example:4000', 'content-type': 'application/json', origin: 'http://rebound.evil.example:4000' } });
    assert.equal(reset.statusCode, 403, 'same-origin to the rebound name is still refused');
    assert.ok(await callStillExists());
    for (const host of ['localhost:4000', '127.0.0.1:4000', '[::1]:4000', '10.0.0.7:4000', 'LOCALHOST']) {
      assert.equal((await raw(h, { method: 'GET', url: '/_emulator/health', headers: { host } })).statusCode, 200, host);
    }
    const graph = await raw(h, { method: 'GET', url: `/beta/communications/calls/${callId}`, headers: { host: 'rebound.evil.example', authorization: h.auth } });
    assert.equal(graph.statusCode, 200, 'Graph answers under any name (a token guards it)');
  });

  test('--allowed-hosts and --host add names; with --control-token the token is the guard and any name is answered', async () => {
    const named = await buildHarness({ allowedHosts: ['graph-calls.test'], host: 'devbox' });
    try {
      for (const host of ['graph-calls.test:4000', 'devbox:4000']) assert.equal((await raw(named, { method: 'GET', url: '/_emulator/health', headers: { host } })).statusCode, 200, host);
      assert.equal((await raw(named, { method: 'GET', url: '/_emulator/health', headers: { host: 'other.test' } })).statusCode, 403);
    } finally {
      await named.close();
    }
    const tokened = await buildHarness({ controlToken: 'sekret' });
    try {
      const headers = { host: 'graph-calls:4000', authorization: 'Bearer sekret' };
      assert.equal((await raw(tokened, { method: 'GET', url: '/_emulator/health', headers })).statusCode, 200);
      assert.equal((await raw(tokened, { method: 'POST', url: '/_emulator/reset', headers })).statusCode, 403, 'the simple-request rule still holds');
      assert.equal((await raw(tokened, { method: 'POST', url: '/_emulator/reset', headers: { ...headers, 'x-graph-calls-control': '1' } })).statusCode, 204);
      assert.equal((await raw(tokened, { method: 'GET', url: '/_emulator/health', headers: { host: 'graph-calls:4000' } })).statusCode, 403, 'no token, no entry');
    } finally {
      await tokened.close();
    }
  });

  test('same-origin JSON, the control header and WAV uploads are accepted', async () => {
    const own = { host: 'localhost:4000', origin: 'http://localhost:4000' };
    const fault = await raw(h, { method: 'POST', url: '/_emulator/faults', headers: { ...own, 'content-type': 'application/json' }, payload: JSON.stringify({ side: 'graph', match: { route: '/nothing' }, action: { type: 'status', status: 503 }, once: true }) });
    assert.equal(fault.statusCode, 201, fault.body);
    assert.equal((await raw(h, { method: 'DELETE', url: `/_emulator/faults/${JSON.parse(fault.body).id}`, headers: { ...own, 'x-graph-calls-control': '1' } })).statusCode, 204);
    const wav = await raw(h, { method: 'POST', url: '/_emulator/media', headers: { 'content-type': 'audio/wav' }, payload: Buffer.from('not a wav') });
    assert.equal(wav.statusCode, 400, 'audio/wav is no simple type: the upload reaches its handler');
    assert.equal((await raw(h, { method: 'GET', url: '/_emulator/health', headers: own })).statusCode, 200);
    assert.ok(await callStillExists());
    // Last: the control header alone (no body) resets.
    assert.equal((await raw(h, { method: 'POST', url: '/_emulator/reset', headers: { 'x-graph-calls-control': '1' } })).statusCode, 204);
    assert.equal(await callStillExists(), false);
  });
});

describe('request journal and HAR: no secrets', () => {
  let h: Harness;
  before(async () => { h = await buildHarness(); });
  after(() => h.close());

  test('client secrets, issued tokens and Authorization headers never reach the journal or HAR', async () => {
    const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: DEV_APP.clientId, client_secret: DEV_APP.clientSecret, scope: 'https://graph.microsoft.com/.default' });
    const issued = await raw(h, { method: 'POST', url: `/${DEV_APP.tenantId}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form.toString() });
    assert.equal(issued.statusCode, 200);
    const accessToken = JSON.parse(issued.body).access_token as string;
    const wrong = await raw(h, { method: 'POST', url: `/${DEV_APP.tenantId}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `${form}&client_secret=not-the-dev-secret-1234` });
    assert.equal(wrong.statusCode, 401);

    const created = await call(h, 'POST', '/beta/communications/calls', { auth: `Bearer ${accessToken}`, body: p2pCallBody({ clientSecret: 'member-secret-5678' }) });
    assert.equal(created.status, 201);
    // Control-plane bodies carry secrets too (an app registration); the journal must not show one anywhere.
    assert.equal((await call(h, 'POST', '/_emulator/apps', { auth: false, body: { tenantId: DEV_APP.tenantId, clientId: '56565656-5656-4565-8565-565656565656', clientSecret: 'registered-secret-9012', roles: [] } })).status, 201);

    const journal = (await call(h, 'GET', '/_emulator/requests', { auth: false })).raw;
    const har = (await call(h, 'GET', '/_emulator/requests/har', { auth: false })).raw;
    for (const [name, text] of [['journal', journal], ['HAR', har]] as const) {
      for (const secret of [DEV_APP.clientSecret, 'not-the-dev-secret-1234', accessToken, h.token, 'member-secret-5678', 'registered-secret-9012']) {
        assert.ok(!text.includes(secret), `${name} leaks ${secret.slice(0, 24)}`);
      }
      assert.ok(!text.includes(accessToken.split('.')[1]!), `${name} leaks the token's claims`);
    }
    const entries = JSON.parse(journal).value as Array<{ url: string; requestBody: string | null; responseBody: string | null; requestHeaders: Record<string, string> }>;
    const token = entries.find((e) => e.url.endsWith('/oauth2/v2.0/token') && e.responseBody?.includes('access_token'))!;
    assert.ok(token, 'the token request is journalled');
    assert.equal(new URLSearchParams(token.requestBody!).get('client_secret'), '[redacted]', 'the form stays a form, its secret redacted');
    assert.equal(new URLSearchParams(token.requestBody!).get('client_id'), DEV_APP.clientId, 'the rest stays readable');
    assert.equal(JSON.parse(token.responseBody!).access_token, '[redacted]');
    const graph = entries.find((e) => e.url === '/beta/communications/calls')!;
    assert.equal(graph.requestHeaders.authorization, 'Bearer …');
    assert.equal(JSON.parse(graph.requestBody!).clientSecret, '[redacted]');
    const harToken = JSON.parse(har).log.entries.find((e: { request: { url: string } }) => e.request.url.endsWith('/oauth2/v2.0/token'));
    assert.equal(harToken.request.postData.mimeType, 'application/x-www-form-urlencoded');
  });

  test('bodies are journalled cut to --journal-body-bytes, and an oversized token form is refused unread, in Entra\'s shape', async () => {
    const small = await buildHarness({ journalBodyBytes: 1024 });
    try {
      const big = await call(small, 'POST', '/beta/communications/calls', { body: p2pCallBody({ padding: 'é'.repeat(5000) }) });
      assert.equal(big.status, 201);
      const tooBig = await raw(small, { method: 'POST', url: `/${DEV_APP.tenantId}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `client_secret=${'x'.repeat(70 * 1024)}` });
      assert.equal(tooBig.statusCode, 400);
      assert.equal(JSON.parse(tooBig.body).error, 'invalid_request');
      assert.match(JSON.parse(tooBig.body).error_description, /^AADSTS90023: .*too large/);
      const entries = (await call(small, 'GET', '/_emulator/requests', { auth: false })).body.value as Array<{ url: string; requestBody: string | null; responseBody: string | null }>;
      const created = entries.find((e) => e.url === '/beta/communications/calls')!;
      assert.ok(Buffer.byteLength(created.requestBody!) <= 1024 + 3, `clipped: ${Buffer.byteLength(created.requestBody!)} bytes`);
      assert.ok(created.requestBody!.endsWith('…'));
      assert.ok(!created.requestBody!.includes('\uFFFD'), 'cut on a character boundary');
      const refused = entries.find((e) => e.url.endsWith('/oauth2/v2.0/token'))!;
      assert.equal(refused.requestBody, null, 'the oversized body was never read');
    } finally {
      await small.close();
    }
  });
});
