import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, CLIENT_ID, meetingCallBody, p2pCallBody, TENANT, waitFor, type Harness } from '../support/harness.js';
import { call, establishedCall } from '../support/inject.js';

const JSON_CT = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('calls', () => {
  let h: Harness;
  before(async () => { h = await buildHarness(); });
  after(() => h.close());

  test('POST /communications/calls: 201, Location, the call in establishing, Graph headers', async () => {
    const res = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody({ subject: 'hello' }) });
    assert.equal(res.status, 201);
    const b = res.body;
    assert.match(b.id, GUID);
    assert.equal(res.headers.location, `http://localhost:80/beta/communications/calls/${b.id}`);
    assert.equal(res.headers['content-type'], JSON_CT);
    assert.match(String(res.headers['request-id']), GUID);
    assert.equal(res.headers['client-request-id'], res.headers['request-id']);
    assert.ok(res.headers['x-ms-ags-diagnostic']);
    assert.equal(b['@odata.context'], 'http://localhost:80/beta/$metadata#communications/calls/$entity');
    assert.equal(b['@odata.type'], '#microsoft.graph.call');
    assert.equal(b.state, 'establishing');
    assert.equal(b.direction, 'outgoing');
    assert.equal(b.tenantId, TENANT);
    assert.equal(b.subject, 'hello');
    assert.match(b.myParticipantId, GUID);
    assert.match(b.callChainId, GUID);
    assert.deepEqual(b.requestedModalities, ['audio']);
    assert.deepEqual(b.mediaConfig, { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' });
    assert.equal(b.targets[0]['@odata.type'], '#microsoft.graph.invitationParticipantInfo');
    assert.equal(b.targets[0].identity.user.displayName, 'Alice');
    assert.equal(b.source.identity.application.id, CLIENT_ID);
    assert.equal(b.resultInfo, null);
    assert.equal(b.terminationReason, null, 'beta-only members appear on beta');
  });

  test('v1.0 bodies leave out beta-only members', async () => {
    const res = await call(h, 'POST', '/v1.0/communications/calls', { body: p2pCallBody() });
    assert.equal(res.status, 201);
    assert.equal(res.headers.location, `http://localhost:80/v1.0/communications/calls/${res.body.id}`);
    for (const k of ['terminationReason', 'activeModalities', 'answeredBy', 'ringingTimeoutInSeconds']) assert.ok(!(k in res.body), k);
  });

  test('the far side answers: established, with the bot and the callee as participants', async () => {
    const id = await establishedCall(h, p2pCallBody());
    const got = await call(h, 'GET', `/beta/communications/calls/${id}`);
    assert.equal(got.body.state, 'established');
    assert.deepEqual(got.body.activeModalities, ['audio']);
    const parts = await call(h, 'GET', `/beta/communications/calls/${id}/participants`);
    assert.equal(parts.status, 200);
    assert.equal(parts.body['@odata.context'], `http://localhost:80/beta/$metadata#communications/calls('${id}')/participants`);
    assert.equal(parts.body.value.length, 2);
    const [bot, alice] = parts.body.value;
    assert.equal(bot.id, got.body.myParticipantId);
    assert.equal(bot['@odata.type'], '#microsoft.graph.participant');
    assert.equal(bot.info.identity.application.id, CLIENT_ID);
    assert.deepEqual(bot.recordingInfo, { '@odata.type': '#microsoft.graph.recordingInfo', recordingStatus: 'notRecording', initiator: null });
    assert.equal(alice.info.identity.user.displayName, 'Alice');
    assert.equal(alice.isMuted, false);
    assert.equal(alice.isInLobby, false);
    const one = await call(h, 'GET', `/beta/communications/calls/${id}/participants/${alice.id.toUpperCase()}`);
    assert.equal(one.status, 200);
    assert.equal(one.body.id, alice.id);
    assert.equal(one.body['@odata.context'], `http://localhost:80/beta/$metadata#communications/calls('${id}')/participants/$entity`);
    const missing = await call(h, 'GET', `/beta/communications/calls/${id}/participants/00000000-0000-4000-8000-00000000dead`);
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'itemNotFound');
  });

  test('meeting join: the organizer is in the roster; joinMeetingId needs no chatInfo', async () => {
    const id = await establishedCall(h, meetingCallBody());
    const parts = await call(h, 'GET', `/beta/communications/calls/${id}/participants`);
    assert.equal(parts.body.value[1].info.identity.user.displayName, 'Bob Organizer');
    const got = await call(h, 'GET', `/beta/communications/calls/${id}`);
    assert.equal(got.body.meetingInfo['@odata.type'], '#microsoft.graph.organizerMeetingInfo');
    assert.equal(got.body.chatInfo.threadId, '19:meeting_abc@thread.v2');
    const byId = await call(h, 'POST', '/beta/communications/calls', {
      body: meetingCallBody({ chatInfo: undefined, meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: '1234567890', passcode: null } }),
    });
    assert.equal(byId.status, 201);
  });

  test('ids are case-insensitive', async () => {
    const id = await establishedCall(h, p2pCallBody());
    const got = await call(h, 'GET', `/beta/communications/calls/${id.toUpperCase()}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.id, id);
  });

  test('DELETE: 204, terminating, then terminated and gone (404 8522)', async () => {
    const id = await establishedCall(h, p2pCallBody());
    const del = await call(h, 'DELETE', `/beta/communications/calls/${id}`);
    assert.equal(del.status, 204);
    assert.equal(del.raw, '');
    assert.ok(del.headers['request-id']);
    const during = await call(h, 'GET', `/beta/communications/calls/${id}`);
    assert.ok(['terminating', undefined].includes(during.body.state) || during.status === 404);
    await waitFor(async () => (await call(h, 'GET', `/beta/communications/calls/${id}`)).status === 404, 'call to be gone');
    const gone = await call(h, 'GET', `/beta/communications/calls/${id}`);
    assert.deepEqual({ status: gone.status, code: gone.body.error.code, message: gone.body.error.message }, { status: 404, code: '8522', message: 'Call not found.' });
    const again = await call(h, 'DELETE', `/beta/communications/calls/${id}`);
    assert.equal(again.status, 404);
    const outbox = (await h.comp.store.listOutbox({ callId: id, limit: 50 }));
    const last = outbox.at(-1)!;
    assert.equal(last.changeType, 'deleted');
    assert.deepEqual((last.resourceData as any).resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 5001, message: 'The conversation has ended.' });
  });

  test('a hang-up before the far side answers ends the call without establishing it', async () => {
    const slow = await buildHarness({ answerDelayMs: 5000 });
    try {
      const created = await call(slow, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
      assert.equal((await call(slow, 'DELETE', `/beta/communications/calls/${created.body.id}`)).status, 204);
      await waitFor(async () => (await call(slow, 'GET', `/beta/communications/calls/${created.body.id}`)).status === 404, 'termination');
      const states = (await slow.comp.store.listOutbox({ callId: created.body.id, limit: 20 })).map((n) => (n.resourceData as any).state);
      assert.deepEqual(states, ['establishing', 'terminating', 'terminated']);
    } finally {
      await slow.close();
    }
  });

  test("another app's or tenant's call is 404, never 403", async () => {
    // A second app in the same tenant, registered through --apps.
    const other = { clientId: '33333333-3333-4333-8333-333333333333' };
    const { writeFileSync, mkdtempSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'gc-apps-'));
    const file = join(dir, 'apps.json');
    writeFileSync(file, JSON.stringify([{ tenantId: TENANT, clientId: other.clientId, clientSecret: 'x', roles: ['Calls.JoinGroupCall.All', 'Calls.Initiate.All'] }]));
    const h2 = await buildHarness({ appsFile: file });
    try {
      const mine = await establishedCall(h2, p2pCallBody());
      const tokenRes = await h2.comp.app.inject({ method: 'POST', url: `/${TENANT}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=client_credentials&client_id=${other.clientId}&client_secret=x&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default` });
      const otherAuth = `Bearer ${JSON.parse(tokenRes.body).access_token}`;
      for (const [m, u] of [['GET', ''], ['DELETE', ''], ['POST', '/startRecording'], ['GET', '/participants'], ['GET', '/operations']] as const) {
        const r = await call(h2, m, `/beta/communications/calls/${mine}${u}`, { auth: otherAuth });
        assert.equal(r.status, 404, `${m} ${u}`);
        assert.equal(r.body.error.code, '8522');
      }
      assert.equal((await call(h2, 'GET', `/beta/communications/calls/${mine}`)).body.state, 'established', 'untouched');
    } finally {
      await h2.close();
    }
  });

  test('operations list pages with @odata.nextLink', async () => {
    const id = await establishedCall(h, p2pCallBody());
    for (let i = 0; i < 3; i++) {
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`, { body: { clientContext: `s${i}` } })).status, 202);
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`, { body: { clientContext: `e${i}` } })).status, 202);
    }
    const seen: string[] = [];
    let url: string | undefined = `/beta/communications/calls/${id}/operations?$top=4`;
    let pages = 0;
    while (url) {
      const page = await call(h, 'GET', url);
      assert.equal(page.status, 200);
      seen.push(...page.body.value.map((o: any) => o.clientContext));
      const next = page.body['@odata.nextLink'] as string | undefined;
      url = next ? next.replace('http://localhost:80', '') : undefined;
      pages++;
    }
    assert.equal(pages, 2);
    assert.deepEqual(seen, ['s0', 'e0', 's1', 'e1', 's2', 'e2']);
    const bad = await call(h, 'GET', `/beta/communications/calls/${id}/operations?$top=0`);
    assert.equal(bad.status, 400);
  });
});
