import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { onlineMeetingId } from '../../src/domain/online-meeting.js';
import { CLIENT_ID, TENANT, meetingCallBody, p2pCallBody, startServer, tempDataDir, waitFor, type Harness, type ServerHarness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { selfSignedCertificate, startSubscriber, type Subscriber } from '../support/subscriber.js';
import type { Config } from '../../src/config.js';

const MIN = 60_000;
const ORGANIZER = '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96';
const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
const MEETING = onlineMeetingId(ORGANIZER, '19:meeting_abc@thread.v2');
const CLIENT_STATE = 'secretClientValue';

const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const iso = (ms: number) => new Date(ms).toISOString();

async function subscribe(h: Harness, sub: Subscriber, resource: string, extra: Record<string, unknown> = {}, version = 'v1.0'): Promise<any> {
  const res = await call(h, 'POST', `/${version}/subscriptions`, {
    body: { changeType: 'created', notificationUrl: sub.notificationUrl, resource, expirationDateTime: iso(h.comp.virtualClock!.now() + 50 * MIN), clientState: CLIENT_STATE, ...extra },
  });
  assert.equal(res.status, 201, res.raw);
  return res.body;
}

/** A call recorded for `seconds`; resolves with the call id and its recording (control-plane view). */
async function recordCall(h: Harness, body: Record<string, unknown>, seconds: number): Promise<{ callId: string; rec: any }> {
  const created = await call(h, 'POST', '/beta/communications/calls', { body: { ...body, callbackUri: 'http://127.0.0.1:9/callback' } });
  assert.equal(created.status, 201, created.raw);
  const callId = created.body.id;
  await advance(h, 1000);
  assert.equal((await call(h, 'POST', `/beta/communications/calls/${callId}/startRecording`)).status, 202);
  await advance(h, seconds * 1000);
  assert.equal((await call(h, 'POST', `/beta/communications/calls/${callId}/stopRecording`)).status, 202);
  const [rec] = await waitFor(async () => {
    await advance(h, 0);
    const l = (await call(h, 'GET', `/_emulator/calls/${callId}/recordings`, { auth: false })).body.value;
    return l.length ? l : null;
  }, 'a recording', 20_000);
  return { callId, rec };
}

const items = (sub: Subscriber, path = '/notifications') => sub.received.filter((r) => r.path === path).flatMap((r) => r.body.value.map((v: any, i: number) => ({ ...v, decrypted: r.decrypted[i], claims: r.tokenClaims, headers: r.headers })));

describe('change notifications for recordings', () => {
  let h: ServerHarness;
  let sub: Subscriber;
  const cert = selfSignedCertificate();
  before(async () => {
    h = await startServer({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 });
    sub = await startSubscriber({ graphCallsUrl: h.url, tenantId: TENANT, appId: CLIENT_ID, clientState: CLIENT_STATE, certificate: cert });
  });
  after(async () => { await sub.close(); await h.close(); });

  test('a recorded meeting: one changeNotificationCollection per matching subscription; rich ones decrypt and verify; the recording downloads', async () => {
    const tenantWide = await subscribe(h, sub, 'communications/onlineMeetings/getAllRecordings');
    const perMeeting = await subscribe(h, sub, `communications/onlineMeetings/${MEETING}/recordings`, { includeResourceData: true, encryptionCertificate: cert.base64, encryptionCertificateId: 'pipeline-cert-1' });
    const byOrganizer = await subscribe(h, sub, `users/${ORGANIZER}/onlineMeetings/getAllRecordings`, {}, 'beta');
    const transcripts = await subscribe(h, sub, 'communications/onlineMeetings/getAllTranscripts');
    const otherMeeting = await subscribe(h, sub, `communications/onlineMeetings/${onlineMeetingId(ORGANIZER, '19:meeting_other@thread.v2')}/recordings`);
    const adhoc = await subscribe(h, sub, 'communications/adhocCalls/getAllRecordings', {}, 'beta');
    const before = items(sub).length;

    const { callId, rec } = await recordCall(h, meetingCallBody(), 3);
    await sub.waitFor(() => items(sub).length >= before + 3, 'three change notifications');
    await advance(h, 0);
    const got = items(sub).slice(before);
    assert.deepEqual(got.map((n) => n.subscriptionId).sort(), [tenantWide.id, perMeeting.id, byOrganizer.id].sort());
    assert.ok(!got.some((n) => [transcripts.id, otherMeeting.id, adhoc.id].includes(n.subscriptionId)));
    assert.deepEqual(sub.refused, []);

    const resource = `users/${ORGANIZER}/onlineMeetings('${MEETING}')/recordings('${rec.id}')`;
    const basic = got.find((n) => n.subscriptionId === tenantWide.id)!;
    const { decrypted: _d, claims: _c, headers, ...wire } = basic;
    assert.deepEqual(wire, {
      subscriptionId: tenantWide.id, changeType: 'created', tenantId: TENANT, clientState: CLIENT_STATE,
      subscriptionExpirationDateTime: tenantWide.expirationDateTime, resource,
      resourceData: { id: rec.id, '@odata.type': '#Microsoft.Graph.callRecording', '@odata.id': resource },
    });
    assert.equal(headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(headers.authorization, undefined, 'change notifications carry no bearer token');
    const basicPost = sub.received.find((r) => r.body.value.some((v: any) => v.subscriptionId === tenantWide.id))!;
    assert.equal(basicPost.body.validationTokens, undefined, 'no validationTokens without resource data');
    assert.equal(basicPost.query, '?tenant=a', "the notificationUrl's query is kept on every POST");

    const rich = got.find((n) => n.subscriptionId === perMeeting.id)!;
    assert.equal(rich.encryptedContent.encryptionCertificateId, 'pipeline-cert-1');
    assert.equal(rich.encryptedContent.encryptionCertificateThumbprint, cert.thumbprint);
    assert.equal(rich.claims.length, 1);
    assert.equal(rich.claims[0].aud, CLIENT_ID);
    assert.equal(rich.claims[0].tid, TENANT);
    assert.equal(rich.claims[0].iss, `https://login.microsoftonline.com/${TENANT}/v2.0`);
    const data = rich.decrypted as any;
    assert.equal(data.id, rec.id);
    assert.equal(data.meetingId, MEETING);
    assert.equal(data.callId, callId);
    assert.equal(data.content, null);
    assert.equal(data.contentCorrelationId, rec.contentCorrelationId);
    assert.equal(data.meetingOrganizer.user.id, ORGANIZER);
    assert.equal(data.recordingContentUrl, `users/${ORGANIZER}/onlineMeetings/${MEETING}/recordings/${rec.id}/content`);

    // What the pipeline does next: fetch the bytes at the URL the notification gave it.
    const content = await h.comp.app.inject({ method: 'GET', url: `/v1.0/${data.recordingContentUrl}`, headers: { authorization: h.auth } });
    assert.equal(content.statusCode, 200);
    assert.equal(content.rawPayload.length, rec.sizeBytes);

    // Graph sends nothing about recordings to the bot's callbackUri (off by default).
    const outbox = (await call(h, 'GET', `/_emulator/outbox?callId=${callId}`, { auth: false })).body.value as any[];
    assert.ok(outbox.length > 0);
    assert.ok(!outbox.some((n) => n.resourceUrl.includes('/recordings')), 'no recording commsNotification');
    // Deliveries are journalled with the call notifications, on the subscription's lane.
    const journal = (await call(h, 'GET', `/_emulator/deliveries?callId=subscription:${perMeeting.id}`, { auth: false })).body.value as any[];
    assert.equal(journal.length, 1);
    assert.equal(journal[0].outcome, 'delivered');
    assert.equal(journal[0].url, sub.notificationUrl);
  });

  test('an ad hoc call (beta resources): tenant-wide and per-user subscriptions', async () => {
    // The first test subscribed tenant-wide already (and a second one would be a duplicate).
    const tenant = (await call(h, 'GET', '/beta/subscriptions')).body.value.find((x: any) => x.resource === 'communications/adhocCalls/getAllRecordings');
    assert.ok(tenant);
    const byUser = await subscribe(h, sub, `users/${ALICE}/adhocCalls/getAllRecordings`, {}, 'beta');
    const before = items(sub).length;
    const { callId, rec } = await recordCall(h, p2pCallBody(), 2);
    await sub.waitFor(() => items(sub).length >= before + 2, 'two change notifications');
    const got = items(sub).slice(before);
    assert.deepEqual(got.map((n) => n.subscriptionId).sort(), [tenant.id, byUser.id].sort());
    for (const n of got) assert.equal(n.resource, `users/${ALICE}/adhocCalls('${callId}')/recordings('${rec.id}')`);
  });

  test('a transcribed ad hoc call: the transcript is announced like a recording, rich data decrypts to its GET shape', async () => {
    const byUser = await subscribe(h, sub, `users/${ALICE}/adhocCalls/getAllTranscripts`, { includeResourceData: true, encryptionCertificate: cert.base64, encryptionCertificateId: 'transcripts-cert' }, 'beta');
    const recordingsOnly = (await call(h, 'GET', '/beta/subscriptions')).body.value.find((x: any) => x.resource === `users/${ALICE}/adhocCalls/getAllRecordings`);
    const before = items(sub).length;
    const created = await call(h, 'POST', '/beta/communications/calls', { body: { ...p2pCallBody(), callbackUri: 'http://127.0.0.1:9/callback' } });
    const callId = created.body.id;
    await advance(h, 1000);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${callId}/startTranscription`, { body: { language: 'en-us' } })).status, 202);
    await advance(h, 2000);
    // The call ends while transcribing: the open window is transcribed up to the end.
    assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${callId}`)).status, 204);
    await advance(h, 1000);
    await sub.waitFor(() => items(sub).slice(before).some((n) => n.subscriptionId === byUser.id), 'a transcript change notification');
    const got = items(sub).slice(before).filter((n) => n.subscriptionId === byUser.id);
    assert.equal(got.length, 1);
    assert.ok(!items(sub).slice(before).some((n) => n.subscriptionId === recordingsOnly?.id), 'nothing for the recordings subscription');
    const n = got[0]!;
    const data = n.decrypted as any;
    assert.match(n.resource, new RegExp(`^users/${ALICE}/adhocCalls\\('${callId}'\\)/transcripts\\('[^']+'\\)$`));
    assert.equal(n.resourceData['@odata.type'], '#Microsoft.Graph.callTranscript');
    assert.equal(data.callId, callId);
    assert.equal(data.meetingId, null);
    assert.equal(data.transcriptContentUrl, `users/${ALICE}/adhocCalls/${callId}/transcripts/${data.id}/content`);
    const vtt = await h.comp.app.inject({ method: 'GET', url: `/v1.0/${data.transcriptContentUrl}`, headers: { authorization: h.auth } });
    assert.equal(vtt.statusCode, 200);
    assert.match(vtt.body, /^WEBVTT/);
  });
});

