/**
 * Roster control on the virtual clock, through app.inject: mute/unmute, participants/{id}/mute, beta muteAll,
 * invite (with replacesCallId), DELETE participants/{id} (also of an invitee not yet in the roster), hold
 * music (heard in the recording), changeScreenSharingRole, addLargeGalleryView, audioRoutingGroups and
 * contentSharingSessions — the exact wire shapes, the notification sequences as committed to the outbox, and
 * every bad input or wrong state answered with a clear Graph error that changes nothing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, meetingCallBody, p2pCallBody, waitFor, type Harness } from '../support/harness.js';
import { call, snapshot } from '../support/inject.js';
import { goertzel } from '../support/audio.js';
import { wavHeader } from '../../src/media/wav.js';

const RATE = 16_000;
const BASE = 'http://localhost:80';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUPERVISOR = '278405a3-f568-4b3e-b684-009193463064';

const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });

/** What the bot was sent for a call, oldest first: `changeType resource-suffix`. */
async function sent(h: Harness, callId: string): Promise<Array<{ changeType: string; resourceUrl: string; resourceData: any }>> {
  return (await h.comp.store.listOutbox({ callId, limit: 1000 })).map((n) => ({ changeType: n.changeType, resourceUrl: n.resourceUrl, resourceData: n.resourceData as any }));
}
const after_ = async (h: Harness, callId: string, n: number) => (await sent(h, callId)).slice(n);

async function established(h: Harness, body: Record<string, unknown>): Promise<{ id: string; bot: any; others: any[] }> {
  const created = await call(h, 'POST', '/beta/communications/calls', { body });
  assert.equal(created.status, 201, created.raw);
  await advance(h, 1000);
  const got = await call(h, 'GET', `/beta/communications/calls/${created.body.id}`);
  assert.equal(got.body.state, 'established');
  const roster = (await call(h, 'GET', `/beta/communications/calls/${created.body.id}/participants`)).body.value;
  return { id: created.body.id, bot: roster.find((p: any) => p.id === got.body.myParticipantId), others: roster.filter((p: any) => p.id !== got.body.myParticipantId) };
}

const appHosted = { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '<media config blob>' };
const invitee = (id: string, extra: Record<string, unknown> = {}) => ({
  '@odata.type': '#microsoft.graph.invitationParticipantInfo',
  identity: { '@odata.type': '#microsoft.graph.identitySet', user: { '@odata.type': '#microsoft.graph.identity', id, identityProvider: 'AAD' } },
  ...extra,
});

/** One mixed recording of a meeting call, fetched whole. */
async function recordingOf(h: Harness, callId: string): Promise<Int16Array> {
  const [rec] = await waitFor(async () => {
    await advance(h, 0);
    const l = (await control(h, 'GET', `/_emulator/calls/${callId}/recordings`)).body.value;
    return l.length ? l : null;
  }, `recording of ${callId}`, 20_000);
  const res = await h.comp.app.inject({ method: 'GET', url: `/beta${rec.path}/content`, headers: { authorization: h.auth } });
  assert.equal(res.statusCode, 200);
  const b = res.rawPayload.subarray(44);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}
/** Power of `f` Hz in seconds [from, to) of a 16 kHz recording. */
const power = (x: Int16Array, from: number, to: number, f: number) => goertzel(x, from * RATE, to * RATE, f, RATE);

