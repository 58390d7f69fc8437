import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, DEV_APP, p2pCallBody, type Harness } from '../support/harness.js';
import { call, snapshot } from '../support/inject.js';
import { goertzel, parseWav, rms } from '../support/audio.js';
import { wavHeader } from '../../src/media/wav.js';

/**
 * The service-hosted media actions on the virtual clock: playPrompt, recordResponse / record,
 * cancelMediaProcessing, subscribeToTone, sendDtmfTones, and the far side's key presses.
 */

const RATE = 16_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OK = { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' };
const CANCELLED = { '@odata.type': '#microsoft.graph.resultInfo', code: 400, subcode: 8508, message: 'Action failed, the operation was cancelled.' };

const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
const prompt = (uri: string) => ({ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri, resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E' } });
const tonePower = (x: Int16Array, from: number, to: number, f: number) => goertzel(x, from, to, f, RATE);

/** A WAV of `ms` of a sine at `f` Hz (16 kHz mono), as a bot would host a prompt file. */
function sineWav(f: number, ms: number, amplitude = 0.5): Buffer {
  const n = (ms * RATE) / 1000;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(amplitude * 32767 * Math.sin((2 * Math.PI * f * i) / RATE)), i * 2);
  return Buffer.concat([wavHeader(RATE, 1, n), data]);
}

async function upload(h: Harness, wav: Buffer): Promise<string> {
  const res = await h.comp.app.inject({ method: 'POST', url: '/_emulator/media', headers: { 'content-type': 'audio/wav', 'x-graph-calls-control': '1' }, payload: wav });
  assert.equal(res.statusCode, 201, res.body);
  return JSON.parse(res.body).mediaId;
}

describe('media actions (service-hosted media) on the virtual clock', () => {
  let h: Harness;
  before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 }); });
  after(() => h.close());

  async function established(body = p2pCallBody()): Promise<{ id: string; far: string }> {
    const created = await call(h, 'POST', '/beta/communications/calls', { body });
    assert.equal(created.status, 201, created.raw);
    await advance(h, 1000);
    const parts = (await call(h, 'GET', `/beta/communications/calls/${created.body.id}/participants`)).body.value;
    return { id: created.body.id, far: parts.find((p: any) => !p.info.identity.application).id };
  }
  const outbox = async (id: string) => h.comp.store.listOutbox({ callId: id, limit: 1000 });
  const opNotifications = async (id: string, opId: string) => (await outbox(id)).filter((n) => n.resourceUrl === `/communications/calls/${id}/operations/${opId}`);
  const getOp = async (id: string, opId: string, v = 'beta') => (await call(h, 'GET', `/${v}/communications/calls/${id}/operations/${opId}`)).body;
  const speak = (id: string, pid: string, source: unknown) => control(h, 'POST', `/_emulator/calls/${id}/participants/${pid}/audio`, source);

  test('playPrompt: 200 + Location + running playPromptOperation; deleted/completed when the clip ends; heard in the recording', async () => {
    const { id } = await established();
    const mediaId = await upload(h, sineWav(700, 1500));
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
    await advance(h, 500);
    const res = await call(h, 'POST', `/beta/communications/calls/${id}/playPrompt`, {
      body: { clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c', prompts: [prompt(`https://cdn.contoso.com/prompts/${mediaId}.wav`)] },
    });
    assert.equal(res.status, 200, res.raw);
    const op = res.body;
    assert.match(op.id, GUID);
    assert.equal(res.headers.location, `http://localhost:80/beta/communications/calls/${id}/operations/${op.id}`);
    assert.deepEqual(op, {
      '@odata.context': 'http://localhost:80/beta/$metadata#playPromptOperation',
      '@odata.type': '#microsoft.graph.playPromptOperation',
      id: op.id, clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c', status: 'running', resultInfo: null, completionReason: null,
    });
    await advance(h, 1000);
    assert.equal((await getOp(id, op.id)).status, 'running', 'still playing after 1 of 1.5 s');
    await advance(h, 500);
    const done = await getOp(id, op.id);
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.resultInfo, OK);
    assert.equal(done.completionReason, 'completedSuccessfully');
    const n = await opNotifications(id, op.id);
    assert.equal(n.length, 1);
    assert.equal(n[0]!.changeType, 'deleted');
    assert.deepEqual({ ...(n[0]!.resourceData as any) }, {
      '@odata.type': '#microsoft.graph.playPromptOperation', '@odata.id': `/communications/calls/${id}/operations/${op.id}`,
      id: op.id, clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c', status: 'completed', resultInfo: OK, completionReason: 'completedSuccessfully',
    });

    // The prompt played into the call: the recording holds 700 Hz from 0.5 s to 2 s, and not after.
    await advance(h, 1000);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`)).status, 202);
    await advance(h, 0);
    const [rec] = (await control(h, 'GET', `/_emulator/calls/${id}/recordings`)).body.value;
    assert.ok(rec, 'a recording');
    const wav = parseWav((await h.comp.app.inject({ method: 'GET', url: `/beta${rec.path.replace('/users/unknown/', '/users/8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d/')}/content`, headers: { authorization: h.auth } })).rawPayload);
    assert.equal(wav.samples.length, 3 * RATE);
    assert.ok(tonePower(wav.samples, 0, RATE / 2, 700) < 1e-6, 'silent before the prompt');
    assert.ok(tonePower(wav.samples, RATE / 2, 2 * RATE, 700) > 0.02, 'the prompt at 700 Hz');
    assert.ok(tonePower(wav.samples, 2 * RATE, 3 * RATE, 700) < 1e-6, 'silent after the clip ended');
  });

  test('playPrompt with an unknown media URI: running, then failed with {400, 8536}', async () => {
    const { id } = await established();
    const res = await call(h, 'POST', `/v1.0/communications/calls/${id}/playPrompt`, { body: { prompts: [prompt('https://cdn.contoso.com/beep.wav')] } });
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), ['@odata.context', '@odata.type', 'clientContext', 'id', 'resultInfo', 'status'], 'v1.0: no beta completionReason');
    await advance(h, 0);
    const op = await getOp(id, res.body.id, 'v1.0');
    assert.equal(op.status, 'failed');
    assert.deepEqual(op.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 400, subcode: 8536, message: 'Action failed, file could not be downloaded.' });
    assert.equal((await opNotifications(id, res.body.id))[0]!.changeType, 'deleted');
  });

  test('bad input and wrong state: a clear Graph error that names the problem, and nothing changes', async () => {
    const { id } = await established();
    const before = await snapshot(h, id);
    const cases: Array<[string, string, unknown, number, RegExp]> = [
      ['beta', 'playPrompt', {}, 400, /prompts/],
      ['beta', 'playPrompt', { prompts: [] }, 400, /prompts/],
      ['beta', 'playPrompt', { prompts: [{ mediaInfo: {} }] }, 400, /uri/],
      ['beta', 'playPrompt', { prompts: [{ '@odata.type': '#microsoft.graph.textPrompt', mediaInfo: { uri: 'https://x/y.wav' } }] }, 400, /prompts\[0\]\.@odata\.type/],
      ['beta', 'playPrompt', { prompts: Array.from({ length: 21 }, () => prompt('https://x/tone-440hz-100ms.wav')) }, 400, /prompts/],
      ['v1.0', 'recordResponse', { maxRecordDurationInSeconds: 0 }, 400, /maxRecordDurationInSeconds/],
      ['v1.0', 'recordResponse', { maxRecordDurationInSeconds: 1800 }, 400, /maxRecordDurationInSeconds/],
      ['v1.0', 'recordResponse', { playBeep: 'yes' }, 400, /playBeep/],
      ['v1.0', 'recordResponse', { clientContext: 'x'.repeat(257) }, 400, /clientContext/],
      ['v1.0', 'sendDtmfTones', { tones: ['tone1', 'tone12'] }, 400, /tones\[1\]/],
      ['v1.0', 'sendDtmfTones', {}, 400, /tones/],
      ['v1.0', 'record', {}, 400, /Resource not found for the segment 'record'/],
    ];
    for (const [v, action, body, status, message] of cases) {
      const res = await call(h, 'POST', `/${v}/communications/calls/${id}/${action}`, { body });
      assert.equal(res.status, status, `${v} ${action} ${JSON.stringify(body).slice(0, 80)}: ${res.raw}`);
      assert.equal(res.body.error.code, 'BadRequest');
      assert.match(res.body.error.message, message);
    }
    assert.equal(await snapshot(h, id), before);

    // Not yet established: 409, nothing stored.
    const pending = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    const pendingBefore = await snapshot(h, pending);
    const early = await call(h, 'POST', `/beta/communications/calls/${pending}/playPrompt`, { body: { prompts: [prompt('https://x/tone-440hz-100ms.wav')] } });
    assert.equal(early.status, 409);
    assert.match(early.body.error.message, /establish/);
    assert.equal(await snapshot(h, pending), pendingBefore);
    // Another app's or an unknown call: 404.
    assert.equal((await call(h, 'POST', `/beta/communications/calls/0b9c8f4e-1111-4222-8333-444455556666/subscribeToTone`, { body: {} })).status, 404);
    // App-hosted media: these actions are for service-hosted media only.
    const appHosted = await established(p2pCallBody({ mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '{}' } }));
    const ah = await call(h, 'POST', `/beta/communications/calls/${appHosted.id}/recordResponse`, { body: {} });
    assert.equal(ah.status, 400);
    assert.match(ah.body.error.message, /serviceHostedMediaConfig/);
  });

  test('recordResponse: prompt, beep, the far side speaks then pauses: maxSilenceTimeout and a WAV of what they said, downloadable with its token only', async () => {
    const { id, far } = await established();
    const res = await call(h, 'POST', `/v1.0/communications/calls/${id}/recordResponse`, {
      body: { bargeInAllowed: false, clientContext: 'rec-1', prompts: [prompt('https://cdn.contoso.com/tone-600hz-1000ms.wav')], maxRecordDurationInSeconds: 10, initialSilenceTimeoutInSeconds: 5, maxSilenceTimeoutInSeconds: 2, playBeep: true, stopTones: ['#', '1', '*'] },
    });
    assert.equal(res.status, 200, res.raw);
    assert.deepEqual(res.body, {
      '@odata.context': 'http://localhost:80/v1.0/$metadata#recordOperation', '@odata.type': '#microsoft.graph.recordOperation',
      id: res.body.id, clientContext: 'rec-1', status: 'running', resultInfo: null, recordingLocation: null, recordingAccessToken: null,
    });
    // Prompt 1 s, beep 0.5 s: the record opens at 1.5 s. The far side speaks (440 Hz) from 2 s to 4 s, then is silent.
    await advance(h, 2000);
    await speak(id, far, { type: 'tone', frequencyHz: 440, amplitude: 0.4 });
    await advance(h, 2000);
    await speak(id, far, { type: 'silence' });
    await advance(h, 1000);
    assert.equal((await getOp(id, res.body.id)).status, 'running', '1 s of a 2 s pause');
    await advance(h, 1500);
    const op = await getOp(id, res.body.id);
    assert.equal(op.status, 'completed');
    assert.equal(op.completionReason, 'maxSilenceTimeout');
    assert.deepEqual(op.resultInfo, OK);
    assert.match(op.recordingLocation, new RegExp(`^http://localhost:80/_media/recordResponses/${id}/${res.body.id}\\.wav$`));
    assert.ok(op.recordingAccessToken.length >= 32);
    const n = await opNotifications(id, res.body.id);
    assert.equal(n.length, 1);
    assert.equal((n[0]!.resourceData as any).recordingLocation, op.recordingLocation);
    assert.equal((n[0]!.resourceData as any).completionReason, 'maxSilenceTimeout');

    const path = new URL(op.recordingLocation).pathname;
    const got = await h.comp.app.inject({ method: 'GET', url: path, headers: { authorization: `Bearer ${op.recordingAccessToken}` } });
    assert.equal(got.statusCode, 200);
    assert.equal(got.headers['content-type'], 'application/octet-stream');
    const wav = parseWav(got.rawPayload);
    // Window 1.5 s .. 6 s (4 s speech end + 2 s pause): 4.5 s; speech at 0.5..2.5 s of it.
    assert.equal(wav.samples.length, 4.5 * RATE);
    assert.ok(rms(wav.samples, 0, RATE / 2) === 0, 'silence before they spoke');
    assert.ok(tonePower(wav.samples, RATE / 2, 2.5 * RATE, 440) > 0.02, 'what they said');
    assert.ok(tonePower(wav.samples, 0, wav.samples.length, 600) < 1e-6, 'the bot\'s prompt is not in the response');
    assert.ok(tonePower(wav.samples, 0, wav.samples.length, 1000) < 1e-6, 'nor the beep');
    assert.ok(rms(wav.samples, 2.5 * RATE, 4.5 * RATE) === 0, 'the pause');

    for (const authorization of [undefined, 'Bearer wrong-token', h.auth]) {
      const denied = await h.comp.app.inject({ method: 'GET', url: path, headers: authorization ? { authorization } : {} });
      assert.equal(denied.statusCode, 401, String(authorization));
      assert.equal(JSON.parse(denied.body).error.code, 'InvalidAuthenticationToken');
      assert.ok(denied.headers['www-authenticate']);
    }
  });

  test('recordResponse: nobody speaks: failed with initialSilenceTimeout {400, 8510}; speaking throughout: maxRecordDurationReached {200, 8515}', async () => {
    const { id, far } = await established();
    const silent = (await call(h, 'POST', `/beta/communications/calls/${id}/record`, { body: { initialSilenceTimeoutInSeconds: 3, playBeep: false } })).body;
    await advance(h, 3500);
    const s = await getOp(id, silent.id);
    assert.equal(s.status, 'failed');
    assert.equal(s.completionReason, 'initialSilenceTimeout');
    assert.deepEqual(s.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 400, subcode: 8510, message: 'Action failed, initial silence timeout reached.' });

    await speak(id, far, { type: 'tone', frequencyHz: 440 });
    const long = (await call(h, 'POST', `/beta/communications/calls/${id}/recordResponse`, { body: { maxRecordDurationInSeconds: 3, playBeep: false } })).body;
    await advance(h, 3500);
    const l = await getOp(id, long.id);
    assert.equal(l.status, 'completed');
    assert.equal(l.completionReason, 'maxRecordDurationReached');
    assert.deepEqual(l.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 8515, message: 'Action completed, max record duration reached.' });
    const wav = parseWav((await h.comp.app.inject({ method: 'GET', url: new URL(l.recordingLocation).pathname, headers: { authorization: `Bearer ${l.recordingAccessToken}` } })).rawPayload);
    assert.equal(wav.samples.length, 3 * RATE);
    assert.ok(tonePower(wav.samples, 0, wav.samples.length, 440) > 0.01);
  });

  test('subscribeToTone: far-side key presses arrive as call updates with toneInfo; a stop tone ends a running record', async () => {
    const { id, far } = await established();
    const sub = await call(h, 'POST', `/v1.0/communications/calls/${id}/subscribeToTone`, { body: { clientContext: 'tones' } });
    assert.equal(sub.status, 200);
    assert.deepEqual(sub.body, {
      '@odata.context': 'http://localhost:80/v1.0/$metadata#subscribeToToneOperation', '@odata.type': '#microsoft.graph.subscribeToToneOperation',
      id: sub.body.id, clientContext: 'tones', status: 'completed', resultInfo: OK,
    });
    await speak(id, far, { type: 'tone', frequencyHz: 440 });
    const rec = (await call(h, 'POST', `/beta/communications/calls/${id}/recordResponse`, { body: { playBeep: false, maxRecordDurationInSeconds: 30, stopTones: ['#'] } })).body;
    await advance(h, 0);
    const script = await control(h, 'POST', `/_emulator/calls/${id}/participants/${far}/tones`, { sequence: [{ tone: '1', atMs: 500 }, { tone: 'pound', atMs: 1500 }] });
    assert.equal(script.status, 200, script.raw);
    assert.deepEqual(script.body.tones.map((t: any) => t.tone), ['tone1', 'pound']);
    await advance(h, 2000);
    const tones = (await outbox(id)).filter((n) => n.resourceUrl === `/communications/calls/${id}` && (n.resourceData as any).toneInfo);
    assert.deepEqual(tones.map((n) => (n.resourceData as any).toneInfo), [
      { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: 1, tone: 'tone1' },
      { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: 2, tone: 'pound' },
    ]);
    assert.ok(tones.every((n) => n.changeType === 'updated'));
    const op = await getOp(id, rec.id);
    assert.equal(op.status, 'completed');
    assert.equal(op.completionReason, 'stopToneDetected', 'tone1 is no stop tone; # is');
    const wav = parseWav((await h.comp.app.inject({ method: 'GET', url: new URL(op.recordingLocation).pathname, headers: { authorization: `Bearer ${op.recordingAccessToken}` } })).rawPayload);
    assert.equal(wav.samples.length, 1.5 * RATE, 'recorded until the # was pressed');
    // Bad scripts: a clear error, nothing pressed.
    const badKey = await control(h, 'POST', `/_emulator/calls/${id}/participants/${far}/tones`, { tones: ['9', 'x'] });
    assert.equal(badKey.status, 400);
    assert.match(badKey.body.error.message, /tones\[1\]/);
    assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${far}/tones`, {})).status, 400);
  });

  test('cancelMediaProcessing: running and queued prompts/records fail {400, 8508} operationCanceled; the tone subscription stays', async () => {
    const { id, far } = await established();
    await call(h, 'POST', `/beta/communications/calls/${id}/subscribeToTone`, { body: {} });
    const looping = (await call(h, 'POST', `/beta/communications/calls/${id}/playPrompt`, { body: { loop: true, prompts: [prompt('https://x/tone-500hz-400ms.wav')] } })).body;
    const queued = (await call(h, 'POST', `/beta/communications/calls/${id}/recordResponse`, { body: {} })).body;
    await advance(h, 5000);
    assert.equal((await getOp(id, looping.id)).status, 'running', 'a looping prompt plays on');
    assert.equal((await getOp(id, queued.id)).status, 'running', 'the record waits its turn');
    const cancel = await call(h, 'POST', `/beta/communications/calls/${id}/cancelMediaProcessing`, { body: { clientContext: 'clientContext-value' } });
    assert.equal(cancel.status, 200);
    assert.deepEqual(cancel.body, {
      '@odata.context': 'http://localhost:80/beta/$metadata#cancelMediaProcessingOperation', '@odata.type': '#microsoft.graph.cancelMediaProcessingOperation',
      id: cancel.body.id, clientContext: 'clientContext-value', status: 'completed', resultInfo: OK,
    });
    const p = await getOp(id, looping.id);
    assert.deepEqual([p.status, p.resultInfo, p.completionReason], ['failed', CANCELLED, 'mediaOperationCanceled']);
    const r = (await opNotifications(id, queued.id))[0]!.resourceData as any;
    assert.deepEqual([r.status, r.resultInfo, r.completionReason, r.recordingLocation, r.recordingAccessToken], ['failed', CANCELLED, 'operationCanceled', '', '']);
    // Nothing more happens to them; tones still arrive.
    await advance(h, 10_000);
    assert.equal((await opNotifications(id, looping.id)).length, 1);
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${far}/tones`, { tones: ['5'] });
    const last = (await outbox(id)).filter((n) => (n.resourceData as any)?.toneInfo).at(-1)!;
    assert.deepEqual((last.resourceData as any).toneInfo, { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: 1, tone: 'tone5' });
  });

  test('bargeInAllowed: the record interrupts the prompt playing (failed, 8508) and starts now; its beep is heard in the call recording', async () => {
    const { id, far } = await established();
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
    const looping = (await call(h, 'POST', `/beta/communications/calls/${id}/playPrompt`, { body: { loop: true, prompts: [prompt('https://x/tone-500hz-400ms.wav')] } })).body;
    const queued = (await call(h, 'POST', `/beta/communications/calls/${id}/playPrompt`, { body: { prompts: [prompt('https://x/tone-800hz-500ms.wav')] } })).body;
    await advance(h, 1000);
    const rec = (await call(h, 'POST', `/beta/communications/calls/${id}/recordResponse`, { body: { bargeInAllowed: true, playBeep: true, maxRecordDurationInSeconds: 1 } })).body;
    await advance(h, 0);
    const p = await getOp(id, looping.id);
    assert.deepEqual([p.status, p.resultInfo, p.completionReason], ['failed', CANCELLED, 'mediaOperationCanceled']);
    assert.equal((await getOp(id, queued.id)).status, 'running', 'the queued prompt waits behind the record');
    await speak(id, far, { type: 'tone', frequencyHz: 440 });
    // Beep 0.5 s, record 1 s; then the queued prompt plays 0.5 s.
    await advance(h, 1600);
    const r = await getOp(id, rec.id);
    assert.deepEqual([r.status, r.completionReason], ['completed', 'maxRecordDurationReached']);
    await advance(h, 500);
    assert.equal((await getOp(id, queued.id)).status, 'completed');
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`)).status, 202);
    await advance(h, 0);
    const [recording] = (await control(h, 'GET', `/_emulator/calls/${id}/recordings`)).body.value;
    const wav = parseWav((await h.comp.app.inject({ method: 'GET', url: `/beta${recording.path.replace('/users/unknown/', '/users/8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d/')}/content`, headers: { authorization: h.auth } })).rawPayload);
    // Timeline from the start of the recording: loop 0–1 s, beep 1–1.5 s, record 1.5–2.5 s, the queued prompt 2.5–3 s.
    assert.ok(tonePower(wav.samples, 0, RATE, 500) > 0.02, 'the looping prompt');
    assert.ok(tonePower(wav.samples, RATE, 1.5 * RATE, 1000) > 0.01, 'the beep');
    assert.ok(tonePower(wav.samples, RATE, 1.5 * RATE, 500) < 1e-6, 'the loop stopped');
    assert.ok(tonePower(wav.samples, 2.5 * RATE, 3 * RATE, 800) > 0.02, 'then the queued prompt');
  });

  test('sendDtmfTones: running, then completed with completedSuccessfully; the keys are on the bot\'s media timeline', async () => {
    const { id } = await established();
    const res = await call(h, 'POST', `/v1.0/communications/calls/${id}/microsoft.graph.sendDtmfTones`, {
      body: { tones: ['tone1', 'tone2', 'star', 'pound'], delayBetweenTonesMs: 1000, clientContext: 'e0be71f1-a14f-4cec-b65a-e7aba5db7c53' },
    });
    assert.equal(res.status, 200, res.raw);
    assert.deepEqual(res.body, {
      '@odata.context': 'http://localhost:80/v1.0/$metadata#sendDtmfTonesOperation', '@odata.type': '#microsoft.graph.sendDtmfTonesOperation',
      id: res.body.id, clientContext: 'e0be71f1-a14f-4cec-b65a-e7aba5db7c53', status: 'running', resultInfo: null, completionReason: null,
    });
    const call0 = await h.comp.store.getCall(id);
    const events = (await h.comp.store.listMediaEvents(id)).filter((e) => e.kind === 'tone');
    assert.deepEqual(events.map((e) => [e.participantId, e.tone]), ['tone1', 'tone2', 'star', 'pound'].map((t) => [call0!.myParticipantId, t]));
    assert.deepEqual(events.map((e) => e.at - events[0]!.at), [0, 1100, 2200, 3300]);
    await advance(h, 3400);
    const op = await getOp(id, res.body.id, 'v1.0');
    assert.deepEqual([op.status, op.completionReason], ['completed', 'completedSuccessfully']);
    const journal = await h.comp.journal.list({ callId: id, limit: 100 });
    const entry = journal.find((j) => /sendDtmfTones$/i.test(j.url));
    assert.ok(entry, 'the request is in the journal');
    assert.equal(entry.status, 200);
    assert.deepEqual(JSON.parse(entry.requestBody!).tones, ['tone1', 'tone2', 'star', 'pound']);
  });
});

describe('media actions: permissions per action (call-record, call-playprompt tables)', () => {
  test('without Calls.AccessMedia.All: recordResponse, subscribeToTone and sendDtmfTones are 403 and change nothing; playPrompt needs Calls.Initiate.All only', async () => {
    const h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000 });
    try {
      const id = (await call(h, 'POST', '/v1.0/communications/calls', { body: p2pCallBody() })).body.id;
      await advance(h, 1000);
      const put = await call(h, 'POST', '/_emulator/apps', { auth: false, body: { ...DEV_APP, roles: DEV_APP.roles.filter((r) => r !== 'Calls.AccessMedia.All') } });
      assert.equal(put.status, 201, put.raw);
      const before = await snapshot(h, id);
      for (const [action, body] of [['recordResponse', {}], ['subscribeToTone', {}], ['sendDtmfTones', { tones: ['tone1'] }]] as const) {
        const res = await call(h, 'POST', `/v1.0/communications/calls/${id}/${action}`, { body });
        assert.equal(res.status, 403, action);
        assert.equal(res.body.error.code, 'accessDenied');
        assert.match(res.body.error.message, /Calls\.AccessMedia\.All/);
      }
      assert.equal(await snapshot(h, id), before);
      assert.equal((await call(h, 'POST', `/v1.0/communications/calls/${id}/playPrompt`, { body: { prompts: [prompt('https://x/tone-440hz-100ms.wav')] } })).status, 200);
    } finally {
      await h.close();
    }
  });
});
