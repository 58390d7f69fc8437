import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, CLIENT_ID, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { goertzel, parseWav } from '../support/audio.js';

/**
 * A scripted IVR call on the virtual clock: a caller rings the bot, the bot answers, plays a menu, collects
 * a DTMF choice through subscribeToTone, records a message ended by '#', and transfers the caller to an
 * agent (a far-side behaviour) — every wait is virtual time, so the whole script runs in milliseconds. Each
 * step is driven by what the bot's webhook would see (here: the outbox), as a bot's own test would.
 */

const RATE = 16_000;

const AGENT = 'a9e17000-0000-4000-8000-00000000a9e1';
const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
const now = async (h: Harness) => Date.parse((await control(h, 'GET', '/_emulator/clock')).body.now);

describe('a scripted IVR call', () => {
  let h: Harness;
  before(async () => {
    h = await buildHarness({ clock: 'virtual', answerDelayMs: 500, operationDelayMs: 200 });
    await control(h, 'PATCH', `/_emulator/apps/${CLIENT_ID}`, { callbackUri: 'http://127.0.0.1:9/ivr' });
    // The agent picks up after ringing for 4 s.
    await control(h, 'PUT', `/_emulator/far-side/${AGENT}`, { response: 'answer', afterMs: 4000 });
  });
  after(() => h.close());

  const outbox = async (id: string) => (await h.comp.store.listOutbox({ callId: id, limit: 1000 }))
    .map((n) => ({ changeType: n.changeType, resourceUrl: n.resourceUrl, data: n.resourceData as any }));

  test('ring, answer, menu, DTMF choice, recorded message, transfer to an agent', async () => {
    const t0 = await now(h);
    const rang = await control(h, 'POST', '/_emulator/calls/incoming', { from: { id: 'c0ffee00-0000-4000-8000-00000000ca11', displayName: 'Caller' } });
    assert.equal(rang.status, 201);
    const id = rang.body.id as string;

    // The bot answers at once; media connects after --answer-delay-ms.
    const answered = await call(h, 'POST', `/v1.0/communications/calls/${id}/answer`, {
      body: { callbackUri: 'http://127.0.0.1:9/ivr', acceptedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } },
    });
    assert.equal(answered.status, 202);
    await advance(h, 500);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.state, 'established');

    const caller = (await call(h, 'GET', `/v1.0/communications/calls/${id}/participants`)).body.value.find((p: any) => !p.info.identity.application).id;

    // The menu: "press 1 to leave a message, 2 for an agent" (two tones stand in for the speech).
    assert.equal((await call(h, 'POST', `/v1.0/communications/calls/${id}/subscribeToTone`, { body: {} })).status, 200);
    const menu = (await call(h, 'POST', `/v1.0/communications/calls/${id}/playPrompt`, { body: { prompts: [
      { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://ivr.contoso.com/tone-350hz-800ms.wav' } },
      { '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://ivr.contoso.com/tone-450hz-800ms.wav' } },
    ] } })).body;
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${caller}/tones`, { tones: ['1'], startInMs: 2000 });
    await advance(h, 2000);
    assert.equal((await outbox(id)).find((n) => n.resourceUrl.endsWith(menu.id))?.data.status, 'completed', 'the menu played to its end');
    assert.deepEqual((await outbox(id)).filter((n) => n.data?.toneInfo).map((n) => n.data.toneInfo.tone), ['tone1']);

    // Choice 1: record a message after the beep; the caller speaks (a 523 Hz tone), then presses #.
    const rec = (await call(h, 'POST', `/v1.0/communications/calls/${id}/recordResponse`, { body: { maxRecordDurationInSeconds: 60, stopTones: ['#'] } })).body;
    await advance(h, 500);
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${caller}/audio`, { type: 'tone', frequencyHz: 523 });
    await advance(h, 3000);
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${caller}/audio`, { type: 'silence' });
    await control(h, 'POST', `/_emulator/calls/${id}/participants/${caller}/tones`, { tones: ['#'] });
    await advance(h, 0);
    const recDone = (await outbox(id)).find((n) => n.resourceUrl.endsWith(rec.id))!;
    // v1.0 recordOperation has no completionReason (beta only); the length below shows the # ended it.
    assert.equal(recDone.data.status, 'completed');
    assert.equal('completionReason' in recDone.data, false, 'v1.0 carries no beta-only member');
    const download = await h.comp.app.inject({ method: 'GET', url: new URL(recDone.data.recordingLocation).pathname, headers: { authorization: `Bearer ${recDone.data.recordingAccessToken}` } });
    assert.equal(download.statusCode, 200);
    const message = parseWav(download.rawPayload);
    assert.equal(message.samples.length, 3 * RATE, 'from the end of the beep to the #');
    assert.ok(goertzel(message.samples, 0, message.samples.length, 523, RATE) > 0.01, "the caller's message");

    // Option 2: "talk to an agent".
    const transfer = await call(h, 'POST', `/v1.0/communications/calls/${id}/transfer`, {
      body: { transferTarget: { endpointType: 'default', identity: { user: { id: AGENT, displayName: 'Agent' } } } },
    });
    assert.equal(transfer.status, 202);
    await advance(h, 3999);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.state, 'transferring', 'the agent is still ringing');
    await advance(h, 1);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.state, 'transferAccepted');
    await advance(h, 200);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).status, 404, 'the caller is with the agent; the bot is out');

    // The call's own notifications, in order, each state once (tone notifications repeat `established`).
    const seen = (await outbox(id)).filter((n) => n.resourceUrl.endsWith(`/calls/${id}`))
      .map((n) => `${n.changeType} ${n.data.state}`).filter((x, i, all) => x !== all[i - 1]);
    assert.deepEqual(seen, ['created incoming', 'updated establishing', 'updated established', 'updated transferring', 'updated transferAccepted', 'deleted terminated']);
    const end = (await outbox(id)).at(-1)!.data;
    assert.deepEqual(end.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 0, subcode: 7015, message: 'GracefulTransferCompleted' });
    // The script took exactly the virtual time it waited: nothing ran on the wall clock.
    assert.equal((await now(h)) - t0, 500 + 2000 + 500 + 3000 + 4000 + 200);
  });
});