describe('roster control (virtual clock)', () => {
  let h: Harness;
  before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 }); });
  after(() => h.close());

  test('self mute / unmute: 200 with a completed operation and Location, roster updates with isMuted, idempotent', async () => {
    const c = await established(h, meetingCallBody());
    const n0 = (await sent(h, c.id)).length;
    const res = await call(h, 'POST', `/v1.0/communications/calls/${c.id}/mute`, { body: { clientContext: 'mute-1' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.location, `${BASE}/v1.0/communications/calls/${c.id}/operations/${res.body.id}`);
    assert.deepEqual(res.body, {
      '@odata.context': `${BASE}/v1.0/$metadata#muteParticipantOperation`,
      '@odata.type': '#microsoft.graph.muteParticipantOperation',
      id: res.body.id, clientContext: 'mute-1', status: 'completed',
      resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' },
    });
    assert.match(res.body.id, GUID);
    let news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => `${n.changeType} ${n.resourceUrl}`), [`updated /communications/calls/${c.id}/participants`]);
    assert.equal(news[0]!.resourceData.find((p: any) => p.id === c.bot.id).isMuted, true);
    assert.equal(news[0]!.resourceData.find((p: any) => p.id !== c.bot.id).isMuted, false);
    // Muting again changes nothing but still answers (and sends the unchanged roster, as Graph's update would).
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${c.id}/microsoft.graph.mute`)).status, 200);
    const un = await call(h, 'POST', `/beta/communications/calls/${c.id}/unmute`, { body: {} });
    assert.equal(un.status, 200);
    assert.equal(un.body['@odata.type'], '#microsoft.graph.unmuteParticipantOperation');
    assert.equal(un.body.clientContext, null);
    news = await after_(h, c.id, n0);
    assert.equal(news.at(-1)!.resourceData.find((p: any) => p.id === c.bot.id).isMuted, false);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${c.id}/operations/${un.body.id}`)).body.status, 'completed');
    const timeline = (await h.comp.store.listMediaEvents(c.id)).filter((e) => e.kind === 'mute');
    assert.deepEqual(timeline.map((e) => [e.participantId, e.muted]), [[c.bot.id, true], [c.bot.id, false]], 'one mute event per change');
  });

  test('mute: wrong state, unknown call, bad clientContext — clear errors, nothing changed', async () => {
    const slow = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    const before_ = await snapshot(h, slow);
    const r = await call(h, 'POST', `/beta/communications/calls/${slow}/mute`);
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /mute.*establishing/);
    assert.equal(await snapshot(h, slow), before_);
    const c = await established(h, meetingCallBody());
    const s = await snapshot(h, c.id);
    const long = await call(h, 'POST', `/beta/communications/calls/${c.id}/mute`, { body: { clientContext: 'x'.repeat(257) } });
    assert.equal(long.status, 400);
    assert.match(long.body.error.message, /clientContext/);
    const typed = await call(h, 'POST', `/beta/communications/calls/${c.id}/unmute`, { body: { clientContext: 5 } });
    assert.equal(typed.status, 400);
    assert.equal(await snapshot(h, c.id), s);
    const gone = await call(h, 'POST', '/beta/communications/calls/00000000-0000-4000-8000-000000000000/mute');
    assert.deepEqual([gone.status, gone.body.error.code], [404, '8522']);
    await advance(h, 1000);
  });

  test('participants/{id}/mute mutes that participant; unknown participant 404; muteAll is beta only', async () => {
    const c = await established(h, meetingCallBody());
    const dave = (await control(h, 'POST', `/_emulator/calls/${c.id}/participants`, { displayName: 'Dave' })).body;
    const res = await call(h, 'POST', `/v1.0/communications/calls/${c.id}/participants/${c.others[0].id.toUpperCase()}/mute`, { body: { clientContext: 'd45324c1' } });
    assert.equal(res.status, 200);
    assert.equal(res.body['@odata.type'], '#microsoft.graph.muteParticipantOperation');
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${c.id}/participants/${c.others[0].id}`)).body.isMuted, true);
    const s = await snapshot(h, c.id);
    const missing = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/00000000-0000-4000-8000-000000000000/mute`);
    assert.equal(missing.status, 404);
    assert.equal(await snapshot(h, c.id), s);

    const v1 = await call(h, 'POST', `/v1.0/communications/calls/${c.id}/participants/muteAll`, { body: { participants: [dave.id] } });
    assert.deepEqual([v1.status, v1.body.error.message], [400, "Resource not found for the segment 'muteAll'."]);
    const all = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/muteAll`, { body: { participants: [''], clientContext: 'all' } });
    assert.equal(all.status, 200);
    assert.equal(all.body['@odata.type'], '#microsoft.graph.muteParticipantsOperation');
    assert.deepEqual(all.body.participants.sort(), [c.others[0].id, dave.id].sort(), 'everyone but the bot');
    const roster = (await call(h, 'GET', `/beta/communications/calls/${c.id}/participants`)).body.value;
    assert.deepEqual(roster.map((p: any) => p.isMuted), [false, true, true]);
  });

  test('invite one participant: running operation with participants, then completed and a roster update', async () => {
    const c = await established(h, meetingCallBody());
    const n0 = (await sent(h, c.id)).length;
    const res = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/invite`, {
      body: { participants: [invitee(SUPERVISOR)], clientContext: 'f2fa86af' },
    });
    assert.equal(res.status, 200, res.raw);
    assert.equal(res.headers.location, `${BASE}/beta/communications/calls/${c.id}/operations/${res.body.id}`);
    assert.equal(res.body['@odata.context'], `${BASE}/beta/$metadata#inviteParticipantsOperation`);
    assert.equal(res.body['@odata.type'], '#microsoft.graph.inviteParticipantsOperation');
    assert.equal(res.body.status, 'running');
    assert.equal(res.body.resultInfo, null);
    const [p] = res.body.participants;
    assert.equal(p['@odata.type'], '#microsoft.graph.invitationParticipantInfo');
    assert.equal(p.identity.user.id, SUPERVISOR);
    assert.match(p.participantId, GUID);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${c.id}/participants`)).body.value.length, 2, 'not in the roster before answering');
    assert.deepEqual(await after_(h, c.id, n0), []);

    await advance(h, 1000);
    const news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => `${n.changeType} ${n.resourceUrl}`), [
      `deleted /communications/calls/${c.id}/operations/${res.body.id}`,
      `updated /communications/calls/${c.id}/participants`,
    ]);
    assert.equal(news[0]!.resourceData.status, 'completed');
    assert.equal(news[0]!.resourceData.participants[0].identity.user.id, SUPERVISOR);
    const joined = news[1]!.resourceData.find((x: any) => x.id === p.participantId);
    assert.equal(joined.info.identity.user.id, SUPERVISOR);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${c.id}/participants/${p.participantId}`)).status, 200);
  });

  test('invite: an invitee whose far-side behaviour declines never joins; the operation fails with the refusal', async () => {
    const DECLINER = '5ad1e000-0000-4000-8000-00000000de11';
    assert.equal((await control(h, 'PUT', `/_emulator/far-side/${DECLINER}`, { response: 'decline', afterMs: 2000 })).status, 200);
    const c = await established(h, meetingCallBody());
    const n0 = (await sent(h, c.id)).length;
    const res = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/invite`, { body: { participants: [invitee(DECLINER)] } });
    assert.equal(res.status, 200, res.raw);
    await advance(h, 1999);
    assert.deepEqual(await after_(h, c.id, n0), [], 'still ringing');
    await advance(h, 1);
    const news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => `${n.changeType} ${n.resourceUrl}`), [`deleted /communications/calls/${c.id}/operations/${res.body.id}`]);
    assert.equal(news[0]!.resourceData.status, 'failed');
    assert.deepEqual([news[0]!.resourceData.resultInfo.code, news[0]!.resourceData.resultInfo.subcode], [603, 0]);
    const roster = (await call(h, 'GET', `/beta/communications/calls/${c.id}/participants`)).body.value;
    assert.ok(!roster.some((x: any) => x.info.identity.user?.id === DECLINER), 'the decliner is not in the roster');
    assert.equal((await control(h, 'DELETE', `/_emulator/far-side/${DECLINER}`)).status < 300, true);
  });

  test('invite: a user recorded by a compliance policy brings the recorder in when they join', async () => {
    const RECORDED = '7a7a7a7a-2222-4222-8222-22222222c0de';
    const app = await control(h, 'POST', '/_emulator/apps', { tenantId: '00000000-0000-4000-8000-000000000001', clientId: 'c0c0c0c0-0000-4000-8000-00000000ec0d', clientSecret: 'recorder-secret', roles: ['Calls.AccessMedia.All', 'Calls.JoinGroupCall.All'] });
    assert.equal(app.status, 201, app.raw);
    const policy = await control(h, 'PUT', '/_emulator/policies/record-invitee', { name: 'Record the invitee', userIds: [RECORDED], recorderAppId: 'c0c0c0c0-0000-4000-8000-00000000ec0d', required: false });
    assert.equal(policy.status, 200, policy.raw);
    try {
      const c = await established(h, meetingCallBody());
      const before = await h.comp.store.write((tx) => tx.observingCalls(c.id));
      assert.deepEqual(before, []);
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/invite`, { body: { participants: [invitee(RECORDED)] } })).status, 200);
      assert.deepEqual(await h.comp.store.write((tx) => tx.observingCalls(c.id)), [], 'no recorder before the invitee joins');
      await advance(h, 1000);
      const invites = await h.comp.store.write((tx) => tx.observingCalls(c.id));
      assert.equal(invites.length, 1, 'one policy invite to the recorder');
      const invite = (await h.comp.store.getCall(invites[0]!))!;
      assert.equal(invite.appId, 'c0c0c0c0-0000-4000-8000-00000000ec0d');
      assert.equal(invite.isComplianceRecording, true);
    } finally {
      await control(h, 'DELETE', '/_emulator/policies/record-invitee');
      await control(h, 'DELETE', '/_emulator/apps/c0c0c0c0-0000-4000-8000-00000000ec0d');
    }
  });

  test('invite several participants to a group call: one operation, completed once the last invitee answers', async () => {
    const c = await established(h, meetingCallBody());
    const ids = ['7e1b4346-85a6-4bdd-abe3-d11c5d420efe', '1e126418-44a0-4a94-a6f8-0efe1ad71acb'];
    const six = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/invite`, { body: { participants: Array.from({ length: 6 }, (_, i) => invitee(`u${i}`)) } });
    assert.equal(six.status, 400);
    assert.match(six.body.error.message, /at most 5/);
    const res = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/invite`, { body: { participants: ids.map((id) => invitee(id)) } });
    assert.equal(res.status, 200, res.raw);
    assert.deepEqual(res.body.participants.map((x: any) => x.identity.user.id), ids);
    // The first invitee declines to wait: cancelled; the operation goes on for the other one.
    const n0 = (await sent(h, c.id)).length;
    assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${c.id}/participants/${res.body.participants[0].participantId}`)).status, 204);
    assert.deepEqual(await after_(h, c.id, n0), [], 'no failure while an invitee is still pending');
    await advance(h, 1000);
    const news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => n.changeType), ['deleted', 'updated']);
    assert.equal(news[0]!.resourceData.status, 'completed');
    const roster = news[1]!.resourceData.map((x: any) => x.info.identity.user?.id);
    assert.ok(roster.includes(ids[1]) && !roster.includes(ids[0]));
  });

  test('invite with replacesCallId merges a peer-to-peer call into the group call: the P2P call ends', async () => {
    const p2p = await established(h, p2pCallBody());
    const group = await established(h, meetingCallBody());
    const alice = p2p.others[0].info.identity.user.id;
    const res = await call(h, 'POST', `/v1.0/communications/calls/${group.id}/participants/invite`, {
      body: { participants: [invitee(alice, { replacesCallId: p2p.id.toUpperCase() })] },
    });
    assert.equal(res.status, 200, res.raw);
    assert.equal(res.body.participants[0].replacesCallId, p2p.id);
    await advance(h, 1000);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${p2p.id}`)).status, 404);
    const end = (await sent(h, p2p.id)).at(-1)!;
    assert.equal(end.changeType, 'deleted');
    assert.deepEqual([end.resourceData.state, end.resourceData.resultInfo.code, end.resourceData.resultInfo.subcode], ['terminated', 200, 18503]);
    const roster = (await call(h, 'GET', `/beta/communications/calls/${group.id}/participants`)).body.value;
    assert.ok(roster.some((x: any) => x.info.identity.user?.id === alice));
  });

  test('invite: bad inputs are refused and change nothing', async () => {
    const p2p = await established(h, p2pCallBody());
    const s = await snapshot(h, p2p.id);
    const cases: Array<[unknown, RegExp]> = [
      [{ participants: [invitee(SUPERVISOR), invitee('1e126418-44a0-4a94-a6f8-0efe1ad71acb')] }, /group calls only/],
      [{ participants: [] }, /participants/],
      [{}, /participants/],
      [{ participants: [{ identity: {} }] }, /participants\[0\]\.identity/],
      [{ participants: [{ identity: { application: { id: 'other-bot' } } }] }, /another bot/],
      [{ participants: [invitee(SUPERVISOR, { replacesCallId: '00000000-0000-4000-8000-000000000000' })] }, /replacesCallId/],
      [{ participants: [invitee(SUPERVISOR, { replacesCallId: p2p.id })] }, /replacesCallId/],
      [{ participants: [invitee(SUPERVISOR, { participantId: p2p.bot.id })] }, /already a participant/],
    ];
    for (const [body, message] of cases) {
      const r = await call(h, 'POST', `/beta/communications/calls/${p2p.id}/participants/invite`, { body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.code, 'BadRequest');
      assert.match(r.body.error.message, message);
    }
    assert.equal(await snapshot(h, p2p.id), s);
  });

  test('DELETE participants/{id}: cancels an invitation not yet answered (operation fails), or drops a participant (roster update)', async () => {
    const c = await established(h, meetingCallBody());
    const inv = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/invite`, { body: { participants: [invitee(SUPERVISOR)] } });
    const pid = inv.body.participants[0].participantId;
    const n0 = (await sent(h, c.id)).length;
    const del = await call(h, 'DELETE', `/beta/communications/calls/${c.id}/participants/${pid}`);
    assert.equal(del.status, 204);
    assert.equal(del.raw, '');
    let news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => `${n.changeType} ${n.resourceUrl}`), [`deleted /communications/calls/${c.id}/operations/${inv.body.id}`]);
    assert.equal(news[0]!.resourceData.status, 'failed');
    assert.deepEqual([news[0]!.resourceData.resultInfo.code, news[0]!.resourceData.resultInfo.subcode], [487, 0]);
    await advance(h, 2000);
    assert.equal((await after_(h, c.id, n0)).length, 1, 'the cancelled invitee never joins');
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${c.id}/participants/${pid}`)).status, 404);

    const s = await snapshot(h, c.id);
    assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${c.id}/participants/${pid}`)).status, 404, 'gone');
    const self = await call(h, 'DELETE', `/beta/communications/calls/${c.id}/participants/${c.bot.id}`);
    assert.equal(self.status, 400);
    assert.match(self.body.error.message, /DELETE \/communications\/calls/);
    assert.equal(await snapshot(h, c.id), s);

    const drop = await call(h, 'DELETE', `/v1.0/communications/calls/${c.id}/participants/${c.others[0].id}`);
    assert.equal(drop.status, 204);
    news = await after_(h, c.id, n0 + 1);
    assert.deepEqual(news.map((n) => n.resourceUrl), [`/communications/calls/${c.id}/participants`]);
    assert.deepEqual(news[0]!.resourceData.map((x: any) => x.id), [c.bot.id]);
  });

  test('hold music: heard on the held participant in the recording, only while on hold; one at a time', async () => {
    const c = await established(h, meetingCallBody());
    const bob = c.others[0].id;
    const dave = (await control(h, 'POST', `/_emulator/calls/${c.id}/participants`, { displayName: 'Dave' })).body.id;
    await control(h, 'POST', `/_emulator/calls/${c.id}/participants/${bob}/audio`, { type: 'tone', frequencyHz: 440 });
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${c.id}/startRecording`)).status, 202);
    await advance(h, 2000);
    const n0 = (await sent(h, c.id)).length;
    const start = await call(h, 'POST', `/v1.0/communications/calls/${c.id}/participants/${bob}/startHoldMusic`, { body: { clientContext: 'hold' } });
    assert.equal(start.status, 202);
    assert.equal(start.headers.location, `${BASE}/v1.0/communications/calls/${c.id}/operations/${start.body.id}`);
    assert.deepEqual(start.body, {
      '@odata.context': `${BASE}/v1.0/$metadata#startHoldMusicOperation`, '@odata.type': '#microsoft.graph.startHoldMusicOperation',
      id: start.body.id, clientContext: 'hold', status: 'running', resultInfo: null,
    });
    const s = await snapshot(h, c.id);
    const twice = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${bob}/startHoldMusic`);
    assert.deepEqual([twice.status, twice.body.error.code], [409, 'Conflict']);
    assert.match(twice.body.error.message, /already on hold/);
    const second = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${dave}/startHoldMusic`);
    assert.equal(second.status, 409);
    assert.match(second.body.error.message, /only one participant/);
    const notHeld = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${dave}/stopHoldMusic`);
    assert.equal(notHeld.status, 409);
    const bot = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${c.bot.id}/startHoldMusic`);
    assert.equal(bot.status, 400);
    assert.equal(await snapshot(h, c.id), s);
    await advance(h, 3000);
    const stop = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${bob}/stopHoldMusic`, { body: {} });
    assert.equal(stop.status, 202);
    assert.equal(stop.body['@odata.type'], '#microsoft.graph.stopHoldMusicOperation');
    await advance(h, 2000);
    const news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => `${n.changeType} ${n.resourceData.status ?? ''}`.trim()), ['deleted completed', 'deleted completed']);
    assert.deepEqual(news.map((n) => n.resourceData['@odata.type']), ['#microsoft.graph.startHoldMusicOperation', '#microsoft.graph.stopHoldMusicOperation']);
    await call(h, 'POST', `/beta/communications/calls/${c.id}/stopRecording`);

    const x = await recordingOf(h, c.id);
    assert.equal(x.length, 7 * RATE);
    assert.ok(power(x, 0, 2, 440) > 0.02, 'Bob before the hold');
    assert.ok(power(x, 0, 2, 523.25) < 1e-6, 'no hold music before');
    assert.ok(power(x, 2, 5, 523.25) > 0.005, 'hold music while held');
    assert.ok(power(x, 2, 5, 440) < 1e-6, 'Bob is not heard while held');
    assert.ok(power(x, 5, 7, 440) > 0.02, 'Bob back after the hold');
    assert.ok(power(x, 5, 7, 523.25) < 1e-6, 'no hold music after');
  });

  test('hold music with a customPrompt plays that clip; an unknown media URI is refused and changes nothing', async () => {
    const c = await established(h, meetingCallBody());
    const bob = c.others[0].id;
    // A 900 Hz clip in the media library.
    const pcm = Buffer.alloc(RATE * 2);
    for (let i = 0; i < RATE; i++) pcm.writeInt16LE(Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * 900 * i) / RATE)), i * 2);
    const upload = await h.comp.app.inject({ method: 'POST', url: '/_emulator/media', headers: { 'content-type': 'audio/wav', 'x-graph-calls-control': '1' }, payload: Buffer.concat([wavHeader(RATE, 1, RATE), pcm]) });
    assert.equal(upload.statusCode, 201);
    const mediaId = JSON.parse(upload.body).mediaId as string;
    const s = await snapshot(h, c.id);
    const unknown = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${bob}/startHoldMusic`, {
      body: { customPrompt: { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri: 'https://bot.contoso.com/onHold.wav' } } },
    });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error.message, /customPrompt\.mediaInfo\.uri/);
    const noUri = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${bob}/startHoldMusic`, { body: { customPrompt: { mediaInfo: {} } } });
    assert.equal(noUri.status, 400);
    assert.equal(await snapshot(h, c.id), s);

    await call(h, 'POST', `/beta/communications/calls/${c.id}/startRecording`);
    const ok = await call(h, 'POST', `/beta/communications/calls/${c.id}/participants/${bob}/startHoldMusic`, {
      body: { customPrompt: { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: `http://127.0.0.1:4000/_emulator/media/${mediaId}` } } },
    });
    assert.equal(ok.status, 202, ok.raw);
    await advance(h, 3000);
    await call(h, 'POST', `/beta/communications/calls/${c.id}/stopRecording`);
    const x = await recordingOf(h, c.id);
    assert.ok(power(x, 0, 1, 900) > 0.02, 'the custom prompt plays');
    assert.ok(power(x, 1.5, 2.5, 900) > 0.02, 'and loops past its one second');
    assert.ok(power(x, 0, 3, 523.25) < 1e-6, 'not the default music');
  });

  test('a muted bot is silent in the recording', async () => {
    const c = await established(h, meetingCallBody());
    await control(h, 'POST', `/_emulator/calls/${c.id}/participants/${c.bot.id}/audio`, { type: 'tone', frequencyHz: 1000 });
    await call(h, 'POST', `/beta/communications/calls/${c.id}/startRecording`);
    await advance(h, 1000);
    await call(h, 'POST', `/beta/communications/calls/${c.id}/mute`);
    await advance(h, 1000);
    await call(h, 'POST', `/beta/communications/calls/${c.id}/unmute`);
    await advance(h, 1000);
    await call(h, 'POST', `/beta/communications/calls/${c.id}/stopRecording`);
    const x = await recordingOf(h, c.id);
    assert.ok(power(x, 0, 1, 1000) > 0.02, 'the bot heard before');
    assert.ok(power(x, 1, 2, 1000) < 1e-6, 'muted: silent');
    assert.ok(power(x, 2, 3, 1000) > 0.02, 'unmuted: heard again');
  });

  test('changeScreenSharingRole: app-hosted media only; 202 and a roster update with the screen-sharing stream', async () => {
    const svc = await established(h, meetingCallBody());
    const s = await snapshot(h, svc.id);
    const r = await call(h, 'POST', `/v1.0/communications/calls/${svc.id}/changeScreenSharingRole`, { body: { role: 'sharer' } });
    assert.equal(r.status, 400);
    assert.match(r.body.error.message, /app-hosted media/);
    assert.equal(await snapshot(h, svc.id), s);

    const c = await established(h, meetingCallBody({ mediaConfig: appHosted }));
    const s2 = await snapshot(h, c.id);
    for (const body of [{ role: 'presenter' }, {}, { role: 3 }]) {
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${c.id}/changeScreenSharingRole`, { body })).status, 400, JSON.stringify(body));
    }
    assert.equal(await snapshot(h, s2 ? c.id : c.id), s2);
    const n0 = (await sent(h, c.id)).length;
    const ok = await call(h, 'POST', `/v1.0/communications/calls/${c.id}/changeScreenSharingRole`, { body: { role: 'Sharer' } });
    assert.equal(ok.status, 202);
    assert.equal(ok.raw, '');
    const [roster] = await after_(h, c.id, n0);
    const bot = roster!.resourceData.find((p: any) => p.id === c.bot.id);
    assert.deepEqual(bot.mediaStreams.map((m: any) => `${m.mediaType} ${m.direction} ${m.label}`), [
      'audio sendReceive main-audio', 'videoBasedScreenSharing sendOnly applicationsharing-video',
    ]);
    await call(h, 'POST', `/v1.0/communications/calls/${c.id}/changeScreenSharingRole`, { body: { role: 'viewer' } });
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${c.id}/participants/${c.bot.id}`)).body.mediaStreams.length, 1);
  });

  test('addLargeGalleryView: 202 with a running operation, completed with `deleted`', async () => {
    const c = await established(h, meetingCallBody());
    const n0 = (await sent(h, c.id)).length;
    const r = await call(h, 'POST', `/v1.0/communications/calls/${c.id}/addLargeGalleryView`, { body: { clientContext: '785f4929' } });
    assert.equal(r.status, 202);
    assert.deepEqual(r.body, {
      '@odata.context': `${BASE}/v1.0/$metadata#addLargeGalleryViewOperation`, '@odata.type': '#microsoft.graph.addLargeGalleryViewOperation',
      id: r.body.id, clientContext: '785f4929', status: 'running', resultInfo: null,
    });
    await advance(h, 500);
    const [done] = await after_(h, c.id, n0);
    assert.equal(done!.resourceUrl, `/communications/calls/${c.id}/operations/${r.body.id}`);
    assert.equal(done!.resourceData.status, 'completed');
  });

  test('audioRoutingGroups: create (200), list, get, update, delete on app-hosted calls; service-hosted refused', async () => {
    const svc = await established(h, meetingCallBody());
    const refused = await call(h, 'GET', `/v1.0/communications/calls/${svc.id}/audioRoutingGroups`);
    assert.equal(refused.status, 400);
    assert.match(refused.body.error.message, /app-hosted media/);

    const c = await established(h, meetingCallBody({ mediaConfig: appHosted }));
    const dave = (await control(h, 'POST', `/_emulator/calls/${c.id}/participants`, { displayName: 'Dave' })).body.id;
    const base = `/v1.0/communications/calls/${c.id}/audioRoutingGroups`;
    const created = await call(h, 'POST', base, { body: { id: 'oneToOne', routingMode: 'oneToOne', sources: [c.bot.id], receivers: [c.others[0].id] } });
    assert.equal(created.status, 200, created.raw);
    assert.deepEqual(created.body, {
      '@odata.context': `${BASE}/v1.0/$metadata#communications/calls('${c.id}')/audioRoutingGroups/$entity`,
      '@odata.type': '#microsoft.graph.audioRoutingGroup', id: 'oneToOne', routingMode: 'oneToOne', sources: [c.bot.id], receivers: [c.others[0].id],
    });
    const s = await snapshot(h, c.id);
    const before_ = JSON.stringify(await h.comp.store.listCallItems(c.id, 'audioRoutingGroup'));
    const bad: Array<[string, string, unknown, number, RegExp]> = [
      ['POST', base, { id: 'oneToOne', routingMode: 'oneToOne', sources: [c.bot.id], receivers: [dave] }, 409, /already exists/],
      ['POST', base, { routingMode: 'broadcast', sources: [c.bot.id], receivers: [dave] }, 400, /routingMode/],
      ['POST', base, { sources: [c.bot.id], receivers: [dave] }, 400, /routingMode/],
      ['POST', base, { routingMode: 'oneToOne', sources: [c.bot.id], receivers: [dave, c.others[0].id] }, 400, /exactly one/],
      ['POST', base, { routingMode: 'multicast', sources: [c.bot.id], receivers: ['not-here'] }, 400, /not-here/],
      ['PATCH', `${base}/oneToOne`, { receivers: [dave, c.others[0].id] }, 400, /exactly one/],
      ['PATCH', `${base}/oneToOne`, { id: 'other' }, 400, /read-only/],
      ['PATCH', `${base}/nope`, { receivers: [dave] }, 404, /nope/],
      ['DELETE', `${base}/nope`, undefined, 404, /nope/],
    ];
    for (const [method, url, body, status, message] of bad) {
      const r = await call(h, method, url, { body });
      assert.equal(r.status, status, `${method} ${url} ${JSON.stringify(body)}: ${r.raw}`);
      assert.match(r.body.error.message, message);
    }
    assert.equal(await snapshot(h, c.id), s);
    assert.equal(JSON.stringify(await h.comp.store.listCallItems(c.id, 'audioRoutingGroup')), before_);

    const multi = await call(h, 'POST', `/beta/communications/calls/${c.id}/audioRoutingGroups`, { body: { routingMode: 'multicast', sources: [c.bot.id], receivers: [dave, c.others[0].id] } });
    assert.equal(multi.status, 200);
    assert.match(multi.body.id, GUID, 'an id is assigned when none is given');
    const updated = await call(h, 'PATCH', `${base}/oneToOne`, { body: { receivers: [dave] } });
    assert.equal(updated.status, 200);
    assert.deepEqual([updated.body.routingMode, updated.body.sources, updated.body.receivers], ['oneToOne', [c.bot.id], [dave]]);
    const list = await call(h, 'GET', base);
    assert.equal(list.body['@odata.context'], `${BASE}/v1.0/$metadata#communications/calls('${c.id}')/audioRoutingGroups`);
    assert.deepEqual(list.body.value.map((g: any) => g.id), ['oneToOne', multi.body.id], 'creation order, an update keeps its place');
    assert.deepEqual((await call(h, 'GET', `${base}/oneToOne`)).body.receivers, [dave]);
    assert.equal((await call(h, 'GET', `${base}/ONETOONE`)).status, 404, 'client-chosen ids compare exactly');
    const del = await call(h, 'DELETE', `${base}/oneToOne`);
    assert.equal(del.status, 204);
    assert.deepEqual((await call(h, 'GET', base)).body.value.map((g: any) => g.id), [multi.body.id]);
  });

  test('contentSharingSessions: started and ended by the far side; beta shows the presenter, v1.0 only the id', async () => {
    const c = await established(h, meetingCallBody({ callOptions: { '@odata.type': '#microsoft.graph.outgoingCallOptions', isContentSharingNotificationEnabled: true } }));
    const bob = c.others[0].id;
    assert.deepEqual((await call(h, 'GET', `/v1.0/communications/calls/${c.id}/contentSharingSessions`)).body.value, []);
    const bad = await control(h, 'POST', `/_emulator/calls/${c.id}/contentSharingSessions`, { participantId: '00000000-0000-4000-8000-000000000000' });
    assert.equal(bad.status, 404);
    const n0 = (await sent(h, c.id)).length;
    const started = await control(h, 'POST', `/_emulator/calls/${c.id}/contentSharingSessions`, { participantId: bob });
    assert.equal(started.status, 201);
    const sid = started.body.id;
    const beta = await call(h, 'GET', `/beta/communications/calls/${c.id}/contentSharingSessions/${sid}`);
    assert.deepEqual(beta.body, {
      '@odata.context': `${BASE}/beta/$metadata#communications/calls('${c.id}')/contentSharingSessions/$entity`,
      '@odata.type': '#microsoft.graph.contentSharingSession', id: sid, presenterParticipantId: bob, pngOfCurrentSlide: null,
    });
    const v1 = await call(h, 'GET', `/v1.0/communications/calls/${c.id}/contentSharingSessions`);
    assert.deepEqual(v1.body.value, [{ '@odata.type': '#microsoft.graph.contentSharingSession', id: sid }]);
    assert.equal((await control(h, 'DELETE', `/_emulator/calls/${c.id}/contentSharingSessions/${sid}`)).status, 204);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${c.id}/contentSharingSessions/${sid}`)).status, 404);
    const news = await after_(h, c.id, n0);
    assert.deepEqual(news.map((n) => `${n.changeType} ${n.resourceUrl}`), [
      `created /communications/calls/${c.id}/contentSharingSessions/${sid}`,
      `deleted /communications/calls/${c.id}/contentSharingSessions/${sid}`,
    ]);

    // Without isContentSharingNotificationEnabled the bot is not told; it can still list.
    const quiet = await established(h, meetingCallBody());
    const m0 = (await sent(h, quiet.id)).length;
    await control(h, 'POST', `/_emulator/calls/${quiet.id}/contentSharingSessions`, { participantId: quiet.others[0].id });
    assert.deepEqual(await after_(h, quiet.id, m0), []);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${quiet.id}/contentSharingSessions`)).body.value.length, 1);
  });

  test('a stranger call id is 404 on every roster path; beta-only paths are unknown segments on v1.0', async () => {
    const none = '00000000-0000-4000-8000-00000000abcd';
    for (const [method, path] of [
      ['POST', 'mute'], ['POST', 'unmute'], ['POST', 'participants/invite'], ['POST', 'addLargeGalleryView'],
      ['GET', 'audioRoutingGroups'], ['GET', 'contentSharingSessions'], ['DELETE', `participants/${none}`],
    ] as const) {
      const body = path === 'participants/invite' ? { participants: [invitee(SUPERVISOR)] } : method === 'POST' ? {} : undefined;
      const r = await call(h, method, `/beta/communications/calls/${none}/${path}`, { body });
      assert.equal(r.status, 404, `${method} ${path}: ${r.raw}`);
    }
  });
});
