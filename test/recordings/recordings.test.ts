import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHarness, CLIENT_ID, meetingCallBody, p2pCallBody, TENANT, tempDataDir, waitFor, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { channel, goertzel, parseWav, rms } from '../support/audio.js';
import { wavHeader } from '../../src/media/wav.js';

const RATE = 16_000;
const BYTES_PER_SECOND = RATE * 2;
const ORGANIZER = '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96';

const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });

async function recordingsOf(h: Harness, callId: string, n: number): Promise<any[]> {
  return waitFor(async () => {
    await advance(h, 0);
    const l = (await control(h, 'GET', `/_emulator/calls/${callId}/recordings`)).body.value;
    return l.length >= n ? l : null;
  }, `${n} recording(s) of ${callId}`, 20_000);
}

/** `seconds` [from, to) of a mono recording, fetched with a Range request. */
async function window(h: Harness, contentUrl: string, from: number, to: number): Promise<Int16Array> {
  const start = 44 + from * BYTES_PER_SECOND, end = 44 + to * BYTES_PER_SECOND - 1;
  const res = await h.comp.app.inject({ method: 'GET', url: contentUrl, headers: { authorization: h.auth, range: `bytes=${start}-${end}` } });
  assert.equal(res.statusCode, 206);
  const b = res.rawPayload;
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

const tonePower = (x: Int16Array, f: number) => goertzel(x, 0, x.length, f, RATE);

describe('recordings on the virtual clock', () => {
  let h: Harness;
  before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 }); });
  after(() => h.close());

  test('a one-hour three-party meeting: exactly one hour of audio whose content matches what each party sent', async () => {
    const created = await call(h, 'POST', '/beta/communications/calls', { body: meetingCallBody() });
    const id = created.body.id;
    await advance(h, 1000);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).body.state, 'established');
    const [, bob] = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
    const dave = (await control(h, 'POST', `/_emulator/calls/${id}/participants`, { displayName: 'Dave' })).body;
    assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${bob.id}/audio`, { type: 'tone', frequencyHz: 440 })).status, 200);
    assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${dave.id}/audio`, { type: 'tone', frequencyHz: 1000, amplitude: 0.2 })).status, 200);

    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
    await advance(h, 30 * 60_000);
    // A bot sends keepAlive every 15-45 minutes, or Graph ends the call.
    assert.equal((await call(h, 'POST', `/v1.0/communications/calls/${id}/keepAlive`)).status, 200);
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${dave.id}/mute`, { isMuted: true });
    await advance(h, 10 * 60_000);
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${dave.id}/mute`, { isMuted: false });
    await advance(h, 10 * 60_000);
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${bob.id}/audio`, { type: 'silence' });
    await advance(h, 10 * 60_000);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`)).status, 202);
    // (No wall-time bound: that an hour needs no hour of waiting shows in the file's run time, and a
    // bound would only fail on a busy machine.)
    const [rec] = await recordingsOf(h, id, 1);

    assert.equal(rec.sampleCount, 3600 * RATE, 'exactly one hour to the sample');
    assert.equal(rec.sizeBytes, 44 + 3600 * BYTES_PER_SECOND);
    assert.equal(rec.endedAt - rec.createdAt, 3_600_000);
    const url = `/beta${rec.path}/content`;
    const head = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth, range: 'bytes=0-43' } });
    assert.deepEqual(parseWav(Buffer.concat([head.rawPayload, Buffer.alloc(0)])).sampleRate, RATE);

    const first = await window(h, url, 0, 1);
    assert.ok(tonePower(first, 440) > 0.02, 'Bob at 440 Hz');
    assert.ok(tonePower(first, 1000) > 0.009, 'Dave at 1 kHz');
    const muted = await window(h, url, 35 * 60, 35 * 60 + 1);
    assert.ok(tonePower(muted, 440) > 0.02);
    assert.ok(tonePower(muted, 1000) < 1e-6, 'Dave muted: no 1 kHz');
    const unmuted = await window(h, url, 45 * 60, 45 * 60 + 1);
    assert.ok(tonePower(unmuted, 1000) > 0.009, 'Dave back');
    const last = await window(h, url, 3599, 3600);
    assert.ok(tonePower(last, 440) < 1e-6, 'Bob silent at the end');
    assert.ok(tonePower(last, 1000) > 0.009);
    assert.ok(tonePower(last, 700) < 1e-6, 'nothing at 700 Hz');
  });

  test('several segments give several recordings, each exactly as long as its start/stop interval', async () => {
    const created = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
    const id = created.body.id;
    await advance(h, 1000);
    const spans = [2500, 1000, 7250];
    for (const ms of spans) {
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
      await advance(h, ms);
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`)).status, 202);
      await advance(h, 333);
    }
    const recs = await recordingsOf(h, id, 3);
    assert.deepEqual(recs.map((r: any) => r.sampleCount), spans.map((ms) => (ms * RATE) / 1000));
    // Silence where nobody spoke.
    const res = await h.comp.app.inject({ method: 'GET', url: `/beta${recs[0].path.replace('/users/unknown/', `/users/8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d/`)}/content`, headers: { authorization: h.auth } });
    assert.equal(res.statusCode, 200);
    const w = parseWav(res.rawPayload);
    assert.equal(w.samples.length, 40_000);
    assert.equal(rms(w.samples, 0, w.samples.length), 0);
  });

  test('hanging up while recording ends the segment and renders it', async () => {
    const id = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    await advance(h, 1000);
    await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
    await advance(h, 1500);
    assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${id}`)).status, 204);
    const [rec] = await recordingsOf(h, id, 1);
    assert.equal(rec.sampleCount, 1.5 * RATE);
  });

  test('keepAlive: a call silent for 45 minutes ends with {408, 8537}; keepAlive keeps it; a gone call is 404', async () => {
    const kept = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    const dropped = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    await advance(h, 1000);
    await advance(h, 40 * 60_000);
    const ok = await call(h, 'POST', `/beta/communications/calls/${kept}/keepAlive`);
    assert.equal(ok.status, 200);
    assert.equal(ok.raw, '');
    await advance(h, 10 * 60_000);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${kept}`)).body.state, 'established');
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${dropped}`)).status, 404);
    const last = (await h.comp.store.listOutbox({ callId: dropped, limit: 100 })).filter((n) => n.changeType === 'deleted').at(-1)!;
    assert.deepEqual([(last.resourceData as any).resultInfo.code, (last.resourceData as any).resultInfo.subcode], [408, 8537]);
    const gone = await call(h, 'POST', `/beta/communications/calls/${dropped}/keepAlive`);
    assert.deepEqual([gone.status, gone.body.error.code], [404, '8522']);
    await call(h, 'DELETE', `/beta/communications/calls/${kept}`);
  });

  test('the clock: GET shows virtual time; `to` and bad bodies', async () => {
    const c = await control(h, 'GET', '/_emulator/clock');
    assert.equal(c.body.mode, 'virtual');
    const target = new Date(Date.parse(c.body.now) + 5000).toISOString();
    assert.equal((await control(h, 'POST', '/_emulator/clock/advance', { to: target })).body.now, target);
    assert.equal((await control(h, 'POST', '/_emulator/clock/advance', { ms: -1 })).status, 400);
    assert.equal((await control(h, 'POST', '/_emulator/clock/advance', { to: '2000-01-01T00:00:00Z' })).status, 400);
  });
});

