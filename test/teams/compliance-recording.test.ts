import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_ID, p2pCallBody, startServer, TENANT, tempDataDir, waitFor, type ServerHarness } from '../support/harness.js';
import { api, createCall, waitForState } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

const RECORDER = { tenantId: TENANT, clientId: '5e5e5e5e-0000-4000-8000-00000000ec0d', clientSecret: 'recorder-secret', roles: ['Calls.AccessMedia.All', 'Calls.JoinGroupCall.All', 'Calls.Initiate.All'], displayName: 'Compliance Recorder' };
const USER = { id: '7a7a7a7a-1111-4111-8111-111111111111', displayName: 'Recorded User' };
const MEDIA = { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '{}' };

function appsFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gc-policy-'));
  const file = join(dir, 'apps.json');
  writeFileSync(file, JSON.stringify([RECORDER]));
  return file;
}

/** How many `created` notifications (incoming calls: invites) the outbox holds, every call's. */
async function createdInOutbox(h: ServerHarness): Promise<number> {
  let n = 0;
  for (let after = 0; ;) {
    const page = (await api(h, 'GET', `/_emulator/outbox?top=1000&after=${after}`, undefined, { auth: false })).body;
    n += (page.value as Array<{ changeType: string }>).filter((r) => r.changeType === 'created').length;
    if (page.next === null || page.next === undefined) return n;
    after = page.next;
  }
}