describe('change-notification delivery: retries and injected faults', () => {
  let h: ServerHarness;
  let sub: Subscriber;
  const cert = selfSignedCertificate();
  before(async () => {
    h = await startServer({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500, deliveryRetryBaseMs: 1000, deliveryRetryMaxMs: 5000 });
    sub = await startSubscriber({ graphCallsUrl: h.url, tenantId: TENANT, appId: CLIENT_ID, clientState: CLIENT_STATE, certificate: cert });
  });
  after(async () => { await sub.close(); await h.close(); });

  const fault = async (action: Record<string, unknown>) => {
    const res = await call(h, 'POST', '/_emulator/faults', { body: { side: 'notification', match: { route: "/recordings('" }, action, once: true }, auth: false });
    assert.equal(res.status, 201, res.raw);
  };
  const journalOf = async (id: string) => (await call(h, 'GET', `/_emulator/deliveries?callId=subscription:${id}`, { auth: false })).body.value as any[];

  test('a 5xx is retried with backoff on the call clock until a 2xx; a bad validationToken is refused and retried; drop, duplicate', async () => {
    const s = await subscribe(h, sub, 'communications/onlineMeetings/getAllRecordings', { includeResourceData: true, encryptionCertificate: cert.base64, encryptionCertificateId: 'c1' });
    // 1) The endpoint is down: retried until it answers.
    sub.status = 503;
    await recordCall(h, meetingCallBody(), 1);
    await waitFor(async () => (await journalOf(s.id)).length >= 1, 'a first attempt');
    assert.equal((await journalOf(s.id))[0].outcome, 'retry');
    assert.equal((await journalOf(s.id))[0].status, 503);
    sub.status = 202;
    const received = sub.received.length;
    for (let i = 0; i < 20 && sub.received.length === received; i++) await advance(h, 1000);
    await sub.waitFor(() => sub.received.length > received, 'the retry');
    // The attempt is journalled once the subscriber's answer is back, which is after it counted the POST.
    await waitFor(async () => (await journalOf(s.id)).at(-1).outcome === 'delivered', 'the delivered attempt in the journal');

    // 2) A bad token: the subscriber refuses it (400), graph-calls retries with a good one.
    await fault({ type: 'badToken', token: 'wrongAudience' });
    const refused = sub.refused.length;
    const before2 = sub.received.length;
    await recordCall(h, meetingCallBody(), 1);
    await sub.waitFor(() => sub.refused.length > refused, 'a refused notification');
    assert.match(sub.refused.at(-1)!.reason, /^validationToken: unexpected "aud" claim value/);
    for (let i = 0; i < 20 && sub.received.length === before2; i++) await advance(h, 1000);
    await sub.waitFor(() => sub.received.length > before2, 'the retry with a good token');

    // 3) Dropped: journalled as dropped, never seen.
    await fault({ type: 'drop' });
    const before3 = sub.received.length;
    const attempts3 = (await journalOf(s.id)).length;
    await recordCall(h, meetingCallBody(), 1);
    // The journal may still be taking step 2's delivered attempt: wait for the dropped one itself.
    await waitFor(async () => (await journalOf(s.id)).at(-1).outcome === 'dropped', 'the dropped attempt');
    assert.ok((await journalOf(s.id)).length > attempts3);
    await advance(h, 60_000);
    assert.equal(sub.received.length, before3);

    // 4) Duplicated: the same collection arrives twice.
    await fault({ type: 'duplicate' });
    const before4 = sub.received.length;
    await recordCall(h, meetingCallBody(), 1);
    await sub.waitFor(() => sub.received.length >= before4 + 2, 'the duplicate');
    const [a, b] = sub.received.slice(before4);
    assert.deepEqual(a!.body.value, b!.body.value);
  });

  test('a deleted subscription gets nothing more, even what was pending', async () => {
    const s = await subscribe(h, sub, `users/${ORGANIZER}/onlineMeetings/getAllRecordings`);
    sub.status = 500;
    await recordCall(h, meetingCallBody(), 1);
    await waitFor(async () => (await journalOf(s.id)).length >= 1, 'a first attempt');
    assert.equal((await call(h, 'DELETE', `/v1.0/subscriptions/${s.id}`)).status, 204);
    sub.status = 202;
    const count = sub.received.filter((r) => r.body.value.some((v: any) => v.subscriptionId === s.id)).length;
    for (let i = 0; i < 10; i++) await advance(h, 1000);
    await waitFor(async () => (await journalOf(s.id)).at(-1).outcome === 'dead', 'the pending notification set aside');
    assert.match((await journalOf(s.id)).at(-1).error, /subscription was deleted/);
    assert.equal(sub.received.filter((r) => r.body.value.some((v: any) => v.subscriptionId === s.id)).length, count);
  });
});