describe('recordings as Graph resources', () => {
  let h: Harness;
  let meetingRec: any;
  let adhocRec: any;
  const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';

  before(async () => {
    h = await buildHarness({ clock: 'virtual', answerDelayMs: 10, operationDelayMs: 10 });
    const m = (await call(h, 'POST', '/beta/communications/calls', { body: meetingCallBody() })).body.id;
    const p = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    await advance(h, 100);
    for (const id of [m, p]) {
      const [, other] = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
      await control(h, 'POST', `/_emulator/calls/${id}/participants/${other.id}/audio`, { type: 'tone', frequencyHz: 600 });
      await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
    }
    await advance(h, 2000);
    for (const id of [m, p]) await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`);
    [meetingRec] = await recordingsOf(h, m, 1);
    [adhocRec] = await recordingsOf(h, p, 1);
  });
  after(() => h.close());

  test('meeting recordings: listed under the online meeting and the organizer, with the callRecording shape', async () => {
    const mid = meetingRec.meetingId;
    assert.equal(Buffer.from(mid, 'base64url').toString(), `1*${ORGANIZER}*0**19:meeting_abc@thread.v2`);
    const list = await call(h, 'GET', `/beta/communications/onlineMeetings/${mid}/recordings`);
    assert.equal(list.status, 200);
    assert.equal(list.body['@odata.context'], 'http://localhost:80/beta/$metadata#Collection(microsoft.graph.callRecording)');
    const r = list.body.value[0];
    assert.deepEqual(Object.keys(r).sort(), ['@odata.type', 'callId', 'contentCorrelationId', 'createdDateTime', 'endDateTime', 'id', 'meetingId', 'meetingOrganizer', 'recordingContentUrl'].sort());
    assert.equal(r['@odata.type'], '#microsoft.graph.callRecording');
    assert.equal(r.meetingOrganizer.user.id, ORGANIZER);
    assert.equal(Date.parse(r.endDateTime) - Date.parse(r.createdDateTime), 2000);
    assert.equal(r.recordingContentUrl, `http://localhost:80/beta/communications/onlineMeetings/${mid}/recordings/${r.id}/content`);
    for (const v of ['v1.0', 'beta']) {
      const byUser = await call(h, 'GET', `/${v}/users/${ORGANIZER}/onlineMeetings/${mid}/recordings/${r.id}`);
      assert.equal(byUser.status, 200, v);
      assert.equal(byUser.body.id, r.id);
    }
    assert.equal((await call(h, 'GET', `/v1.0/users/someone-else/onlineMeetings/${mid}/recordings/${r.id}`)).status, 404);
    assert.equal((await call(h, 'GET', `/v1.0/communications/onlineMeetings/${mid}/recordings`)).status, 200, 'v1.0 too (CSDL and SDKs route it)');
  });

  test('ad hoc call recordings: under each participant user', async () => {
    const base = `/v1.0/users/${ALICE}/adhocCalls/${adhocRec.callId}/recordings`;
    const list = await call(h, 'GET', base);
    assert.equal(list.status, 200);
    assert.equal(list.body.value.length, 1);
    assert.equal(list.body.value[0].meetingId, null);
    const content = await h.comp.app.inject({ method: 'GET', url: `${base}/${adhocRec.id}/content`, headers: { authorization: h.auth } });
    assert.equal(content.statusCode, 200);
    assert.ok(goertzel(parseWav(content.rawPayload).samples, 0, 16000, 600, RATE) > 0.02);
    assert.equal((await call(h, 'GET', `/v1.0/users/not-in-call/adhocCalls/${adhocRec.callId}/recordings/${adhocRec.id}`)).status, 404);
  });

  test('getAllRecordings: by organizer or by user, date-filtered and paged', async () => {
    const all = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='${ORGANIZER}',startDateTime=2020-01-01T00:00:00Z,endDateTime=2099-01-01T00:00:00Z)`);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.value.map((r: any) => r.id), [meetingRec.id]);
    const none = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='${ORGANIZER}',startDateTime=2099-01-01T00:00:00Z)`);
    assert.deepEqual(none.body.value, []);
    const adhoc = await call(h, 'GET', `/beta/users/${ALICE}/adhocCalls/microsoft.graph.getAllRecordings(userId='${ALICE}')?$top=1`);
    assert.equal(adhoc.status, 200);
    assert.deepEqual(adhoc.body.value.map((r: any) => r.id), [adhocRec.id]);
    const bad = await call(h, 'GET', `/v1.0/users/${ALICE}/adhocCalls/getAllRecordings(startDateTime=yesterday)`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /startDateTime/);
  });

  test('content: Range (206, suffix, 416), ETag and If-None-Match, Content-Type', async () => {
    const url = `/beta/communications/onlineMeetings/${meetingRec.meetingId}/recordings/${meetingRec.id}/content`;
    const full = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth } });
    assert.equal(full.statusCode, 200);
    assert.equal(full.headers['content-type'], 'audio/wav');
    assert.equal(full.headers['accept-ranges'], 'bytes');
    assert.equal(Number(full.headers['content-length']), meetingRec.sizeBytes);
    const etag = full.headers.etag as string;
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    const part = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth, range: 'bytes=44-143' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], `bytes 44-143/${meetingRec.sizeBytes}`);
    assert.deepEqual(part.rawPayload, full.rawPayload.subarray(44, 144));
    const suffix = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth, range: 'bytes=-10' } });
    assert.deepEqual(suffix.rawPayload, full.rawPayload.subarray(full.rawPayload.length - 10));
    const beyond = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth, range: `bytes=${meetingRec.sizeBytes}-` } });
    assert.equal(beyond.statusCode, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${meetingRec.sizeBytes}`);
    const cached = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth, 'if-none-match': etag } });
    assert.equal(cached.statusCode, 304);
    assert.equal(cached.rawPayload.length, 0);
  });

  test('permissions and tenancy: recording roles are required; another tenant sees nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-rec-'));
    const file = join(dir, 'apps.json');
    const other = { tenantId: '22222222-2222-4222-8222-222222222222', clientId: '66666666-6666-4666-8666-666666666666', clientSecret: 's', roles: ['OnlineMeetingRecording.Read.All', 'CallRecordings.Read.All'] };
    const noRole = { tenantId: TENANT, clientId: '77777777-7777-4777-8777-777777777777', clientSecret: 's', roles: ['Calls.Initiate.All'] };
    writeFileSync(file, JSON.stringify([other, noRole]));
    // Same data, other apps: a second harness would have other data, so issue tokens from this one's registry.
    const reg = await buildHarness({ appsFile: file });
    try {
      const otherTok = (await h.comp.tokens.issue({ ...other, displayName: 'o', callbackUri: null })).accessToken;
      const noRoleTok = (await h.comp.tokens.issue({ ...noRole, displayName: 'n', callbackUri: null })).accessToken;
      // h's registry lacks these apps, so their tokens are refused outright: the same holds for unknown apps.
      const url = `/beta/communications/onlineMeetings/${meetingRec.meetingId}/recordings/${meetingRec.id}`;
      assert.equal((await call(h, 'GET', url, { auth: `Bearer ${otherTok}` })).status, 401);
      assert.ok(noRoleTok);
      const regNoRole = (await reg.comp.tokens.issue({ ...noRole, displayName: 'n', callbackUri: null })).accessToken;
      const denied = await call(reg, 'GET', `/beta/communications/onlineMeetings/x/recordings`, { auth: `Bearer ${regNoRole}` });
      assert.equal(denied.status, 403);
      assert.match(denied.body.error.message, /OnlineMeetingRecording\.Read\.All/);
      const regOther = (await reg.comp.tokens.issue({ ...other, displayName: 'o', callbackUri: null })).accessToken;
      assert.equal((await call(reg, 'GET', `/beta/communications/onlineMeetings/${meetingRec.meetingId}/recordings`, { auth: `Bearer ${regOther}` })).body.value.length, 0);
    } finally {
      await reg.close();
    }
  });

  test('the meeting chat keeps a callRecordingEventMessageDetail per recording', async () => {
    const msgs = await control(h, 'GET', `/_emulator/meetings/${meetingRec.meetingId}/messages`);
    assert.equal(msgs.body.value.length, 1);
    const m = msgs.body.value[0];
    assert.equal(m['@odata.type'], '#microsoft.graph.callRecordingEventMessageDetail');
    assert.equal(m.callRecordingDuration, 'PT2S');
    assert.equal(m.callRecordingStatus, 'success');
    assert.equal(m.meetingOrganizer.user.id, ORGANIZER);
  });
});

describe('media sources and files', () => {
  test('an uploaded WAV (any rate, stereo) plays into the recording; speech says clearly when espeak-ng is absent', async () => {
    const h = await buildHarness({ clock: 'virtual', answerDelayMs: 10, operationDelayMs: 10, recordingChannels: 'perParticipant' });
    try {
      // 1 s of 500 Hz at 8 kHz stereo.
      const frames = 8000;
      const pcm = Buffer.alloc(frames * 4);
      for (let i = 0; i < frames; i++) {
        const v = Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * 500 * i) / 8000));
        pcm.writeInt16LE(v, i * 4);
        pcm.writeInt16LE(v, i * 4 + 2);
      }
      const wav = Buffer.concat([wavHeader(8000, 2, frames), pcm]);
      const up = await h.comp.app.inject({ method: 'POST', url: '/_emulator/media', headers: { 'content-type': 'audio/wav' }, payload: wav });
      assert.equal(up.statusCode, 201);
      const { mediaId, durationMs } = JSON.parse(up.body);
      assert.equal(durationMs, 1000);
      const junk = await h.comp.app.inject({ method: 'POST', url: '/_emulator/media', headers: { 'content-type': 'audio/wav' }, payload: Buffer.from('nope') });
      assert.equal(junk.statusCode, 400);

      const id = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
      await advance(h, 100);
      const [bot, alice] = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
      assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${alice.id}/audio`, { type: 'clip', mediaId })).status, 200);
      assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${bot.id}/audio`, { type: 'tone', frequencyHz: 1500 })).status, 200, 'the bot sends audio too');
      assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${alice.id}/audio`, { type: 'tone', frequencyHz: 9000 })).status, 400);
      const speech = await control(h, 'POST', `/_emulator/calls/${id}/participants/${alice.id}/audio`, { type: 'speech', text: 'hello' });
      if (h.comp.library.speech.available) assert.equal(speech.status, 200);
      else {
        assert.equal(speech.status, 503);
        assert.match(speech.body.error.message, /espeak-ng/);
        await control(h, 'POST', `/_emulator/calls/${id}/participants/${alice.id}/audio`, { type: 'clip', mediaId });
      }
      await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
      await advance(h, 2000);
      await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`);
      const [rec] = await recordingsOf(h, id, 1);
      assert.equal(rec.channels, 2, 'one channel per participant');
      const res = await h.comp.app.inject({ method: 'GET', url: `/beta/users/8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d/adhocCalls/${id}/recordings/${rec.id}/content`, headers: { authorization: h.auth } });
      const w = parseWav(res.rawPayload);
      const botCh = channel(w, 0), aliceCh = channel(w, 1);
      assert.ok(goertzel(botCh, 0, 16000, 1500, RATE) > 0.02, 'bot channel: 1.5 kHz');
      assert.ok(goertzel(botCh, 0, 16000, 500, RATE) < 1e-6);
      // The clip started when it was set (before recording began), lasted 1 s and does not loop.
      assert.ok(rms(aliceCh, 16000, 32000) === 0, 'clip over: silence');
    } finally {
      await h.close();
    }
  });

  test('--recording-format mp3: an MPEG audio file of the right length', async () => {
    const h = await buildHarness({ clock: 'virtual', answerDelayMs: 10, operationDelayMs: 10, recordingFormat: 'mp3' });
    try {
      const id = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
      await advance(h, 100);
      const [, alice] = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
      await control(h, 'POST', `/_emulator/calls/${id}/participants/${alice.id}/audio`, { type: 'tone', frequencyHz: 440 });
      await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
      await advance(h, 10_000);
      await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`);
      const [rec] = await recordingsOf(h, id, 1);
      assert.equal(rec.contentType, 'audio/mpeg');
      assert.equal(rec.sampleCount, 10 * RATE);
      const res = await h.comp.app.inject({ method: 'GET', url: `/beta/users/8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d/adhocCalls/${id}/recordings/${rec.id}/content`, headers: { authorization: h.auth } });
      assert.equal(res.headers['content-type'], 'audio/mpeg');
      const b = res.rawPayload;
      assert.equal(b.length, rec.sizeBytes);
      // An MPEG-1/2 Layer III frame header: 11 sync bits, then layer bits 01.
      assert.equal(b[0], 0xff);
      assert.equal(b[1]! & 0xe0, 0xe0);
      assert.equal((b[1]! >> 1) & 0x3, 0x1);
      // 32 kbit/s for 10 s is about 40 kB.
      assert.ok(b.length > 30_000 && b.length < 60_000, `${b.length} bytes`);
    } finally {
      await h.close();
    }
  });

  test('a render interrupted by a crash runs again after the restart, and no half file is ever listed', async () => {
    const data = tempDataDir();
    try {
      let h = await buildHarness({ inMemory: false, dataDir: data.dir, clock: 'virtual', answerDelayMs: 10, operationDelayMs: 10 });
      const id = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
      await advance(h, 100);
      await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
      await advance(h, 1500);
      // Stop without letting the render job run, then "crash" (renders happen in memory: nothing is left on disk).
      await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`);
      assert.equal((await h.comp.store.unrenderedSegments(id)).length, 1);
      assert.equal((await control(h, 'GET', `/_emulator/calls/${id}/recordings`)).body.value.length, 0, 'nothing listed before the render completes');
      await h.comp.store.close();
      await h.comp.app.close();
      // Restarted on the real clock: the pending render job (due at a virtual instant in the past) runs at once.
      h = await buildHarness({ inMemory: false, dataDir: data.dir });
      try {
        const rec = await waitFor(async () => (await control(h, 'GET', `/_emulator/calls/${id}/recordings`)).body.value[0], 'the re-run render');
        assert.equal(rec.sampleCount, 1.5 * RATE);
        // The bytes live in the database with the recording, whole.
        const content = await h.comp.app.inject({ method: 'GET', url: `/_emulator/recordings/${rec.id}/content` });
        assert.equal(content.rawPayload.length, rec.sizeBytes);
        assert.ok(!existsSync(join(data.dir, 'recordings')), 'renders write nothing to the data directory');
      } finally {
        await h.close();
      }
    } finally {
      data.cleanup();
    }
  });

  test('recordings and their files survive a restart; the real clock refuses to be advanced', async () => {
    const data = tempDataDir();
    try {
      let h = await buildHarness({ inMemory: false, dataDir: data.dir, answerDelayMs: 10, operationDelayMs: 10 });
      const id = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
      await waitFor(async () => (await call(h, 'GET', `/beta/communications/calls/${id}`)).body.state === 'established', 'established');
      assert.equal((await control(h, 'POST', '/_emulator/clock/advance', { ms: 1 })).status, 409);
      await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
      await new Promise((r) => setTimeout(r, 300));
      await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`);
      const [rec] = await recordingsOf(h, id, 1);
      await h.close();
      h = await buildHarness({ inMemory: false, dataDir: data.dir });
      try {
        const url = `/v1.0/users/8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d/adhocCalls/${id}/recordings/${rec.id}/content`;
        const res = await h.comp.app.inject({ method: 'GET', url, headers: { authorization: h.auth } });
        assert.equal(res.statusCode, 200);
        assert.equal(res.rawPayload.length, rec.sizeBytes);
        assert.equal(res.headers.etag, rec.etag);
      } finally {
        await h.close();
      }
    } finally {
      data.cleanup();
    }
  });
});
void CLIENT_ID;
