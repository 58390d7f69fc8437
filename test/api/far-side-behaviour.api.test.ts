import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHarness, meetingCallBody, p2pCallBody, tempDataDir, waitFor, type Harness } from '../support/harness.js';
import { createTestDatabase } from '../support/postgres.js';
import { call } from '../support/inject.js';
import { decideAnswer } from '../../src/simulator/far-side-behaviour.js';

/** A far side that can say no: per-target behaviours, on the virtual clock. */

const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
const callTo = (userId: string) => p2pCallBody({ targets: [{ identity: { user: { id: userId, displayName: 'Callee' } } }] });
const ORGANIZER = '5810cede-f3cc-42eb-b2c1-e9bd5d53ec96';

async function create(h: Harness, body: Record<string, unknown>): Promise<string> {
  const res = await call(h, 'POST', '/beta/communications/calls', { body });
  assert.equal(res.status, 201, res.raw);
  return res.body.id as string;
}
const state = async (h: Harness, id: string) => {
  const r = await call(h, 'GET', `/beta/communications/calls/${id}`);
  return r.status === 404 ? 'gone' : r.body.state;
};
/** The `deleted` notification of a call (its resultInfo says why it ended). */
async function ended(h: Harness, id: string): Promise<any> {
  const last = (await h.comp.store.listOutbox({ callId: id, limit: 1000 })).filter((n) => n.resourceUrl === `/communications/calls/${id}`).at(-1)!;
  assert.equal(last.changeType, 'deleted');
  assert.equal((last.resourceData as any).state, 'terminated');
  return last.resourceData;
}
const result = (code: number, subcode: number, message: string) => ({ '@odata.type': '#microsoft.graph.resultInfo', code, subcode, message });

