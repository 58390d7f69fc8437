import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, CLIENT_ID, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';

/**
 * A scripted IVR call on the virtual clock: a caller rings the bot, the bot answers, plays a menu, collects
 * a DTMF choice, records a message, and transfers the caller to an agent — every wait is virtual time, so
 * the whole script runs in milliseconds.
 *
 * The media steps (playPrompt, subscribeToTone + tones, recordResponse) are built on another branch; the
 * lead completes them at the marked place after merging. What runs here: ring, answer, transfer, with the
 * agent played by a far-side behaviour.
 */

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

  test('ring, answer, (menu, DTMF choice, recorded message), transfer to an agent', async () => {
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

    // ---- the lead completes this after merging the media branch ----
    // playPrompt (the menu) -> subscribeToTone -> the caller presses "2" (control plane) -> toneInfo
    // notification -> recordResponse (the message, stopped by "#") -> recordingLocation downloadable.

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

    const seen = (await h.comp.store.listOutbox({ callId: id, limit: 100 }))
      .map((n) => `${n.changeType} ${n.resourceUrl.endsWith('/participants') ? 'roster' : (n.resourceData as any).state}`);
    assert.deepEqual(seen, [
      'created incoming', 'updated establishing', 'updated established', 'updated roster',
      'updated transferring', 'updated transferAccepted', 'deleted terminated',
    ]);
    const end = (await h.comp.store.listOutbox({ callId: id, limit: 100 })).at(-1)!.resourceData as any;
    assert.deepEqual(end.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 0, subcode: 7015, message: 'GracefulTransferCompleted' });
    // The script took exactly the virtual time it waited: nothing ran on the wall clock.
    assert.equal((await now(h)) - t0, 500 + 4000 + 200);
  });
});
