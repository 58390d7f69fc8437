import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CLIENT_ID, meetingCallBody, p2pCallBody, startServer, type ServerHarness } from '../support/harness.js';
import { api, createCall, waitForState } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

const summary = (r: Receiver, callId: string) => r.forCall(callId).map((n) => `${n.changeType} ${n.resourceUrl.replace(callId, 'ID')} ${n.resourceData.state ?? ''}`.trim());

describe('the far side: hang-up, meeting end, join, leave, mute', () => {
  let h: ServerHarness;
  let bot: Receiver;
  before(async () => {
    h = await startServer();
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
  });
  after(async () => {
    await h.close();
    await bot.close();
  });

  test('the other party hangs up a P2P call: only `deleted`, {200, 4521}, then the call is gone', async () => {
    const call = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, call.id, 'established');
    await bot.waitForCount(3, { callId: call.id });
    const res = await api(h, 'POST', `/_emulator/calls/${call.id}/hangUp`, undefined, { auth: false });
    assert.equal(res.status, 200);
    const got = await bot.waitForCount(4, { callId: call.id });
    assert.deepEqual(summary(bot, call.id), [
      `updated /communications/calls/ID establishing`,
      `updated /communications/calls/ID established`,
      `updated /communications/calls/ID/participants`,
      `deleted /communications/calls/ID terminated`,
    ]);
    assert.deepEqual(got[3]!.resourceData.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 4521, message: 'Call ended by the other participant in peer-to-peer call.' });
    assert.equal((await api(h, 'GET', `/beta/communications/calls/${call.id}`)).status, 404);
    assert.equal((await api(h, 'POST', `/_emulator/calls/${call.id}/hangUp`, undefined, { auth: false })).status, 404);
  });

  test('the meeting ends: `deleted` with {200, 5001}', async () => {
    const call = await createCall(h, meetingCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, call.id, 'established');
    await api(h, 'POST', `/_emulator/calls/${call.id}/hangUp`, undefined, { auth: false });
    const got = await bot.waitForCount(4, { callId: call.id });
    assert.equal(got[3]!.changeType, 'deleted');
    assert.equal(got[3]!.resourceData.resultInfo.subcode, 5001);
  });

  test('join, mute and leave each send a roster update; the last P2P peer leaving ends the call', async () => {
    const call = await createCall(h, meetingCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, call.id, 'established');
    await bot.waitForCount(3, { callId: call.id });
    const joined = await api(h, 'POST', `/_emulator/calls/${call.id}/participants`, { id: 'dave-id', displayName: 'Dave' }, { auth: false });
    assert.equal(joined.status, 201);
    assert.equal(joined.body.info.identity.user.displayName, 'Dave');
    let roster = (await bot.waitForCount(4, { callId: call.id }))[3]!;
    assert.equal(roster.resourceUrl, `/communications/calls/${call.id}/participants`);
    assert.deepEqual(roster.resourceData.slice(1).map((p: any) => p.info.identity.user.displayName), ['Bob Organizer', 'Dave']);

    const muted = await api(h, 'POST', `/_emulator/calls/${call.id}/participants/${joined.body.id}/mute`, { isMuted: true }, { auth: false });
    assert.equal(muted.body.isMuted, true);
    roster = (await bot.waitForCount(5, { callId: call.id }))[4]!;
    assert.equal(roster.resourceData.find((p: any) => p.id === joined.body.id).isMuted, true);

    assert.equal((await api(h, 'DELETE', `/_emulator/calls/${call.id}/participants/${joined.body.id}`, undefined, { auth: false })).status, 204);
    roster = (await bot.waitForCount(6, { callId: call.id }))[5]!;
    assert.equal(roster.resourceData.length, 2, 'Dave left the meeting; the meeting goes on');
    const parts = await api(h, 'GET', `/beta/communications/calls/${call.id}/participants`);
    assert.equal(parts.body.value.length, 2);

    const p2p = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, p2p.id, 'established');
    const peer = (await api(h, 'GET', `/beta/communications/calls/${p2p.id}/participants`)).body.value[1];
    await api(h, 'DELETE', `/_emulator/calls/${p2p.id}/participants/${peer.id}`, undefined, { auth: false });
    const last = (await bot.waitForCount(4, { callId: p2p.id }))[3]!;
    assert.equal(last.changeType, 'deleted');
    assert.equal(last.resourceData.state, 'terminated');
  });

  test('far-side actions on unknown calls or participants are Graph errors', async () => {
    const r = await api(h, 'POST', '/_emulator/calls/00000000-0000-4000-8000-00000000beef/participants', {}, { auth: false });
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, '8522');
    const call = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, call.id, 'established');
    const m = await api(h, 'POST', `/_emulator/calls/${call.id}/participants/nobody/mute`, { isMuted: 'yes' }, { auth: false });
    assert.equal(m.status, 400);
    const l = await api(h, 'DELETE', `/_emulator/calls/${call.id}/participants/nobody`, undefined, { auth: false });
    assert.equal(l.status, 404);
  });
});