describe('compliance-recording policies', () => {
  let h: ServerHarness;
  let bot: Receiver;
  let recorder: Receiver;
  let recorderAuth: string;

  before(async () => {
    // Invites do not time out here, however slow the machine: the recorder answers in its own time.
    // The one test of a missed invite has a server of its own with a short timeout.
    h = await startServer({ appsFile: appsFile(), policyInviteTimeoutMs: 120_000 });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
    recorder = await startReceiver({ graphCallsUrl: h.url, appId: RECORDER.clientId });
    assert.equal((await api(h, 'PATCH', `/_emulator/apps/${RECORDER.clientId}`, { callbackUri: recorder.callbackUri }, { auth: false })).status, 200);
    recorderAuth = `Bearer ${(await h.comp.tokens.issue({ ...RECORDER, callbackUri: recorder.callbackUri })).accessToken}`;
  });
  after(async () => {
    await h.close();
    await bot.close();
    await recorder.close();
  });

  const asRecorder = { url: '', auth: '' };
  const rec = () => Object.assign(asRecorder, { url: h.url, auth: recorderAuth });
  const setPolicy = async (required: boolean) => {
    const res = await api(h, 'PUT', '/_emulator/policies/record-user', { name: 'Record the user', userIds: [USER.id], recorderAppId: RECORDER.clientId, required }, { auth: false });
    assert.equal(res.status, 200);
  };
  const callUser = async () => {
    const call = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri, targets: [{ identity: { user: USER } }] }));
    await waitForState(h, call.id, 'established');
    return call.id as string;
  };
  // The first invite (`created`) among the recorder's notifications after the first `before`: a late
  // notification of an earlier call (its `deleted`) may arrive in between, so counting is not enough.
  const inviteSince = (before: number) =>
    waitFor(() => recorder.notifications.slice(before).find((n) => n.changeType === 'created'), 'an invite to the recorder', 10_000);
  const inviteFor = async (userCallId: string) => {
    const created = await recorder.waitForCount(1, { timeoutMs: 5000 });
    const invite = [...recorder.notifications].reverse().find((n) => n.changeType === 'created' && n.resourceData.applicationMetadata?.botData);
    assert.ok(invite, 'an invite arrived');
    assert.ok(created.length >= 1);
    assert.ok(userCallId);
    return invite!;
  };

  test('a recorded user in a call: the recorder is invited with the policy context, answers, and updateRecordingStatus works', async () => {
    await setPolicy(false);
    const userCall = await callUser();
    const invite = await inviteFor(userCall);
    const c = invite.resourceData;
    assert.equal(c.state, 'incoming');
    assert.equal(c.direction, 'incoming');
    assert.equal(c.source.identity.user.id, USER.id);
    assert.equal(c.targets[0].identity.applicationInstance.id, RECORDER.clientId);
    assert.equal(c.meetingInfo['@odata.type'], '#microsoft.graph.tokenMeetingInfo');
    assert.equal(c.incomingContext['@odata.type'], '#microsoft.graph.incomingContext');
    assert.equal(c.incomingContext.observedParticipantId, c.incomingContext.sourceParticipantId);
    assert.deepEqual(c.applicationMetadata.botData.inviteReasons, ['PolicyBasedRecording']);
    assert.equal(c.applicationMetadata.botData.policyIdentifier, 'record-user');
    assert.equal(invite.claims.aud, RECORDER.clientId, 'signed for the recorder app');

    const answered = await api(rec(), 'POST', `/v1.0/communications/calls/${c.id}/answer`, { acceptedModalities: ['audio'], mediaConfig: MEDIA, participantCapacity: 200 });
    assert.equal(answered.status, 202);
    await waitForState(rec(), c.id, 'established');
    const status = await api(rec(), 'POST', `/v1.0/communications/calls/${c.id}/updateRecordingStatus`, { status: 'recording', clientContext: 'policy-1' });
    assert.equal(status.status, 200);
    assert.equal(status.body.status, 'completed');
    const roster = await recorder.waitForCount(5, { callId: c.id });
    const last = roster.at(-1)!;
    assert.equal(last.resourceUrl, `/communications/calls/${c.id}/participants`);
    assert.equal(last.resourceData[0].recordingInfo.recordingStatus, 'recording');

    // The user's own call (the bot's) is not a compliance call: still 8506 there.
    const denied = await api(h, 'POST', `/v1.0/communications/calls/${userCall}/updateRecordingStatus`, { status: 'recording' });
    assert.deepEqual([denied.status, denied.body.error.code], [403, '8506']);
    // Another app cannot see the invite.
    assert.equal((await api(h, 'GET', `/beta/communications/calls/${c.id}`)).status, 404);

    // Ending the user's call ends the recorder's call too.
    assert.equal((await api(h, 'DELETE', `/beta/communications/calls/${userCall}`)).status, 204);
    const ended = await recorder.waitForCount(roster.length + 1, { callId: c.id, timeoutMs: 5000 });
    assert.equal(ended.at(-1)!.changeType, 'deleted');
    assert.equal(ended.at(-1)!.resourceData.resultInfo.subcode, 5001);
  });

  test('a required recorder that misses its invite ends the user\'s call', async () => {
    const s = await startServer({ appsFile: appsFile(), policyInviteTimeoutMs: 400 });
    const sBot = await startReceiver({ graphCallsUrl: s.url, appId: CLIENT_ID });
    const sRecorder = await startReceiver({ graphCallsUrl: s.url, appId: RECORDER.clientId });
    try {
      assert.equal((await api(s, 'PATCH', `/_emulator/apps/${RECORDER.clientId}`, { callbackUri: sRecorder.callbackUri }, { auth: false })).status, 200);
      assert.equal((await api(s, 'PUT', '/_emulator/policies/record-user', { name: 'Record the user', userIds: [USER.id], recorderAppId: RECORDER.clientId, required: true }, { auth: false })).status, 200);
      const userCall = (await createCall(s, p2pCallBody({ callbackUri: sBot.callbackUri, targets: [{ identity: { user: USER } }] }))).id as string;
      await waitForState(s, userCall, 'established');
      await sRecorder.waitForCount(1, { timeoutMs: 5000 });
      const invite = sRecorder.notifications.find((n) => n.changeType === 'created')!;
      const inviteEnd = await sRecorder.waitForCount(2, { callId: invite.callId, timeoutMs: 5000 });
      // Real recorder traffic: a missed policy invite ends with 408/8544 "Callee could not be reached." (msteams-docs #9159).
      assert.deepEqual(inviteEnd[1]!.resourceData.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 408, subcode: 8544, message: 'Callee could not be reached.' });
      const userEnd = await sBot.waitForCount(4, { callId: userCall, timeoutMs: 5000 });
      assert.equal(userEnd[3]!.changeType, 'deleted');
      assert.deepEqual([userEnd[3]!.resourceData.resultInfo.code, userEnd[3]!.resourceData.resultInfo.subcode], [480, 10076]);
    } finally {
      await s.close();
      await sBot.close();
      await sRecorder.close();
    }
  });

  test('a required recorder that rejects ends the user\'s call; an optional one does not', async () => {
    await setPolicy(true);
    let before = recorder.notifications.length;
    let userCall = await callUser();
    let invite = await inviteSince(before);
    assert.equal((await api(rec(), 'POST', `/beta/communications/calls/${invite.callId}/reject`, { reason: 'busy' })).status, 202);
    const userEnd = await bot.waitForCount(4, { callId: userCall, timeoutMs: 5000 });
    assert.equal(userEnd[3]!.resourceData.resultInfo.subcode, 10076);

    await setPolicy(false);
    before = recorder.notifications.length;
    userCall = await callUser();
    invite = await inviteSince(before);
    assert.equal((await api(rec(), 'POST', `/beta/communications/calls/${invite.callId}/reject`, {})).status, 202);
    // A required recorder's refusal ends the user's call in the reject's own transaction (as above, where
    // the 202 already meant the call was ending), so the state read now is final.
    assert.equal((await api(h, 'GET', `/beta/communications/calls/${userCall}`)).body.state, 'established');
  });

  test('a recorded user joining a meeting invites the recorder; a recorder is never invited to its own calls', async () => {
    await setPolicy(false);
    const before = recorder.notifications.length;
    const meeting = await createCall(h, {
      callbackUri: bot.callbackUri, requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      meetingInfo: { '@odata.type': '#microsoft.graph.joinMeetingIdMeetingInfo', joinMeetingId: '123' },
    });
    await waitForState(h, meeting.id, 'established');
    await api(h, 'POST', `/_emulator/calls/${meeting.id}/participants`, USER, { auth: false });
    const invite = await inviteSince(before);
    assert.equal(invite.resourceData.source.identity.user.id, USER.id);

    // The recorder itself calling the user: no invite to itself.
    // Invites commit in the transaction that establishes the call, so once it is established the outbox
    // holds every invite there will be: counted there, not by waiting for deliveries that should not come.
    const invitesBefore = await createdInOutbox(h);
    const n = recorder.notifications.length;
    const own = await createCall(rec(), p2pCallBody({ callbackUri: `${recorder.url}/own`, targets: [{ identity: { user: USER } }] }));
    await waitForState(rec(), own.id, 'established');
    assert.equal(await createdInOutbox(h), invitesBefore, 'no invite committed for the recorder\'s own call');
    await recorder.waitForCount(n + 3, { timeoutMs: 5000 });
    assert.equal(recorder.notifications.slice(n).filter((x) => x.changeType === 'created').length, 0);
  });

  test('policies: validated, listed, removed, and kept across a restart', async () => {
    const bad = await api(h, 'PUT', '/_emulator/policies/p', { userIds: [], recorderAppId: 5 }, { auth: false });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /userIds/);
    assert.match(bad.body.error.message, /recorderAppId/);
    const unknown = await api(h, 'PUT', '/_emulator/policies/p', { userIds: ['u'], recorderAppId: '99999999-9999-4999-8999-999999999999' }, { auth: false });
    assert.equal(unknown.status, 400);

    const data = tempDataDir();
    try {
      let s = await startServer({ inMemory: false, dataDir: data.dir, appsFile: appsFile() });
      assert.equal((await api(s, 'PUT', '/_emulator/policies/keep-me', { userIds: [USER.id], recorderAppId: RECORDER.clientId, required: true }, { auth: false })).status, 200);
      await s.close();
      s = await startServer({ inMemory: false, dataDir: data.dir, appsFile: appsFile() });
      const list = await api(s, 'GET', '/_emulator/policies', undefined, { auth: false });
      assert.deepEqual(list.body.value.map((p: any) => [p.id, p.required]), [['keep-me', true]]);
      assert.equal((await api(s, 'DELETE', '/_emulator/policies/keep-me', undefined, { auth: false })).status, 204);
      assert.equal((await api(s, 'DELETE', '/_emulator/policies/keep-me', undefined, { auth: false })).status, 404);
      await s.close();
    } finally {
      data.cleanup();
    }
  });
});
