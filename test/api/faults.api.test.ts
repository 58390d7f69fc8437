import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHarness, CLIENT_ID, p2pCallBody, startServer, type Harness, type ServerHarness } from '../support/harness.js';
import { call, establishedCall } from '../support/inject.js';
import { api, createCall, deliveries, settled, waitForState } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';

const addFault = (h: Harness, body: unknown) => call(h, 'POST', '/_emulator/faults', { body, auth: false });

describe('fault injection: Graph side', () => {
  let h: Harness;
  before(async () => { h = await buildHarness(); });
  after(() => h.close());

  test('a status fault fires `count` times on the matching route, is marked, and shows in the journal and HAR', async () => {
    const id = await establishedCall(h, p2pCallBody());
    const added = await addFault(h, { side: 'graph', match: { route: 'startRecording', method: 'POST' }, action: { type: 'status', status: 503 }, count: 1 });
    assert.equal(added.status, 201);
    const first = await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
    assert.equal(first.status, 503);
    assert.equal(first.body.error.code, 'serviceNotAvailable');
    assert.equal(first.headers['x-graph-calls-fault'], added.body.id);
    assert.equal((await h.comp.store.listOperations(id, 0, 10)).length, 0, 'nothing happened');
    const second = await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`);
    assert.equal(second.status, 202, 'the rule is spent');
    const journal = (await call(h, 'GET', `/_emulator/requests?callId=${id}`, { auth: false })).body.value;
    const marked = journal.filter((e: any) => e.injectedFault === added.body.id);
    assert.equal(marked.length, 1);
    assert.equal(marked[0].status, 503);
    assert.equal(marked[0].requestHeaders.authorization, 'Bearer …', 'tokens are not kept');
    const har = (await call(h, 'GET', `/_emulator/requests/har?callId=${id}`, { auth: false })).body;
    assert.equal(har.log.version, '1.2');
    assert.ok(har.log.entries.some((e: any) => e.response.status === 503 && /injected fault/.test(e.comment)));
    assert.ok(har.log.entries.every((e: any) => e.request.url.includes(id)));
  });

  test('throttling: 429 + Retry-After once an app exceeds the configured limit', async () => {
    await call(h, 'DELETE', '/_emulator/faults', { auth: false });
    await addFault(h, { side: 'graph', match: { route: '/communications/calls' }, action: { type: 'throttle', limit: 3, windowSeconds: 60, retryAfterSeconds: 7 } });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push(await call(h, 'GET', '/beta/communications/calls/00000000-0000-4000-8000-000000000abc'));
    assert.deepEqual(statuses.map((r) => r.status), [404, 404, 404, 429, 429]);
    assert.equal(statuses[3]!.headers['retry-after'], '7');
    assert.equal(statuses[3]!.body.error.code, 'TooManyRequests');
    await call(h, 'DELETE', '/_emulator/faults', { auth: false });
  });

  test('latency and probability', async () => {
    const f = await addFault(h, { side: 'graph', match: { appId: CLIENT_ID }, action: { type: 'latency', ms: 150 }, once: true });
    const t0 = Date.now();
    await call(h, 'GET', '/beta/communications/calls/00000000-0000-4000-8000-000000000abc');
    assert.ok(Date.now() - t0 >= 140);
    assert.equal((await call(h, 'GET', '/_emulator/faults', { auth: false })).body.value.find((r: any) => r.id === f.body.id).remaining, 0);
    await addFault(h, { side: 'graph', action: { type: 'status', status: 500 }, probability: 0 });
    assert.equal((await call(h, 'GET', '/beta/communications/calls/00000000-0000-4000-8000-000000000abc')).status, 404, 'probability 0 never fires');
    await call(h, 'DELETE', '/_emulator/faults', { auth: false });
  });

  test('bad rules are refused with every problem named; rules can be removed', async () => {
    const bad = await addFault(h, { side: 'graph', action: { type: 'status', status: 200 }, probability: 2 });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /status.*400 to 599/);
    assert.match(bad.body.error.message, /probability/);
    const wrongSide = await addFault(h, { side: 'notification', action: { type: 'reset' } });
    assert.match(wrongSide.body.error.message, /drop, duplicate, delay, reorder, badToken/);
    const ok = await addFault(h, { id: 'mine', side: 'graph', action: { type: 'reset' }, match: { route: '/never' } });
    assert.equal(ok.body.id, 'mine');
    assert.equal((await call(h, 'DELETE', '/_emulator/faults/mine', { auth: false })).status, 204);
    assert.equal((await call(h, 'DELETE', '/_emulator/faults/mine', { auth: false })).status, 404);
  });
});

describe('fault injection over real sockets', () => {
  let h: ServerHarness;
  let bot: Receiver;
  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-faults-'));
    const file = join(dir, 'faults.json');
    writeFileSync(file, JSON.stringify([{ id: 'from-file', side: 'graph', match: { route: '/never-matches' }, action: { type: 'status', status: 500 } }]));
    h = await startServer({ faultsFile: file });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
  });
  after(async () => {
    await h.close();
    await bot.close();
  });

  test('--faults FILE loads rules at start', async () => {
    const list = (await api(h, 'GET', '/_emulator/faults', undefined, { auth: false })).body.value;
    assert.deepEqual(list.map((r: any) => r.id), ['from-file']);
  });

  test('a socket reset', async () => {
    await api(h, 'POST', '/_emulator/faults', { side: 'graph', match: { route: '/communications/calls' }, action: { type: 'reset' }, once: true }, { auth: false });
    await assert.rejects(fetch(`${h.url}/beta/communications/calls/x`, { headers: { authorization: h.auth } }), /fetch failed/);
    assert.equal((await api(h, 'GET', '/beta/communications/calls/00000000-0000-4000-8000-000000000abc')).status, 404);
  });

  test('notifications: reordered, so the call\'s next one arrives first', async () => {
    let first = true;
    bot.setRespond(() => {
      if (!first) return undefined;
      first = false;
      return { delayMs: 400 }; // 'establishing' is in flight while the far side answers
    });
    try {
      const call = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
      await waitForState(h, call.id, 'established');
      await api(h, 'POST', '/_emulator/faults', { side: 'notification', action: { type: 'reorder' }, match: { callId: call.id }, once: true }, { auth: false });
      const got = await bot.waitForCount(3, { callId: call.id });
      assert.deepEqual(got.map((n) => (Array.isArray(n.resourceData) ? 'roster' : n.resourceData.state)), ['establishing', 'roster', 'established']);
      const journal = await deliveries(h, call.id);
      assert.ok(journal.some((a) => /reorder \(sent before/.test(a.error ?? '')));
    } finally {
      bot.setRespond(undefined);
    }
  });

  test('notifications: dropped, duplicated, delayed, and sent with a bad token', async () => {
    const add = (action: unknown, match: unknown) => api(h, 'POST', '/_emulator/faults', { side: 'notification', action, match, once: true }, { auth: false });
    const call = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, call.id, 'established');
    await bot.waitForCount(3, { callId: call.id });
    await add({ type: 'drop' }, { callId: call.id, route: '/participants' });
    await api(h, 'POST', `/beta/communications/calls/${call.id}/startRecording`, {});
    await add({ type: 'duplicate' }, { callId: call.id, route: '/participants' });
    await api(h, 'POST', `/beta/communications/calls/${call.id}/stopRecording`, {});
    await add({ type: 'delay', ms: 200 }, { callId: call.id, route: '/participants' });
    await api(h, 'POST', `/beta/communications/calls/${call.id}/startRecording`, {});
    await add({ type: 'badToken', token: 'expired' }, { callId: call.id, route: '/participants' });
    await api(h, 'POST', `/beta/communications/calls/${call.id}/stopRecording`, {});
    await settled(h, call.id, 10_000);
    const journal = await deliveries(h, call.id);
    const injected = journal.filter((a) => /injected fault/.test(a.error ?? ''));
    assert.deepEqual(injected.map((a) => a.error.replace(/fault \S+:/, 'fault X:')), [
      'injected fault X: drop', 'injected fault X: duplicate', 'injected fault X: delay', 'injected fault X: badToken (expired)',
    ]);
    assert.equal(injected[0].outcome, 'dropped');
    assert.equal(injected[3].outcome, 'rejected', 'the bot refused the expired token');
    assert.equal(bot.rejections.length, 1);
    assert.match(bot.rejections[0]!.reason, /exp/);
    const ids = bot.requests.map((r) => r.messageId);
    assert.equal(ids.length - new Set(ids).size, 1, 'exactly one message arrived twice');
    assert.ok(!bot.notifications.some((n) => n.messageId === injected[0].messageId), 'the dropped one never arrived');
  });
});
