import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { goertzel, parseWav } from '../support/audio.js';

/**
 * A scripted IVR call on the virtual clock: a caller rings the bot, the bot answers, plays a menu, reads
 * the caller's key press through subscribeToTone, records a message ended by '#', and hangs up — each step
 * driven by what the bot's webhook would see (here: the outbox), as a bot's own test would.
 */

const RATE = 16_000;
let h: Harness;
before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 200, operationDelayMs: 200 }); });
after(() => h.close());

const advance = (ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
const notifications = async (id: string) => (await h.comp.store.listOutbox({ callId: id, limit: 1000 })).map((n) => ({ changeType: n.changeType, resourceUrl: n.resourceUrl, data: n.resourceData as any }));

test('IVR: answer, menu prompt, DTMF choice, recorded message, hang up', async () => {
  const incoming = await control('POST', '/_emulator/calls/incoming', { from: { displayName: 'Caller' }, callbackUri: 'http://127.0.0.1:9/ivr' });
  assert.equal(incoming.status, 201, incoming.raw);
  const id = incoming.body.id as string;
  assert.equal((await call(h, 'POST', `/v1.0/communications/calls/${id}/answer`, {
    body: { acceptedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } },
  })).status, 202);
  await advance(200);
  assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.state, 'established');
  const caller = (await call(h, 'GET', `/v1.0/communications/calls/${id}/participants`)).body.value.find((p: any) => !p.info.identity.application).id;

  // The menu: "press 1 for sales, 2 to leave a message" (two tones standing in for the speech).
  assert.equal((await call(h, 'POST', `/v1.0/communications/calls/${id}/subscribeToTone`, { body: {} })).status, 200);
  const menu = (await call(h, 'POST', `/v1.0/communications/calls/${id}/playPrompt`, { body: { prompts: [
    { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://ivr.contoso.com/tone-350hz-800ms.wav' } },
    { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://ivr.contoso.com/tone-450hz-800ms.wav' } },
  ] } })).body;
  await control('POST', `/_emulator/calls/${id}/participants/${caller}/tones`, { tones: ['2'], startInMs: 2000 });
  await advance(2000);
  const menuDone = (await notifications(id)).find((n) => n.resourceUrl.endsWith(menu.id));
  assert.equal(menuDone?.data.status, 'completed');
  const choice = (await notifications(id)).filter((n) => n.data?.toneInfo).map((n) => n.data.toneInfo.tone);
  assert.deepEqual(choice, ['tone2']);

  // Choice 2: record a message after the beep; the caller speaks, then presses #.
  const rec = (await call(h, 'POST', `/v1.0/communications/calls/${id}/recordResponse`, { body: { maxRecordDurationInSeconds: 60, stopTones: ['#'] } })).body;
  await advance(500);
  await control('POST', `/_emulator/calls/${id}/participants/${caller}/audio`, { type: 'tone', frequencyHz: 523 });
  await advance(3000);
  await control('POST', `/_emulator/calls/${id}/participants/${caller}/audio`, { type: 'silence' });
  await control('POST', `/_emulator/calls/${id}/participants/${caller}/tones`, { tones: ['#'] });
  await advance(0);
  const recDone = (await notifications(id)).find((n) => n.resourceUrl.endsWith(rec.id))!;
  assert.equal(recDone.data.completionReason, 'stopToneDetected');
  const message = parseWav((await h.comp.app.inject({ method: 'GET', url: new URL(recDone.data.recordingLocation).pathname, headers: { authorization: `Bearer ${recDone.data.recordingAccessToken}` } })).rawPayload);
  assert.equal(message.samples.length, 3 * RATE, 'from the end of the beep to the #');
  assert.ok(goertzel(message.samples, 0, message.samples.length, 523, RATE) > 0.01, 'the caller\'s message');

  assert.equal((await call(h, 'DELETE', `/v1.0/communications/calls/${id}`)).status, 204);
  await advance(200);
  const last = (await notifications(id)).at(-1)!;
  assert.deepEqual([last.changeType, last.data.state], ['deleted', 'terminated']);
});