describe('far-side behaviours on the virtual clock', () => {
  let h: Harness;
  before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500, ringingTimeoutMs: 60_000 }); });
  after(() => h.close());

  test('no behaviour: the callee answers after --answer-delay-ms, as before', async () => {
    const id = await create(h, callTo('aaaa0000-0000-4000-8000-000000000001'));
    await advance(h, 999);
    assert.equal(await state(h, id), 'establishing');
    await advance(h, 1);
    assert.equal(await state(h, id), 'established');
  });

  test('answer after N ms', async () => {
    const user = 'aaaa0000-0000-4000-8000-000000000002';
    const put = await control(h, 'PUT', `/_emulator/far-side/${user.toUpperCase()}`, { response: 'answer', afterMs: 5000 });
    assert.equal(put.status, 200);
    assert.deepEqual(put.body, { target: user, response: 'answer', afterMs: 5000, hangUpAfterMs: null, lobby: false });
    const id = await create(h, callTo(user));
    await advance(h, 4999);
    assert.equal(await state(h, id), 'establishing');
    await advance(h, 1);
    assert.equal(await state(h, id), 'established');
  });

  test('never answers: the call ends after the ringing timeout with {408, 10057} and the table\'s wording', async () => {
    const user = 'aaaa0000-0000-4000-8000-000000000003';
    await control(h, 'PUT', `/_emulator/far-side/${user}`, { response: 'noAnswer' });
    const id = await create(h, callTo(user));
    await advance(h, 59_999);
    assert.equal(await state(h, id), 'establishing');
    await advance(h, 1);
    assert.equal(await state(h, id), 'gone');
    assert.deepEqual((await ended(h, id)).resultInfo, result(408, 10057, 'Call timed out due to no signaling from callee endpoints.'));
  });

  test('decline and busy: the call ends when the callee refuses, with their codes', async () => {
    const declines = 'aaaa0000-0000-4000-8000-000000000004';
    const busy = 'aaaa0000-0000-4000-8000-000000000005';
    await control(h, 'PUT', `/_emulator/far-side/${declines}`, { response: 'decline', afterMs: 3000 });
    await control(h, 'PUT', `/_emulator/far-side/${busy}`, { response: 'busy', afterMs: 0 });
    const a = await create(h, callTo(declines));
    const b = await create(h, callTo(busy));
    await advance(h, 0);
    assert.equal(await state(h, b), 'gone');
    assert.equal(await state(h, a), 'establishing');
    await advance(h, 3000);
    assert.equal(await state(h, a), 'gone');
    assert.deepEqual((await ended(h, a)).resultInfo, result(603, 0, 'The call was declined by the callee.'));
    assert.deepEqual((await ended(h, b)).resultInfo, result(486, 0, 'The callee is busy.'));
  });

  test('hang up N ms after answering: {200, 4521} for P2P, {200, 5001} for a meeting', async () => {
    const user = 'aaaa0000-0000-4000-8000-000000000006';
    await control(h, 'PUT', `/_emulator/far-side/${user}`, { afterMs: 100, hangUpAfterMs: 2000 });
    await control(h, 'PUT', `/_emulator/far-side/${ORGANIZER}`, { afterMs: 100, hangUpAfterMs: 4000 });
    const p2p = await create(h, callTo(user));
    const meeting = await create(h, meetingCallBody());
    await advance(h, 100);
    assert.equal(await state(h, p2p), 'established');
    await advance(h, 2000);
    assert.equal(await state(h, p2p), 'gone');
    assert.deepEqual((await ended(h, p2p)).resultInfo, result(200, 4521, 'Call ended by the other participant in peer-to-peer call.'));
    assert.equal(await state(h, meeting), 'established');
    await advance(h, 2000);
    assert.deepEqual((await ended(h, meeting)).resultInfo, result(200, 5001, 'The conversation has ended.'));
    await control(h, 'DELETE', `/_emulator/far-side/${ORGANIZER}`);
  });

  test('control-plane hang-up while ringing is a decline; after answering it is the other participant ending the call', async () => {
    const user = 'aaaa0000-0000-4000-8000-000000000007';
    await control(h, 'PUT', `/_emulator/far-side/${user}`, { response: 'noAnswer' });
    const ringing = await create(h, callTo(user));
    assert.equal((await control(h, 'POST', `/_emulator/calls/${ringing}/hangUp`)).status, 200);
    assert.deepEqual((await ended(h, ringing)).resultInfo, result(603, 0, 'The call was declined by the callee.'));

    const answered = await create(h, callTo('aaaa0000-0000-4000-8000-000000000008'));
    await advance(h, 1000);
    await control(h, 'POST', `/_emulator/calls/${answered}/hangUp`);
    assert.deepEqual((await ended(h, answered)).resultInfo, result(200, 4521, 'Call ended by the other participant in peer-to-peer call.'));
  });

  test('a decision is taken when the ringing starts: changing the behaviour does not change a call already ringing', async () => {
    const user = 'aaaa0000-0000-4000-8000-000000000009';
    await control(h, 'PUT', `/_emulator/far-side/${user}`, { response: 'decline', afterMs: 1000 });
    const id = await create(h, callTo(user));
    await control(h, 'PUT', `/_emulator/far-side/${user}`, { response: 'answer', afterMs: 1000 });
    await advance(h, 1000);
    assert.equal((await ended(h, id)).resultInfo.code, 603);
  });

  test('meeting lobby: the bot waits (establishing) until the control plane admits it', async () => {
    const thread = '19:meeting_lobby@thread.v2';
    await control(h, 'PUT', `/_emulator/far-side/${encodeURIComponent(thread)}`, { lobby: true });
    const body = meetingCallBody({ chatInfo: { threadId: thread, messageId: '0' } });
    const id = await create(h, body);
    await advance(h, 10 * 60_000);
    assert.equal(await state(h, id), 'establishing', 'held in the lobby');
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value.length, 0, 'no roster before admission');
    const admitted = await control(h, 'POST', `/_emulator/calls/${id}/admit`);
    assert.equal(admitted.status, 200);
    assert.equal(admitted.body.state, 'established');
    assert.equal(await state(h, id), 'established');
    const again = await control(h, 'POST', `/_emulator/calls/${id}/admit`);
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /not waiting in a meeting lobby/);
    await advance(h, 10 * 60_000);
    assert.equal(await state(h, id), 'established', 'the lobby timeout no longer applies');
  });

  test('meeting lobby nobody admits: removed after the lobby timeout with {200, 5855}', async () => {
    const thread = '19:meeting_lobby2@thread.v2';
    await control(h, 'PUT', `/_emulator/far-side/${encodeURIComponent(thread)}`, { lobby: true });
    const id = await create(h, meetingCallBody({ chatInfo: { threadId: thread, messageId: '0' } }));
    await advance(h, 1000 + 15 * 60_000);
    assert.deepEqual((await ended(h, id)).resultInfo,
      result(200, 5855, 'Participant waiting in lobby was removed from the conversation after lobby inactivity timeout.'));
  });

  test('control plane: list, get, delete, and bad bodies named all at once', async () => {
    const user = 'aaaa0000-0000-4000-8000-00000000000a';
    await control(h, 'PUT', `/_emulator/far-side/${user}`, { response: 'busy' });
    assert.ok((await control(h, 'GET', '/_emulator/far-side')).body.value.some((b: any) => b.target === user));
    assert.equal((await control(h, 'GET', `/_emulator/far-side/${user}`)).body.response, 'busy');
    const bad = await control(h, 'PUT', `/_emulator/far-side/${user}`, { response: 'maybe', afterMs: -1, lobby: 'yes' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /response: expected one of answer, noAnswer, decline, busy/);
    assert.match(bad.body.error.message, /afterMs/);
    assert.match(bad.body.error.message, /lobby/);
    assert.equal((await control(h, 'GET', `/_emulator/far-side/${user}`)).body.response, 'busy', 'a bad body changes nothing');
    assert.equal((await control(h, 'DELETE', `/_emulator/far-side/${user}`)).status, 204);
    assert.equal((await control(h, 'GET', `/_emulator/far-side/${user}`)).status, 404);
    assert.equal((await control(h, 'DELETE', `/_emulator/far-side/${user}`)).status, 404);
  });
});