for (const engine of ['sqlite', 'postgres'] as const) {
  describe(`subscriptions and pending change notifications survive a restart (${engine})`, () => {
    let db: TestDatabase | null = null;
    let dir: { dir: string; cleanup(): void };
    let sub: Subscriber;
    before(async () => {
      if (engine === 'postgres') db = await createTestDatabase();
      dir = tempDataDir();
      sub = await startSubscriber({ graphCallsUrl: 'http://127.0.0.1:9', tenantId: TENANT, appId: CLIENT_ID, clientState: CLIENT_STATE });
    });
    after(async () => { await sub.close(); await db?.drop(); dir.cleanup(); });
    const config = (): Partial<Config> => ({
      clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500, deliveryRetryBaseMs: 1000, deliveryRetryMaxMs: 2000,
      inMemory: false, dataDir: dir.dir, ...(db ? { db: db.url } : {}),
    });

    test('a subscription and an undelivered notification, across a restart', async () => {
      let h = await startServer(config());
      const s = await subscribe(h, sub, 'communications/onlineMeetings/getAllRecordings', { lifecycleNotificationUrl: sub.lifecycleUrl, expirationDateTime: iso(h.comp.virtualClock!.now() + 3 * 60 * MIN) });
      sub.status = 503;
      const { rec } = await recordCall(h, meetingCallBody(), 1);
      await waitFor(async () => (await call(h, 'GET', `/_emulator/deliveries?callId=subscription:${s.id}`, { auth: false })).body.value.length >= 1, 'a failed attempt');
      await h.close();

      sub.status = 202;
      h = await startServer(config());
      try {
        const listed = (await call(h, 'GET', '/v1.0/subscriptions')).body.value;
        assert.deepEqual(listed.map((x: any) => x.id), [s.id]);
        for (let i = 0; i < 10 && !sub.received.some((r) => r.path === '/notifications'); i++) await advance(h, 1000);
        await sub.waitFor(() => sub.received.some((r) => r.path === '/notifications'), 'the pending notification after the restart');
        const n = sub.received.find((r) => r.path === '/notifications')!.body.value[0];
        assert.equal(n.subscriptionId, s.id);
        assert.equal(n.resourceData.id, rec.id);
        // Its timers survived too: reauthorizationRequired 15 minutes before expiry, then it expires.
        await advance(h, 3 * 60 * MIN - 16 * MIN);
        await advance(h, 2 * MIN);
        await sub.waitFor(() => sub.received.some((r) => r.path === '/lifecycle'), 'reauthorizationRequired after the restart');
        await advance(h, 15 * MIN);
        assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${s.id}`)).status, 404);
      } finally {
        await h.close();
      }
    });
  });
}
