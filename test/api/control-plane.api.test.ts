import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, p2pCallBody, tempDataDir, type Harness } from '../support/harness.js';
import { call, establishedCall } from '../support/inject.js';

const NEW_APP = { tenantId: '12121212-1212-4121-8121-121212121212', clientId: '34343434-3434-4343-8343-343434343434', clientSecret: 'shh', roles: ['Calls.Initiate.All'], displayName: 'Added bot' };

describe('control plane', () => {
  let h: Harness;
  before(async () => { h = await buildHarness(); });
  after(() => h.close());

  test('loopback clients only by default; others get 403 with the reason', async () => {
    const far = await h.comp.app.inject({ method: 'GET', url: '/_emulator/info', remoteAddress: '10.1.2.3' });
    assert.equal(far.statusCode, 403);
    assert.match(JSON.parse(far.body).error.message, /loopback clients only.*--control-token/);
    for (const remoteAddress of ['127.0.0.1', '::1', '::ffff:127.0.0.9']) {
      assert.equal((await h.comp.app.inject({ method: 'GET', url: '/_emulator/info', remoteAddress })).statusCode, 200, remoteAddress);
    }
    const graph = await h.comp.app.inject({ method: 'GET', url: '/beta/communications/calls/x', remoteAddress: '10.1.2.3', headers: { authorization: h.auth } });
    assert.equal(graph.statusCode, 404, 'Graph itself is not restricted to loopback');
  });

  test('--control-token opens it to anyone presenting the token, and only them', async () => {
    const t = await buildHarness({ controlToken: 'sekret' });
    try {
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/info' })).statusCode, 403);
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/info', headers: { authorization: 'Bearer wrong' } })).statusCode, 403);
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/info', remoteAddress: '10.9.9.9', headers: { authorization: 'Bearer sekret' } })).statusCode, 200);
    } finally {
      await t.close();
    }
  });

  test('its own OpenAPI document lists its routes', async () => {
    const doc = (await call(h, 'GET', '/_emulator/openapi.json', { auth: false })).body;
    assert.equal(doc.openapi, '3.1.0');
    for (const p of ['/_emulator/calls/incoming', '/_emulator/clock/advance', '/_emulator/deliveries', '/_emulator/policies/{policyId}', '/_emulator/reset', '/_emulator/apps']) {
      assert.ok(doc.paths[p], p);
    }
    assert.ok(doc.paths['/_emulator/calls/{id}/participants/{participantId}/mute'].post);
    assert.ok(!Object.keys(doc.paths).some((p) => p.startsWith('/beta')), 'Graph paths are not in it');
  });

  test('apps: add (then get tokens), list without secrets, remove', async () => {
    const bad = await call(h, 'POST', '/_emulator/apps', { body: { clientId: 'x' }, auth: false });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /tenantId.*clientId.*clientSecret.*roles/);
    const added = await call(h, 'POST', '/_emulator/apps', { body: NEW_APP, auth: false });
    assert.equal(added.status, 201);
    assert.equal(added.body.clientSecret, undefined);
    const tok = await h.comp.app.inject({ method: 'POST', url: `/${NEW_APP.tenantId}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ grant_type: 'client_credentials', client_id: NEW_APP.clientId, client_secret: 'shh', scope: 'https://graph.microsoft.com/.default' }).toString() });
    assert.equal(tok.statusCode, 200);
    const list = (await call(h, 'GET', '/_emulator/apps', { auth: false })).body.value;
    assert.ok(list.some((a: any) => a.clientId === NEW_APP.clientId));
    assert.ok(list.every((a: any) => a.clientSecret === undefined));
    assert.equal((await call(h, 'DELETE', `/_emulator/apps/${NEW_APP.clientId}`, { auth: false })).status, 204);
    const after = await call(h, 'GET', '/beta/communications/calls/x', { auth: `Bearer ${JSON.parse(tok.body).access_token}` });
    assert.equal(after.status, 401, 'a removed app\'s tokens stop working');
  });

  test('apps added through the control plane survive a restart', async () => {
    const data = tempDataDir();
    try {
      let s = await buildHarness({ inMemory: false, dataDir: data.dir });
      await call(s, 'POST', '/_emulator/apps', { body: NEW_APP, auth: false });
      await s.close();
      s = await buildHarness({ inMemory: false, dataDir: data.dir });
      assert.ok(s.comp.apps.get(NEW_APP.clientId));
      await s.close();
    } finally {
      data.cleanup();
    }
  });

  test('reset forgets calls, notifications and journals', async () => {
    const id = await establishedCall(h, p2pCallBody());
    assert.ok((await h.comp.store.listOutbox({ callId: id, limit: 10 })).length > 0);
    assert.equal((await call(h, 'POST', '/_emulator/reset', { auth: false })).status, 204);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).status, 404);
    assert.equal((await h.comp.store.listOutbox({ limit: 10 })).length, 0);
    assert.equal((await call(h, 'GET', '/_emulator/info', { auth: false })).status, 200);
  });
});
