import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_ID, startServer, TENANT, type ServerHarness } from '../support/harness.js';
import { api, waitForState } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

const MEDIA = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
const answerBody = (extra: Record<string, unknown> = {}) => ({ acceptedModalities: ['audio'], mediaConfig: MEDIA, ...extra });

describe('incoming calls: created, then answer, reject, redirect or timeout', () => {
  let h: ServerHarness;
  let bot: Receiver;
  before(async () => {
    // Incoming calls here ring until answered, however slow the machine; the timeout has a test (and a
    // server) of its own.
    h = await startServer({ incomingTimeoutMs: 120_000 });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
    const reg = await api(h, 'PATCH', `/_emulator/apps/${CLIENT_ID}`, { callbackUri: bot.callbackUri }, { auth: false });
    assert.equal(reg.status, 200);
    assert.equal(reg.body.callbackUri, bot.callbackUri);
  });
  after(async () => {
    await h.close();
    await bot.close();
  });

  const ring = async (from = { id: 'carol-id', displayName: 'Carol' }) => {
    const res = await api(h, 'POST', '/_emulator/calls/incoming', { from }, { auth: false });
    assert.equal(res.status, 201);
    return res.body.id as string;
  };

  test('the bot gets `created` with the incoming call at its registered webhook, then answers it', async () => {
    const id = await ring();
    const [created] = await bot.waitForCount(1, { callId: id });
    assert.equal(created!.changeType, 'created');
    assert.equal(created!.resourceUrl, `/communications/calls/${id}`);
    const c = created!.resourceData;
    assert.equal(c['@odata.type'], '#microsoft.graph.call');
    assert.equal(c.state, 'incoming');
    assert.equal(c.direction, 'incoming');
    assert.equal(c.tenantId, TENANT);
    assert.match(c.myParticipantId, /^[0-9a-f-]{36}$/);
    assert.equal(c.source.identity.user.displayName, 'Carol');
    assert.equal(c.targets[0].identity.application.id, CLIENT_ID);
    assert.deepEqual(c.requestedModalities, ['audio']);

    const answered = await api(h, 'POST', `/v1.0/communications/calls/${id}/answer`, answerBody({ callbackUri: `${bot.url}/answered` }));
    assert.equal(answered.status, 202);
    assert.equal(answered.body, undefined, 'answer has no response body');
    await waitForState(h, id, 'established');
    const got = await bot.waitForCount(4, { callId: id });
    assert.deepEqual(got.map((n) => `${n.changeType} ${n.resourceData.state ?? 'roster'}`), ['created incoming', 'updated establishing', 'updated established', 'updated roster']);
    assert.deepEqual(got.slice(1).map((n) => n.path), ['/answered', '/answered', '/answered'], 'answer.callbackUri re-homes later notifications');
    assert.deepEqual(got[3]!.resourceData.map((p: any) => p.info.identity.user?.displayName ?? p.info.identity.application?.id), [CLIENT_ID, 'Carol']);
    // An answered call is a normal call: recording works on it.
    assert.equal((await api(h, 'POST', `/beta/communications/calls/${id}/startRecording`, {})).status, 202);
    const again = await api(h, 'POST', `/beta/communications/calls/${id}/answer`, answerBody());
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /incoming/);
  });

  test('reject: 202, then `deleted` with the call terminated', async () => {
    const id = await ring();
    await bot.waitForCount(1, { callId: id });
    const res = await api(h, 'POST', `/beta/communications/calls/${id}/reject`, { reason: 'busy' });
    assert.equal(res.status, 202);
    const got = await bot.waitForCount(2, { callId: id });
    assert.equal(got[1]!.changeType, 'deleted');
    assert.equal(got[1]!.resourceData.state, 'terminated');
    assert.equal((await api(h, 'GET', `/beta/communications/calls/${id}`)).status, 404);
    const badReason = await api(h, 'POST', `/beta/communications/calls/${await ring()}/reject`, { reason: 'sleepy' });
    assert.equal(badReason.status, 400);
    assert.match(badReason.body.error.message, /'sleepy'.*reason/);
  });

  test('redirect: 202, then `deleted` with the call terminated and {200, 7000}', async () => {
    const id = await ring();
    await bot.waitForCount(1, { callId: id });
    const res = await api(h, 'POST', `/beta/communications/calls/${id}/redirect`, {
      targets: [{ identity: { user: { id: 'erin-id', displayName: 'Erin' } } }], timeout: 30,
    });
    assert.equal(res.status, 202);
    const got = await bot.waitForCount(2, { callId: id });
    assert.equal(got[1]!.changeType, 'deleted');
    assert.equal(got[1]!.resourceData.resultInfo.subcode, 7000);
    const noTargets = await api(h, 'POST', `/beta/communications/calls/${await ring()}/redirect`, { targets: [] });
    assert.equal(noTargets.status, 400);
    assert.match(noTargets.body.error.message, /'targets'/);
  });

  test('unanswered within the timeout: the call ends with {408, 10057}', async () => {
    const s = await startServer({ incomingTimeoutMs: 400 });
    const sBot = await startReceiver({ graphCallsUrl: s.url, appId: CLIENT_ID });
    try {
      assert.equal((await api(s, 'PATCH', `/_emulator/apps/${CLIENT_ID}`, { callbackUri: sBot.callbackUri }, { auth: false })).status, 200);
      const res = await api(s, 'POST', '/_emulator/calls/incoming', { from: { id: 'carol-id', displayName: 'Carol' } }, { auth: false });
      assert.equal(res.status, 201);
      const id = res.body.id as string;
      const got = await sBot.waitForCount(2, { callId: id, timeoutMs: 10_000 });
      assert.equal(got[1]!.changeType, 'deleted');
      assert.deepEqual([got[1]!.resourceData.resultInfo.code, got[1]!.resourceData.resultInfo.subcode], [408, 10057]);
      const late = await api(s, 'POST', `/beta/communications/calls/${id}/answer`, answerBody());
      assert.equal(late.status, 404);
    } finally {
      await s.close();
      await sBot.close();
    }
  });

  test('the caller gives up before the bot answers', async () => {
    const id = await ring();
    await bot.waitForCount(1, { callId: id });
    await api(h, 'POST', `/_emulator/calls/${id}/hangUp`, undefined, { auth: false });
    const got = await bot.waitForCount(2, { callId: id });
    assert.equal(got[1]!.changeType, 'deleted');
  });

  test('bad answers are Graph errors and change nothing', async () => {
    const id = await ring();
    await bot.waitForCount(1, { callId: id });
    const missing = await api(h, 'POST', `/beta/communications/calls/${id}/answer`, { mediaConfig: MEDIA });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /'acceptedModalities'/);
    const untyped = await api(h, 'POST', `/beta/communications/calls/${id}/answer`, answerBody({ mediaConfig: {} }));
    assert.equal(untyped.status, 400);
    const badUri = await api(h, 'POST', `/beta/communications/calls/${id}/answer`, answerBody({ callbackUri: 'http://example.com/x' }));
    assert.equal(badUri.status, 400);
    assert.equal((await api(h, 'GET', `/beta/communications/calls/${id}`)).body.state, 'incoming');
    const unknownApp = await api(h, 'POST', '/_emulator/calls/incoming', { appId: '99999999-9999-4999-8999-999999999999' }, { auth: false });
    assert.equal(unknownApp.status, 400);
  });
});
