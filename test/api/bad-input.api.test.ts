import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import { buildHarness, CLIENT_ID, p2pCallBody, TENANT, type Harness } from '../support/harness.js';
import { call, establishedCall, snapshot } from '../support/inject.js';

/** Every bad input gets the right status and a Graph envelope naming the problem, and changes nothing. */
describe('bad input', () => {
  let h: Harness;
  let id: string;
  before(async () => {
    h = await buildHarness({ bodyLimitBytes: 64 * 1024 });
    id = await establishedCall(h, p2pCallBody());
  });
  after(() => h.close());

  const envelope = (body: any) => {
    assert.equal(typeof body.error.code, 'string');
    assert.equal(typeof body.error.message, 'string');
    assert.match(body.error.innerError.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
    assert.ok(body.error.innerError['request-id']);
    assert.ok(body.error.innerError['client-request-id']);
  };

  test('a batch of bad requests: right statuses, named problems, no state change, process alive', async () => {
    const start = `/beta/communications/calls/${id}/startRecording`;
    const otherKey = await jose.generateKeyPair('RS256');
    const now = Math.floor(Date.now() / 1000);
    const forged = await new jose.SignJWT({ tid: TENANT, appid: CLIENT_ID, idtyp: 'app', roles: ['Calls.JoinGroupCall.All'] })
      .setProtectedHeader({ alg: 'RS256', kid: 'x' }).setIssuer(`https://sts.windows.net/${TENANT}/`).setAudience('https://graph.microsoft.com')
      .setIssuedAt(now).setExpirationTime(now + 600).sign(otherKey.privateKey);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ tid: TENANT, appid: CLIENT_ID })).toString('base64url')}.`;

    const cases: Array<{ name: string; method?: string; url?: string; rawBody?: string; body?: unknown; headers?: Record<string, string>; auth?: string | false; status: number; code: string; message: RegExp }> = [
      { name: 'malformed JSON', rawBody: '{"clientContext":', headers: { 'content-type': 'application/json' }, status: 400, code: 'BadRequest', message: /Invalid JSON/ },
      { name: 'non-JSON content type', rawBody: '<x/>', headers: { 'content-type': 'text/xml' }, status: 415, code: 'BadRequest', message: /application\/json.*text\/xml/ },
      { name: 'form content type', rawBody: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' }, status: 415, code: 'BadRequest', message: /application\/json/ },
      { name: 'clientContext of the wrong type', body: { clientContext: 5 }, status: 400, code: 'BadRequest', message: /'clientContext'.*string/ },
      { name: 'clientContext as an object', body: { clientContext: { a: 1 } }, status: 400, code: 'BadRequest', message: /'clientContext'/ },
      { name: 'clientContext over 256 characters', body: { clientContext: 'x'.repeat(257) }, status: 400, code: 'BadRequest', message: /'clientContext'.*256/ },
      { name: 'a JSON array body', rawBody: '[1,2]', headers: { 'content-type': 'application/json' }, status: 400, code: 'BadRequest', message: /body/ },
      { name: 'oversized body', rawBody: JSON.stringify({ clientContext: 'x', pad: 'y'.repeat(70 * 1024) }), headers: { 'content-type': 'application/json' }, status: 413, code: 'RequestEntityTooLarge', message: /too large/ },
      { name: 'unknown segment', url: `/beta/communications/calls/${id}/explode`, body: {}, status: 400, code: 'BadRequest', message: /segment 'explode'/ },
      { name: 'unknown root segment', url: '/beta/communicationz/calls', method: 'GET', status: 400, code: 'BadRequest', message: /segment 'communicationz'/ },
      { name: 'wrong method', url: `/beta/communications/calls/${id}`, method: 'PATCH', body: { subject: 'x' }, status: 405, code: 'BadRequest', message: /PATCH/ },
      { name: 'unknown top-level path', url: '/nothing/here', method: 'GET', status: 404, code: 'NotFound', message: /nothing\/here/ },
      { name: 'no token', auth: false, body: {}, status: 401, code: 'InvalidAuthenticationToken', message: /Access token is empty/ },
      { name: 'not a bearer scheme', auth: 'Basic Zm9vOmJhcg==', body: {}, status: 401, code: 'InvalidAuthenticationToken', message: /not well formed/ },
      { name: 'garbage token', auth: 'Bearer abc.def', body: {}, status: 401, code: 'InvalidAuthenticationToken', message: /not well formed/ },
      { name: 'unsigned token', auth: `Bearer ${unsigned}`, body: {}, status: 401, code: 'InvalidAuthenticationToken', message: /./ },
      { name: 'token signed by another key', auth: `Bearer ${forged}`, body: {}, status: 401, code: 'InvalidAuthenticationToken', message: /Signature/ },
      { name: 'create call without callbackUri', url: '/beta/communications/calls', body: { ...p2pCallBody(), callbackUri: undefined }, status: 400, code: 'BadRequest', message: /'callbackUri'/ },
      { name: 'create call without mediaConfig', url: '/beta/communications/calls', body: { ...p2pCallBody(), mediaConfig: undefined }, status: 400, code: 'BadRequest', message: /'mediaConfig'/ },
      { name: 'create call without requestedModalities', url: '/beta/communications/calls', body: { ...p2pCallBody(), requestedModalities: undefined }, status: 400, code: 'BadRequest', message: /'requestedModalities'/ },
      { name: 'create call with an unknown modality', url: '/beta/communications/calls', body: { ...p2pCallBody(), requestedModalities: ['smell'] }, status: 400, code: 'BadRequest', message: /'smell'.*requestedModalities/ },
      { name: 'create call without a target or meeting', url: '/beta/communications/calls', body: { ...p2pCallBody(), targets: [] }, status: 400, code: 'BadRequest', message: /'targets'.*'meetingInfo'/ },
      { name: 'create call with http callback to a public host', url: '/beta/communications/calls', body: p2pCallBody({ callbackUri: 'http://bot.example.com/cb' }), status: 400, code: 'BadRequest', message: /callbackUri.*https is required/ },
      { name: 'create call with a relative callbackUri', url: '/beta/communications/calls', body: p2pCallBody({ callbackUri: '/cb' }), status: 400, code: 'BadRequest', message: /callbackUri.*absolute/ },
      { name: 'create call with untyped mediaConfig', url: '/beta/communications/calls', body: p2pCallBody({ mediaConfig: {} }), status: 400, code: 'BadRequest', message: /mediaConfig.*@odata.type/ },
      { name: 'create call with callbackUri as a number', url: '/beta/communications/calls', body: p2pCallBody({ callbackUri: 42 }), status: 400, code: 'BadRequest', message: /'callbackUri'.*string/ },
      { name: 'meeting join without chatInfo', url: '/beta/communications/calls', body: { ...p2pCallBody(), targets: undefined, meetingInfo: { '@odata.type': '#microsoft.graph.organizerMeetingInfo', organizer: { user: { id: 'u' } } } }, status: 400, code: 'BadRequest', message: /'chatInfo'/ },
      { name: 'another tenant in the body', url: '/beta/communications/calls', body: p2pCallBody({ tenantId: '99999999-9999-4999-8999-999999999999' }), status: 400, code: 'BadRequest', message: /'tenantId'/ },
      { name: '$top out of range', url: `/beta/communications/calls/${id}/operations?$top=5000`, method: 'GET', status: 400, code: 'BadRequest', message: /\$top/ },
    ];

    const before = await snapshot(h, id);
    const callsBefore = (await h.comp.store.listOutbox({ limit: 10_000 })).length;
    for (const c of cases) {
      const r = await call(h, c.method ?? 'POST', c.url ?? start, { body: c.body, rawBody: c.rawBody, headers: c.headers, auth: c.auth });
      assert.equal(r.status, c.status, `${c.name}: status (${r.raw})`);
      envelope(r.body);
      assert.equal(r.body.error.code, c.code, `${c.name}: code`);
      assert.match(r.body.error.message, c.message, `${c.name}: message`);
      if (c.status === 401) assert.match(String(r.headers['www-authenticate']), /^Bearer /, `${c.name}: WWW-Authenticate`);
    }
    assert.equal(await snapshot(h, id), before, 'the call is unchanged');
    assert.equal((await h.comp.store.listOutbox({ limit: 10_000 })).length, callsBefore, 'no call was created and nothing was notified');

    // Still alive and serving.
    const health = await call(h, 'GET', '/_emulator/health', { auth: false });
    assert.equal(health.status, 200);
    const ok = await call(h, 'POST', start, { body: { clientContext: 'after-the-storm' } });
    assert.equal(ok.status, 202);
  });

  test('the caller\'s client-request-id is echoed on errors and successes', async () => {
    const r = await call(h, 'GET', '/beta/communications/calls/nope', { headers: { 'client-request-id': 'my-correlation-id' } });
    assert.equal(r.status, 404);
    assert.equal(r.headers['client-request-id'], 'my-correlation-id');
    assert.equal(r.body.error.innerError['client-request-id'], 'my-correlation-id');
    assert.notEqual(r.headers['request-id'], 'my-correlation-id');
    const ok = await call(h, 'GET', `/beta/communications/calls/${id}`, { headers: { 'client-request-id': 'abc' } });
    assert.equal(ok.headers['client-request-id'], 'abc');
  });

  test('an expired token is refused with Graph\'s lifetime message; --token-lifetime-seconds sets the lifetime', async () => {
    // Tokens live in real time (not on the virtual clock), so rather than waiting one out: a token signed
    // with the server's own key whose lifetime ended a second ago, and the lifetime a short-lived server issues.
    const key = await loadOrCreateKey(h.comp.storage.config, 'token-signing');
    const now = Math.floor(Date.now() / 1000);
    const expired = await new jose.SignJWT({ tid: TENANT, appid: CLIENT_ID, idtyp: 'app', roles: ['Calls.JoinGroupCall.All'] })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(`https://sts.windows.net/${TENANT}/`).setAudience('https://graph.microsoft.com')
      .setIssuedAt(now - 61).setExpirationTime(now - 1).sign(key.privateKey);
    const r = await call(h, 'GET', `/beta/communications/calls/${id}`, { auth: `Bearer ${expired}` });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'InvalidAuthenticationToken');
    assert.match(r.body.error.message, /expired/);
    // The same token, still valid, is accepted: only its lifetime was wrong.
    const valid = await new jose.SignJWT({ tid: TENANT, appid: CLIENT_ID, idtyp: 'app', roles: ['Calls.JoinGroupCall.All'] })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(`https://sts.windows.net/${TENANT}/`).setAudience('https://graph.microsoft.com')
      .setIssuedAt(now).setExpirationTime(now + 60).sign(key.privateKey);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`, { auth: `Bearer ${valid}` })).status, 200);

    const short = await buildHarness({ tokenLifetimeSeconds: 1 });
    try {
      const claims = jose.decodeJwt(short.token);
      assert.equal(claims.exp! - claims.iat!, 1, 'a one-second token');
    } finally {
      await short.close();
    }
  });

  test('a token for another audience, signed with our own key, is refused', async () => {
    const key = await loadOrCreateKey(h.comp.storage.config, 'token-signing');
    const now = Math.floor(Date.now() / 1000);
    const other = await new jose.SignJWT({ tid: TENANT, appid: CLIENT_ID, idtyp: 'app', roles: ['Calls.JoinGroupCall.All'] })
      .setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(`https://sts.windows.net/${TENANT}/`).setAudience('https://vault.azure.net')
      .setIssuedAt(now).setExpirationTime(now + 600).sign(key.privateKey);
    const r = await call(h, 'GET', `/beta/communications/calls/${id}`, { auth: `Bearer ${other}` });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, 'InvalidAuthenticationToken');
    assert.equal(r.body.error.message, 'Access token validation failure. Invalid audience.');
  });
});
