import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHarness, DEV_APP, meetingCallBody, p2pCallBody, startServer, tempDataDir, waitFor, type Harness, type ServerHarness } from '../support/harness.js';
import { call, establishedCall } from '../support/inject.js';
import { api } from '../support/graph-http.js';
import { createTestDatabase } from '../support/postgres.js';

const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
const NO_CALL = '0f0f0f0f-0f0f-4f0f-8f0f-0f0f0f0f0f0f';
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
const advance = (h: Harness, ms: number) => control(h, 'POST', '/_emulator/clock/advance', { ms });

/** Starts recording, lets `ms` of virtual time pass, stops, and waits for the rendered recording. */
async function recordOnce(h: Harness, id: string, ms = 2000): Promise<any> {
  assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
  await advance(h, ms);
  assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`)).status, 202);
  return waitFor(async () => {
    await advance(h, 100);
    return (await control(h, 'GET', `/_emulator/calls/${id}/recordings`)).body.value[0];
  }, 'the rendered recording', 20_000);
}

describe('the control plane tells the truth', () => {
  describe('recording paths', () => {
    let h: Harness;
    // The bot's recording notification is the opt-in extension (--recording-callback-notifications): on here, to compare its path.
    before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 10, operationDelayMs: 10, recordingCallbackNotifications: true }); });
    after(() => h.close());

    test('an ad hoc recording\'s path is the one its notification named, under a user who took part, and Graph serves it', async () => {
      const created = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
      const id = created.body.id as string;
      await advance(h, 100);
      const rec = await recordOnce(h, id);
      assert.equal(rec.path, `/users/${ALICE}/adhocCalls/${id}/recordings/${rec.id}`);
      const announced = (await h.comp.store.listOutbox({ callId: id, limit: 100 })).filter((n) => n.changeType === 'created' && n.resourceUrl.includes('/recordings/'));
      assert.deepEqual(announced.map((n) => n.resourceUrl), [rec.path], 'the bot was told the same path');
      for (const v of ['beta', 'v1.0']) {
        const got = await call(h, 'GET', `/${v}${rec.path}`);
        assert.equal(got.status, 200, `${v}${rec.path}: ${got.raw}`);
        assert.equal(got.body.id, rec.id);
      }
    });

    test('a meeting recording\'s path is under its online meeting, and Graph serves it', async () => {
      const created = await call(h, 'POST', '/beta/communications/calls', { body: meetingCallBody() });
      const id = created.body.id as string;
      await advance(h, 100);
      const rec = await recordOnce(h, id);
      assert.match(rec.path, new RegExp(`^/communications/onlineMeetings/[^/]+/recordings/${rec.id}$`));
      const announced = (await h.comp.store.listOutbox({ callId: id, limit: 100 })).filter((n) => n.changeType === 'created' && n.resourceUrl.includes('/recordings/'));
      assert.deepEqual(announced.map((n) => n.resourceUrl), [rec.path]);
      assert.equal((await call(h, 'GET', `/beta${rec.path}`)).status, 200);
    });
  });

  describe('reset', () => {
    let h: Harness;
    before(async () => { h = await buildHarness(); });
    after(() => h.close());

    test('clears the request journal (entries not yet written included) and every fault rule with its counts', async () => {
      const id = await establishedCall(h, p2pCallBody());
      assert.equal((await control(h, 'POST', '/_emulator/faults', { side: 'graph', match: { route: '/nowhere' }, action: { type: 'status', status: 503 }, count: 2 })).status, 201);
      assert.equal((await control(h, 'POST', '/_emulator/faults', { side: 'notification', action: { type: 'drop' } })).status, 201);
      // Journalled in the buffer (written in batches), then reset at once.
      assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).status, 200);
      assert.equal((await control(h, 'POST', '/_emulator/reset')).status, 204);

      assert.deepEqual((await control(h, 'GET', '/_emulator/requests')).body.value, []);
      assert.deepEqual((await control(h, 'GET', '/_emulator/requests/har')).body.log.entries, []);
      assert.deepEqual((await control(h, 'GET', '/_emulator/deliveries')).body.value, []);
      assert.deepEqual((await control(h, 'GET', '/_emulator/faults')).body.value, []);
      assert.deepEqual(await h.comp.storage.config.counters('fault:'), new Map(), 'no fault counter is left');
      // Configuration stays.
      assert.ok((await control(h, 'GET', '/_emulator/apps')).body.value.some((a: any) => a.clientId === DEV_APP.clientId));
      // Requests after the reset are journalled as before.
      assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).status, 404);
      assert.deepEqual((await control(h, 'GET', '/_emulator/requests')).body.value.map((e: any) => e.status), [404]);
    });
  });

  test('on PostgreSQL, a reset through one instance clears the journal and fault rules for both', async () => {
    const db = await createTestDatabase();
    const dirs = [tempDataDir(), tempDataDir()];
    const [a, b] = await Promise.all(dirs.map((d) => buildHarness({ inMemory: false, db: db.url, dataDir: d.dir })));
    try {
      assert.equal((await control(a!, 'POST', '/_emulator/faults', { id: 'busy', side: 'graph', match: { route: '/nowhere' }, action: { type: 'status', status: 503 } })).status, 201);
      assert.equal((await call(b!, 'GET', `/beta/communications/calls/${NO_CALL}`)).status, 404);
      await waitFor(async () => (await control(a!, 'GET', '/_emulator/requests')).body.value.length === 1, 'b\'s request in the shared journal');
      await waitFor(async () => (await control(b!, 'GET', '/_emulator/faults')).body.value.length === 1, 'the rule on b');

      assert.equal((await control(a!, 'POST', '/_emulator/reset')).status, 204);
      assert.deepEqual((await control(b!, 'GET', '/_emulator/requests')).body.value, []);
      await waitFor(async () => (await control(b!, 'GET', '/_emulator/faults')).body.value.length === 0, 'the rule gone on b too');
      assert.deepEqual(await b!.comp.storage.config.counters('fault:'), new Map());
    } finally {
      await Promise.all([a!.close(), b!.close()]);
      dirs.forEach((d) => d.cleanup());
      await db.drop();
    }
  });

  describe('an injected socket reset', () => {
    let h: ServerHarness;
    before(async () => { h = await startServer(); });
    after(() => h.close());

    test('is in the request journal (no answer), its HAR and the call\'s timeline', async () => {
      const created = await api(h, 'POST', '/beta/communications/calls', p2pCallBody());
      const id = created.body.id as string;
      assert.equal((await api(h, 'POST', '/_emulator/faults', { id: 'cut', side: 'graph', match: { route: `/calls/${id}`, method: 'GET' }, action: { type: 'reset' }, once: true }, { auth: false })).status, 201);
      await assert.rejects(api(h, 'GET', `/beta/communications/calls/${id}`), 'the connection is cut without an answer');

      const entry = await waitFor(async () => (await api(h, 'GET', `/_emulator/requests?callId=${id}`, undefined, { auth: false })).body.value.find((e: any) => e.method === 'GET'), 'the reset request in the journal');
      assert.equal(entry.status, 0);
      assert.equal(entry.injectedFault, 'cut');
      assert.equal(entry.responseBody, null);

      const har = (await api(h, 'GET', `/_emulator/requests/har?callId=${id}`, undefined, { auth: false })).body.log.entries;
      const cut = har.find((e: any) => e.request.method === 'GET');
      assert.equal(cut.response.status, 0);
      assert.match(cut.comment, /injected fault: cut.*no response/);

      const timeline = (await api(h, 'GET', `/_emulator/calls/${id}/timeline`, undefined, { auth: false })).body.value;
      const item = timeline.find((i: any) => i.kind === 'request' && i.label.startsWith('GET'));
      assert.match(item.label, /no answer \(connection reset\)/);
      assert.equal(item.injected, true);
      assert.equal(item.requestSeq, entry.seq, 'the timeline item opens the journal entry');
      const opened = await api(h, 'GET', `/_emulator/requests/${entry.seq}`, undefined, { auth: false });
      assert.equal(opened.body.injectedFault, 'cut');
    });
  });

  test('/ and /_emulator/ lead to the dashboard; with a control token its page (and only its page) loads without the token', async () => {
    const t = await buildHarness({ controlToken: 'sekret' });
    try {
      for (const url of ['/', '/_emulator', '/_emulator/']) {
        const r = await t.comp.app.inject({ method: 'GET', url });
        assert.equal(r.statusCode, 302, url);
        assert.equal(r.headers.location, '/_emulator/ui');
      }
      const page = await t.comp.app.inject({ method: 'GET', url: '/_emulator/ui' });
      assert.equal(page.statusCode, 200);
      assert.match(String(page.headers['content-security-policy']), /default-src 'none'; script-src 'sha256-[^']+'; style-src 'sha256-[^']+'; connect-src 'self'/);
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/calls' })).statusCode, 403);
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/ui/../calls' })).statusCode, 403);
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/calls', headers: { authorization: 'Bearer sekret' } })).statusCode, 200);
      assert.equal((await t.comp.app.inject({ method: 'GET', url: '/_emulator/events', headers: { authorization: 'Bearer wrong' } })).statusCode, 403);
    } finally {
      await t.close();
    }
  });

  test('fault rules and what they have left survive a restart', async () => {
    const data = tempDataDir();
    try {
      let s = await buildHarness({ inMemory: false, dataDir: data.dir });
      assert.equal((await control(s, 'POST', '/_emulator/faults', { id: 'busy', side: 'graph', match: { route: '/communications/calls' }, action: { type: 'status', status: 503 }, count: 3 })).status, 201);
      assert.equal((await call(s, 'GET', `/beta/communications/calls/${NO_CALL}`)).status, 503);
      await s.close();

      s = await buildHarness({ inMemory: false, dataDir: data.dir });
      const [rule] = (await control(s, 'GET', '/_emulator/faults')).body.value;
      assert.equal(rule.id, 'busy');
      assert.equal(rule.fired, 1);
      assert.equal(rule.remaining, 2);
      assert.equal((await call(s, 'GET', `/beta/communications/calls/${NO_CALL}`)).status, 503, 'and it still fires');
      await s.close();
    } finally {
      data.cleanup();
    }
  });

  describe('credentials never reach the journals', () => {
    let h: Harness;
    before(async () => { h = await buildHarness(); });
    after(() => h.close());

    test('a form-encoded token request: client_secret, the issued token and the bearer are redacted, in the journal and its HAR', async () => {
      const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: DEV_APP.clientId, client_secret: DEV_APP.clientSecret, scope: 'https://graph.microsoft.com/.default' });
      const tok = await h.comp.app.inject({ method: 'POST', url: `/${DEV_APP.tenantId}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded;charset=utf-8' }, payload: form.toString() });
      assert.equal(tok.statusCode, 200);
      const issued = JSON.parse(tok.body).access_token as string;
      // A client that sends the form in the query string, too.
      await h.comp.app.inject({ method: 'POST', url: `/${DEV_APP.tenantId}/oauth2/v2.0/token?${form}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' });
      assert.equal((await call(h, 'GET', `/beta/communications/calls/${NO_CALL}`, { auth: `Bearer ${issued}` })).status, 404);

      const journal = JSON.stringify((await control(h, 'GET', '/_emulator/requests')).body);
      const har = JSON.stringify((await control(h, 'GET', '/_emulator/requests/har')).body);
      for (const [name, text] of [['journal', journal], ['HAR', har]] as const) {
        assert.ok(!text.includes(DEV_APP.clientSecret), `${name} holds no client secret`);
        assert.ok(!text.includes(issued), `${name} holds no issued token`);
        assert.ok(!text.includes(issued.split('.')[2]!), `${name} holds no token signature`);
        assert.match(text, /client_secret=%5Bredacted%5D/, `${name} shows the secret was there`);
        assert.match(text, /\\"access_token\\":\\"\[redacted\]\\"/, `${name} shows the token was there`);
        assert.match(text, /"authorization":"Bearer …"|"name":"authorization","value":"Bearer …"/, `${name} keeps only the scheme`);
      }
      const entries = (await control(h, 'GET', '/_emulator/requests/har')).body.log.entries;
      const post = entries.find((e: any) => e.request.method === 'POST' && e.request.postData);
      assert.equal(post.request.postData.mimeType, 'application/x-www-form-urlencoded;charset=utf-8');
      assert.equal(new URLSearchParams(post.request.postData.text).get('client_id'), DEV_APP.clientId, 'what is not secret stays readable');
    });
  });

  test('--apps and --policies entries follow one rule: stored at start (the file wins), kept after a restart without the file', async () => {
    const data = tempDataDir();
    const RECORDER = { tenantId: '12121212-1212-4121-8121-121212121212', clientId: '34343434-3434-4343-8343-343434343434', clientSecret: 'shh', roles: ['Calls.AccessMedia.All'], displayName: 'Recorder from file' };
    const POLICY = { id: 'record-alice', userIds: [ALICE], recorderAppId: RECORDER.clientId, required: false };
    const appsFile = join(data.dir, 'apps.json');
    const policiesFile = join(data.dir, 'policies.json');
    const dataDir = join(data.dir, 'data');
    const apps = async (s: Harness) => (await control(s, 'GET', '/_emulator/apps')).body.value.find((a: any) => a.clientId === RECORDER.clientId);
    const policy = async (s: Harness) => (await control(s, 'GET', '/_emulator/policies')).body.value.find((p: any) => p.id === POLICY.id);
    try {
      writeFileSync(appsFile, JSON.stringify([RECORDER]));
      writeFileSync(policiesFile, JSON.stringify([POLICY]));
      let s = await buildHarness({ inMemory: false, dataDir, appsFile, policiesFile });
      assert.equal((await apps(s))?.displayName, 'Recorder from file');
      assert.ok(await policy(s));
      // Changed through the control plane while running.
      assert.equal((await control(s, 'PATCH', `/_emulator/apps/${RECORDER.clientId}`, { callbackUri: 'http://127.0.0.1:3978/api/calls' })).status, 200);
      await s.close();

      s = await buildHarness({ inMemory: false, dataDir });
      assert.equal((await apps(s))?.displayName, 'Recorder from file', 'the app is kept without the file');
      assert.equal((await apps(s))?.callbackUri, 'http://127.0.0.1:3978/api/calls', 'with the change made through the control plane');
      assert.ok(await policy(s), 'the policy is kept without the file');
      await s.close();

      writeFileSync(appsFile, JSON.stringify([{ ...RECORDER, displayName: 'Recorder, edited' }]));
      writeFileSync(policiesFile, JSON.stringify([{ ...POLICY, required: true }]));
      s = await buildHarness({ inMemory: false, dataDir, appsFile, policiesFile });
      assert.equal((await apps(s))?.displayName, 'Recorder, edited', 'the file wins at start');
      assert.equal((await apps(s))?.callbackUri ?? null, null, 'its entry replaces the stored one whole');
      assert.equal((await policy(s))?.required, true);
      assert.equal((await control(s, 'DELETE', `/_emulator/policies/${POLICY.id}`)).status, 204);
      assert.equal((await control(s, 'DELETE', `/_emulator/apps/${RECORDER.clientId}`)).status, 204);
      await s.close();

      s = await buildHarness({ inMemory: false, dataDir });
      assert.equal(await apps(s), undefined, 'removed stays removed without the file');
      assert.equal(await policy(s), undefined);
      await s.close();
    } finally {
      data.cleanup();
    }
  });
});
