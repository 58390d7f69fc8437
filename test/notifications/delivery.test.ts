import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import { CLIENT_ID, meetingCallBody, p2pCallBody, startServer, TENANT, type ServerHarness } from '../support/harness.js';
import { api, createCall, deliveries, settled, waitForState } from '../support/graph-http.js';
import { NOTIFICATION_ISSUER, startReceiver, type ReceivedNotification, type Receiver } from '../support/webhook-receiver.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
const ORGANIZER = '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96';

/** `changeType resourceUrl-suffix [state]`: a notification in one line, for exact sequence checks. */
function line(n: ReceivedNotification): string {
  if (n.resourceUrl.includes('/recordings/')) return `${n.changeType} recording`;
  const suffix = n.resourceUrl.replace(`/communications/calls/${n.callId}`, '') || '/';
  const state = Array.isArray(n.resourceData) ? `[${n.resourceData.length}]` : (n.resourceData?.state ?? n.resourceData?.status ?? '');
  return `${n.changeType} ${suffix.replace(/\/operations\/.+$/, '/operations/{op}')} ${state}`.trim();
}

const botOf = (roster: any[]) => roster.find((p) => p.info?.identity?.application?.id === CLIENT_ID);

/** Headers and body members every notification must carry (spec §3.1). */
function assertEnvelope(n: ReceivedNotification, call: { id: string; callChainId: string }, callbackUri: string): void {
  const h = n.headers;
  assert.match(String(h.authorization), /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
  assert.match(String(h['content-type']), /^application\/json\b/);
  assert.equal(h.accept, 'application/json');
  assert.equal(h['user-agent'], 'Microsoft-Skype/3.0,(Calling/1.0)');
  assert.equal(h['x-microsoft-skype-chain-id'], call.callChainId);
  assert.match(String(h['scenario-id']), GUID);
  assert.match(n.messageId, GUID);
  assert.equal(n.path, new URL(callbackUri).pathname);
  // Body: exactly one commsNotification, typed, with resourceUrl and its legacy /app twin.
  assert.equal(n.body['@odata.type'], '#microsoft.graph.commsNotifications');
  assert.equal(n.body.value.length, 1);
  const v = n.body.value[0];
  assert.deepEqual(Object.keys(v).sort(), ['@odata.type', 'callbackUri', 'changeType', 'resource', 'resourceData', 'resourceUrl']);
  assert.equal(v['@odata.type'], '#microsoft.graph.commsNotification');
  assert.ok(n.resourceUrl.startsWith(`/communications/calls/${call.id}`), n.resourceUrl);
  assert.equal(v.resource, n.resourceUrl.replace('/communications/calls/', '/app/calls/'));
  assert.equal(v.callbackUri, callbackUri);
}

function assertCallData(n: ReceivedNotification, callId: string, state: string): void {
  const d = n.resourceData;
  assert.equal(d['@odata.type'], '#microsoft.graph.call');
  assert.equal(d['@odata.id'], `/communications/calls/${callId}`);
  assert.match(d['@odata.etag'], /^W\/"\d+"$/);
  assert.equal(d.id, callId);
  assert.equal(d.state, state);
}

function assertRoster(n: ReceivedNotification, otherUserId: string): any[] {
  const roster = n.resourceData;
  assert.ok(Array.isArray(roster), 'roster resourceData is an array');
  assert.equal(roster.length, 2);
  for (const p of roster) {
    assert.equal(p['@odata.type'], '#microsoft.graph.participant');
    assert.match(p.id, GUID);
    assert.equal(p.info['@odata.type'], '#microsoft.graph.participantInfo');
    assert.equal(p.isMuted, false);
    assert.equal(p.isInLobby, false);
    assert.ok(Array.isArray(p.mediaStreams) && p.mediaStreams.length > 0);
  }
  const bot = botOf(roster);
  assert.ok(bot, 'the bot is in the roster');
  assert.equal(bot.recordingInfo['@odata.type'], '#microsoft.graph.recordingInfo');
  assert.equal(bot.recordingInfo.recordingStatus, 'notRecording');
  assert.ok(roster.some((p: any) => p.info.identity.user?.id === otherUserId), `user ${otherUserId} is in the roster`);
  return roster;
}

describe('notification delivery to a validating bot', () => {
  let h: ServerHarness;
  let bot: Receiver;
  before(async () => {
    // --recording-callback-notifications: the recording-ready notification to the callbackUri (an extension, not Graph) is checked here.
    h = await startServer({ recordingCallbackNotifications: true });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
  });
  after(async () => {
    await bot.close();
    await h.close();
  });

  test('outgoing P2P call: updated establishing -> updated established -> updated participants, with Teams headers, body and token', async () => {
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    const list = await bot.waitForCount(3, { callId: created.id });
    const call = await waitForState(h, created.id, 'established');
    await settled(h, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), [
      'updated / establishing',
      'updated / established',
      'updated /participants [2]',
    ]);
    for (const n of list) assertEnvelope(n, call, bot.callbackUri);
    assert.equal(new Set(list.map((n) => n.messageId)).size, 3, 'each notification has its own message id');
    assert.equal(new Set(list.map((n) => n.headers['scenario-id'])).size, 1, 'one scenario id per call');

    assertCallData(list[0]!, call.id, 'establishing');
    assert.equal(list[0]!.resourceData.callChainId, call.callChainId);
    assert.equal(list[0]!.resourceData.callbackUri, bot.callbackUri);
    assert.equal(list[0]!.resourceData.direction, 'outgoing');
    assert.equal(list[0]!.resourceData.targets[0]['@odata.type'], '#microsoft.graph.invitationParticipantInfo');
    assertCallData(list[1]!, call.id, 'established');
    assert.equal(list[1]!.resourceUrl, `/communications/calls/${call.id}`);
    assert.equal(list[2]!.resourceUrl, `/communications/calls/${call.id}/participants`);
    assert.equal(list[2]!.resource, `/app/calls/${call.id}/participants`);
    const roster = assertRoster(list[2]!, ALICE);
    assert.equal(botOf(roster).id, call.myParticipantId);

    // The token: RS256 with the kid published in the notification JWKS, Teams' claims, ~10 min life.
    const meta = (await api(h, 'GET', '/v1/.well-known/OpenIdConfiguration', undefined, { auth: false })).body;
    assert.equal(meta.issuer, NOTIFICATION_ISSUER);
    const jwks = (await api(h, 'GET', new URL(meta.jwks_uri).pathname, undefined, { auth: false })).body;
    for (const n of list) {
      assert.equal(n.tokenHeader.alg, 'RS256');
      assert.ok(jwks.keys.some((k: any) => k.kid === n.tokenHeader.kid), 'kid is in the JWKS');
      assert.equal(n.claims.iss, 'https://api.botframework.com');
      assert.equal(n.claims.aud, CLIENT_ID);
      assert.equal(n.claims.tid, TENANT);
      const now = Date.now() / 1000;
      assert.ok(n.claims.exp! > now + 60, 'exp is in the future');
      assert.ok(n.claims.exp! - n.claims.iat! >= 540 && n.claims.exp! - n.claims.iat! <= 660, `lifetime ~10 min, got ${n.claims.exp! - n.claims.iat!} s`);
      assert.ok(n.claims.nbf! <= now + 1);
    }
    assert.deepEqual(bot.rejections, []);
  });

  test('meeting join: the same three notifications, the establishing one carrying meetingInfo/chatInfo, the roster with the organizer', async () => {
    const created = await createCall(h, meetingCallBody({ callbackUri: bot.callbackUri }));
    const list = await bot.waitForCount(3, { callId: created.id });
    const call = await waitForState(h, created.id, 'established');
    await settled(h, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), [
      'updated / establishing',
      'updated / established',
      'updated /participants [2]',
    ]);
    for (const n of list) assertEnvelope(n, call, bot.callbackUri);
    assertCallData(list[0]!, call.id, 'establishing');
    assert.equal(list[0]!.resourceData.meetingInfo['@odata.type'], '#microsoft.graph.organizerMeetingInfo');
    assert.equal(list[0]!.resourceData.chatInfo['@odata.type'], '#microsoft.graph.chatInfo');
    assert.equal(list[0]!.resourceData.chatInfo.threadId, '19:meeting_abc@thread.v2');
    assertCallData(list[1]!, call.id, 'established');
    assertRoster(list[2]!, ORGANIZER);
    assert.deepEqual(bot.rejections, []);
  });

  test('bot hang-up: updated terminating -> deleted terminated with resultInfo 200/5001', async () => {
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id });
    const call = await waitForState(h, created.id, 'established');
    const del = await api(h, 'DELETE', `/beta/communications/calls/${call.id}`);
    assert.equal(del.status, 204);
    const list = await bot.waitForCount(5, { callId: call.id });
    await settled(h, call.id);
    assert.deepEqual(bot.forCall(call.id).map(line), [
      'updated / establishing',
      'updated / established',
      'updated /participants [2]',
      'updated / terminating',
      'deleted / terminated',
    ]);
    for (const n of list) assertEnvelope(n, call, bot.callbackUri);
    assertCallData(list[3]!, call.id, 'terminating');
    assert.equal(list[3]!.resourceData.resultInfo, null);
    assertCallData(list[4]!, call.id, 'terminated');
    assert.deepEqual(list[4]!.resourceData.resultInfo, {
      '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 5001, message: 'The conversation has ended.',
    });
    assert.equal((await api(h, 'GET', `/beta/communications/calls/${call.id}`)).status, 404);
    assert.deepEqual(bot.rejections, []);
  });

  test('start/stopRecording: roster updates with the bot recordingStatus, a deleted notification for the start operation only', async () => {
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id });
    const call = await waitForState(h, created.id, 'established');

    const start = await api(h, 'POST', `/beta/communications/calls/${call.id}/startRecording`, { clientContext: 'start-ctx' });
    assert.equal(start.status, 202);
    assert.equal(start.body.status, 'running');
    // Wait for the operation's completion notification before stopping, so the order is fixed.
    const afterStart = await bot.waitForCount(5, { callId: call.id });
    const stop = await api(h, 'POST', `/beta/communications/calls/${call.id}/stopRecording`, { clientContext: 'stop-ctx' });
    assert.equal(stop.status, 202);
    assert.equal(stop.body.status, 'completed');
    // The stopped segment becomes a recording, announced to the call's bot on the recording's URL (opt-in extension).
    await bot.waitForCount(7, { callId: call.id });
    // End the call so anything the stop could still have produced is in the outbox before the final check.
    assert.equal((await api(h, 'DELETE', `/beta/communications/calls/${call.id}`)).status, 204);
    const list = await bot.waitForCount(9, { callId: call.id });
    const rows = await settled(h, call.id);
    assert.equal(rows.length, 9);
    assert.match(list[6]!.resourceUrl, /^\/users\/[^/]+\/adhocCalls\/[^/]+\/recordings\/[^/]+$/);
    assert.equal(list[6]!.resourceData['@odata.type'], '#microsoft.graph.callRecording');
    assert.ok(afterStart.length === 5);

    assert.deepEqual(bot.forCall(call.id).map(line), [
      'updated / establishing',
      'updated / established',
      'updated /participants [2]',
      'updated /participants [2]',
      'deleted /operations/{op} completed',
      'updated /participants [2]',
      'created recording',
      'updated / terminating',
      'deleted / terminated',
    ]);
    for (const n of list.filter((x) => !x.resourceUrl.includes('/recordings/'))) assertEnvelope(n, call, bot.callbackUri);
    assert.equal(botOf(list[3]!.resourceData).recordingInfo.recordingStatus, 'recording');
    assert.equal(botOf(list[3]!.resourceData).recordingInfo.initiator.application.id, CLIENT_ID);
    const opDone = list[4]!;
    assert.equal(opDone.resourceUrl, `/communications/calls/${call.id}/operations/${start.body.id}`);
    assert.equal(opDone.resource, `/app/calls/${call.id}/operations/${start.body.id}`);
    assert.deepEqual(opDone.resourceData, {
      '@odata.type': '#microsoft.graph.startRecordingOperation',
      '@odata.id': `/communications/calls/${call.id}/operations/${start.body.id}`,
      id: start.body.id, clientContext: 'start-ctx', status: 'completed',
      resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' },
    });
    assert.equal(botOf(list[5]!.resourceData).recordingInfo.recordingStatus, 'notRecording');
    assert.ok(!list.some((n) => n.resourceUrl.includes(stop.body.id)), 'no notification about the stop operation');
    assert.deepEqual(bot.rejections, []);
  });

  describe('a forged notification POSTed straight to the bot is rejected (the validator is strict)', () => {
    let guard: Receiver;
    let realKey: Awaited<ReturnType<typeof loadOrCreateKey>>;
    let otherKey: CryptoKey;
    before(async () => {
      guard = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
      // The emulator's own notification key (persisted in its store): tokens signed with it differ from
      // a genuine one only in the claim each case breaks.
      realKey = await loadOrCreateKey(h.comp.storage.config, 'notification-signing');
      otherKey = (await jose.generateKeyPair('RS256')).privateKey;
    });
    after(() => guard.close());

    const body = JSON.stringify({
      '@odata.type': '#microsoft.graph.commsNotifications',
      value: [{ '@odata.type': '#microsoft.graph.commsNotification', changeType: 'deleted', resourceUrl: '/communications/calls/forged', resourceData: { state: 'terminated' } }],
    });
    const post = (authorization: string | null) => fetch(guard.callbackUri, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-microsoft-skype-message-id': 'forged', ...(authorization ? { authorization } : {}) },
      body,
    });
    const now = () => Math.floor(Date.now() / 1000);
    const sign = (o: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; tid?: string | null; iat?: number; exp?: number }) => {
      const claims: jose.JWTPayload = o.tid === null ? {} : { tid: o.tid ?? TENANT };
      const iat = o.iat ?? now();
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: o.kid ?? realKey.kid })
        .setIssuer(o.iss ?? NOTIFICATION_ISSUER)
        .setAudience(o.aud ?? CLIENT_ID)
        .setIssuedAt(iat).setNotBefore(iat)
        .setExpirationTime(o.exp ?? iat + 600)
        .sign(o.key ?? realKey.privateKey);
    };

    const cases: Array<[string, () => Promise<string | null>, RegExp]> = [
      ['no Authorization header', async () => null, /Authorization/],
      ['signed by another key under the published kid', async () => `Bearer ${await sign({ key: otherKey })}`, /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/],
      ['signed by another key under an unknown kid', async () => `Bearer ${await sign({ key: otherKey, kid: 'not-a-published-kid' })}`, /ERR_JWKS_NO_MATCHING_KEY/],
      ['wrong audience', async () => `Bearer ${await sign({ aud: '11111111-2222-4333-8444-555555555555' })}`, /ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "aud"/],
      ['expired', async () => `Bearer ${await sign({ iat: now() - 3600, exp: now() - 1800 })}`, /ERR_JWT_EXPIRED/],
      ['wrong issuer', async () => `Bearer ${await sign({ iss: 'https://login.microsoftonline.com/x/v2.0' })}`, /unexpected "iss"/],
      ['no tid claim', async () => `Bearer ${await sign({ tid: null })}`, /"tid" claim/],
      ['HS256 (symmetric) token', async () => `Bearer ${await new jose.SignJWT({ tid: TENANT }).setProtectedHeader({ alg: 'HS256', kid: realKey.kid })
        .setIssuer(NOTIFICATION_ISSUER).setAudience(CLIENT_ID).setIssuedAt().setExpirationTime('10m').sign(new TextEncoder().encode('x'.repeat(32)))}`, /ERR_JOSE_ALG_NOT_ALLOWED/],
      ['unsecured (alg none) token', async () => `Bearer ${new jose.UnsecuredJWT({ tid: TENANT }).setIssuer(NOTIFICATION_ISSUER).setAudience(CLIENT_ID).setIssuedAt().setExpirationTime('10m').encode()}`, /ERR_JOSE_ALG_NOT_ALLOWED|ERR_JWS_INVALID/],
    ];

    for (const [name, token, reason] of cases) {
      test(name, async () => {
        const before = guard.rejections.length;
        const res = await post(await token());
        assert.equal(res.status, 403);
        assert.equal(guard.rejections.length, before + 1);
        assert.match(guard.rejections.at(-1)!.reason, reason);
        assert.equal(guard.notifications.length, 0, 'nothing forged was accepted');
        assert.equal(guard.requests.length, 0, 'the respond hook never saw it');
      });
    }

    test('control: the same request with a well-formed token signed by the published key is accepted', async () => {
      const res = await post(`Bearer ${await sign({})}`);
      assert.equal(res.status, 202);
      assert.equal(guard.notifications.length, 1);
      assert.equal(guard.notifications[0]!.claims.tid, TENANT);
    });
  });

  test('delivery journal: GET /_emulator/deliveries?callId= pages with $top and @odata.nextLink; one delivered attempt per notification', async () => {
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id });
    await waitForState(h, created.id, 'established');
    assert.equal((await api(h, 'DELETE', `/beta/communications/calls/${created.id}`)).status, 204);
    const received = await bot.waitForCount(5, { callId: created.id });
    const rows = await settled(h, created.id);

    const pages: any[][] = [];
    let next: string | undefined = `/_emulator/deliveries?callId=${created.id}&$top=2`;
    while (next) {
      const r: Awaited<ReturnType<typeof api>> = await api(h, 'GET', next, undefined, { auth: false });
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.body.value));
      pages.push(r.body.value);
      next = r.body['@odata.nextLink'];
      if (next) {
        const u = new URL(next);
        assert.equal(u.origin, h.url, 'nextLink is absolute, on this server');
        assert.equal(u.pathname, '/_emulator/deliveries');
        assert.equal(u.searchParams.get('$top'), '2');
        assert.equal(u.searchParams.get('callId'), created.id);
        assert.ok(u.searchParams.get('$skiptoken'));
      }
      assert.ok(pages.length <= 10, 'pagination terminates');
    }
    assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
    const all = pages.flat();
    assert.deepEqual(all, await deliveries(h, created.id), 'pages concatenate to the whole journal');
    assert.deepEqual(all.map((a) => a.messageId), received.map((n) => n.messageId), 'journal order = arrival order');
    assert.deepEqual(all.map((a) => a.notificationSeq), rows.map((r) => r.seq));
    const seqs = all.map((a) => a.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    for (const a of all) {
      assert.equal(a.callId, created.id);
      assert.equal(a.attempt, 1);
      assert.equal(a.url, bot.callbackUri);
      assert.equal(a.status, 202);
      assert.equal(typeof a.latencyMs, 'number');
      assert.ok(a.latencyMs >= 0 && a.latencyMs < 5000, `latencyMs ${a.latencyMs}`);
      assert.equal(a.outcome, 'delivered');
      assert.equal(a.error, null);
      assert.match(a.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.deepEqual(rows.map((r) => r.state), ['delivered', 'delivered', 'delivered', 'delivered', 'delivered']);
    // A page size that divides the journal exactly has no dangling nextLink; $top out of range is a 400.
    const exact = await api(h, 'GET', `/_emulator/deliveries?callId=${created.id}&$top=5`, undefined, { auth: false });
    assert.equal(exact.body.value.length, 5);
    assert.equal(exact.body['@odata.nextLink'], undefined);
    assert.equal((await api(h, 'GET', `/_emulator/deliveries?callId=${created.id}&$top=0`, undefined, { auth: false })).status, 400);
  });
});