describe('--far-side FILE', () => {
  test('behaviours load at start; a bad file names every problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-farside-'));
    const file = join(dir, 'far-side.json');
    writeFileSync(file, JSON.stringify([{ target: '+12345678901', response: 'busy' }, { target: 'BBBB0000-0000-4000-8000-000000000001', response: 'noAnswer' }]));
    const h = await buildHarness({ farSideFile: file, clock: 'virtual', answerDelayMs: 10, ringingTimeoutMs: 5000 });
    try {
      assert.equal((await control(h, 'GET', '/_emulator/far-side/+12345678901')).body.response, 'busy');
      const id = await create(h, p2pCallBody({ targets: [{ identity: { user: { id: 'bbbb0000-0000-4000-8000-000000000001' } } }] }));
      await advance(h, 5000);
      assert.equal((await ended(h, id)).resultInfo.subcode, 10057);
    } finally {
      await h.close();
    }
    writeFileSync(file, JSON.stringify([{ response: 'later' }]));
    await assert.rejects(buildHarness({ farSideFile: file }), (err: Error) => /\[0\]\.target/.test(err.message) && /\[0\]\.response/.test(err.message));
  });

  test('decideAnswer: the defaults, and lobby only for a meeting that answers', () => {
    const d = { answerDelayMs: 300, ringingTimeoutMs: 60_000 };
    assert.deepEqual(decideAnswer(undefined, d), { kind: 'answer', afterMs: 300, hangUpAfterMs: null });
    assert.deepEqual(decideAnswer({ target: 'x', response: 'noAnswer', afterMs: 5, hangUpAfterMs: null, lobby: false }, d).afterMs, 60_000);
    assert.equal(decideAnswer({ target: 'x', response: 'answer', afterMs: null, hangUpAfterMs: 7, lobby: true }, d).kind, 'lobby');
  });
});

describe('behaviours are shared by instances on one PostgreSQL database', () => {
  test('a behaviour set on one instance decides how a call placed on another is answered', async () => {
    const db = await createTestDatabase();
    const d1 = tempDataDir();
    const d2 = tempDataDir();
    const one = await buildHarness({ db: db.url, inMemory: false, dataDir: d1.dir, answerDelayMs: 20 });
    const two = await buildHarness({ db: db.url, inMemory: false, dataDir: d2.dir, answerDelayMs: 20 });
    try {
      const user = 'cccc0000-0000-4000-8000-000000000001';
      assert.equal((await control(one, 'PUT', `/_emulator/far-side/${user}`, { response: 'busy', afterMs: 10 })).status, 200);
      await waitFor(async () => (await control(two, 'GET', `/_emulator/far-side/${user}`)).status === 200, 'the behaviour on the second instance');
      const id = await create(two, callTo(user));
      await waitFor(async () => (await call(two, 'GET', `/beta/communications/calls/${id}`)).status === 404, 'the busy callee ends the call');
      assert.equal((await ended(one, id)).resultInfo.code, 486);
    } finally {
      await one.close();
      await two.close();
      d1.cleanup();
      d2.cleanup();
      await db.drop();
    }
  });
});
