import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../src/config.js';
import { CLIENT_ID, p2pCallBody, startServer, tempDataDir, waitFor, type ServerHarness } from '../support/harness.js';
import { api, createCall, deliveries, outbox, settled, waitForState } from '../support/graph-http.js';
import { reservablePort } from '../support/free-port.js';
import { startReceiver, type ReceivedNotification, type Receiver, type RespondHook } from '../support/webhook-receiver.js';

/** Small retry delays so faults resolve in milliseconds. */
const FAST: Partial<Config> = { deliveryRetryBaseMs: 20, deliveryRetryMaxMs: 200 };

/** The three notifications of an outgoing call, in commit order. */
const CREATE_SEQUENCE = ['updated / establishing', 'updated / established', 'updated /participants'];

function line(n: Pick<ReceivedNotification, 'changeType' | 'resourceUrl' | 'resourceData' | 'callId'>): string {
  if (n.resourceUrl.includes('/recordings/')) return `${n.changeType} recording`;
  const suffix = n.resourceUrl.replace(`/communications/calls/${n.callId}`, '') || '/';
  const state = Array.isArray(n.resourceData) ? '' : (n.resourceData?.state ?? n.resourceData?.status ?? '');
  return `${n.changeType} ${suffix.replace(/\/operations\/.+$/, '/operations/{op}')} ${state}`.trim();
}

/** Asserts what the bot accepted for a call is exactly the committed outbox, in commit order, each once. */
async function assertDeliveredInCommitOrder(h: ServerHarness, bot: Receiver, callId: string): Promise<any[]> {
  const rows = await outbox(h, callId);
  assert.deepEqual(bot.forCall(callId).map((n) => n.messageId), rows.map((r) => r.messageId), `call ${callId}: accepted = committed, in order, once each`);
  assert.ok(rows.every((r) => r.state === 'delivered'), `call ${callId}: all delivered`);
  return rows;
}

describe('notification delivery under faults', () => {
  const servers: ServerHarness[] = [];
  const receivers: Receiver[] = [];
  const server = async (over: Partial<Config> = {}) => {
    const h = await startServer({ ...FAST, ...over });
    servers.push(h);
    return h;
  };
  const receiver = async (h: ServerHarness, respond?: RespondHook, port?: number) => {
    const r = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID, respond, port });
    receivers.push(r);
    return r;
  };
  after(async () => {
    for (const r of receivers) await r.close();
    for (const h of servers) await h.close();
  });

  let h: ServerHarness;
  before(async () => { h = await server(); });

  test('a bot that answers 503 twice then 202: everything delivered in order; attempts 1..3 with one message id', async () => {
    const bot = await receiver(h, (_req, n) => (n <= 2 ? { status: 503 } : undefined));
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id });
    const rows = await settled(h, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), CREATE_SEQUENCE);
    await assertDeliveredInCommitOrder(h, bot, created.id);

    // The bot saw the first notification three times, each with the same message id.
    assert.deepEqual(bot.requests.map((r) => r.status), [503, 503, 202, 202, 202]);
    const first = rows[0]!.messageId;
    assert.deepEqual(bot.requests.slice(0, 3).map((r) => r.messageId), [first, first, first]);

    const journal = await deliveries(h, created.id);
    assert.deepEqual(journal.map((a) => [a.notificationSeq, a.attempt, a.status, a.outcome]), [
      [rows[0]!.seq, 1, 503, 'retry'],
      [rows[0]!.seq, 2, 503, 'retry'],
      [rows[0]!.seq, 3, 202, 'delivered'],
      [rows[1]!.seq, 1, 202, 'delivered'],
      [rows[2]!.seq, 1, 202, 'delivered'],
    ]);
    assert.deepEqual(journal.slice(0, 3).map((a) => a.messageId), [first, first, first]);
    assert.ok(journal.every((a) => a.url === bot.callbackUri && typeof a.latencyMs === 'number'));
    assert.deepEqual(bot.rejections, []);
  });

  for (const status of [408, 502]) test(`a ${status} answer is retried like a 503`, async () => {
    const bot = await receiver(h, (_req, n) => (n === 1 ? { status } : undefined));
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id });
    const rows = await settled(h, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), CREATE_SEQUENCE);
    await assertDeliveredInCommitOrder(h, bot, created.id);
    const journal = await deliveries(h, created.id);
    assert.deepEqual(journal.slice(0, 2).map((a) => [a.notificationSeq, a.attempt, a.status, a.outcome]), [
      [rows[0]!.seq, 1, status, 'retry'], [rows[0]!.seq, 2, 202, 'delivered'],
    ]);
  });

  test('a bot that is down for a while (connection refused), then back on the same port: all delivered in order', async () => {
    const hh = await server({ deliveryMaxAttempts: 100 });
    const first = await receiver(hh);
    const port = first.port;
    const callbackUri = first.callbackUri;
    await first.close();

    const created = await createCall(hh, p2pCallBody({ callbackUri }));
    await waitForState(hh, created.id, 'established');
    // Several refused attempts are journalled before the bot comes back (enough for the worker to have
    // had the chance to try the later notifications, had it not kept to the head).
    const failed = await waitFor(async () => { const d = await deliveries(hh, created.id); return d.length >= 5 ? d : null; }, 'five failed attempts', 10_000);
    assert.ok(failed.every((a) => a.status === null && a.outcome === 'retry' && /ECONNREFUSED/.test(a.error)), JSON.stringify(failed.slice(0, 2)));
    assert.ok(failed.every((a) => a.notificationSeq === failed[0]!.notificationSeq), 'only the head notification is tried while the bot is down');

    const back = await receiver(hh, undefined, port);
    assert.equal(back.callbackUri, callbackUri);
    await back.waitForCount(3, { callId: created.id });
    await settled(hh, created.id);
    assert.deepEqual(back.forCall(created.id).map(line), CREATE_SEQUENCE);
    await assertDeliveredInCommitOrder(hh, back, created.id);
    assert.deepEqual(back.rejections, []);
  });

  test('429 with Retry-After: 1 is honoured (the retry waits 1 s although the backoff would be ~20 ms)', async () => {
    // On the virtual clock (started now, so notification tokens are current): the retry is due exactly
    // 1 s of clock time after the 429; 999 ms later it has not come, 1 ms more and it does.
    const hv = await server({ clock: 'virtual', clockStart: new Date().toISOString() });
    const advance = (ms: number) => api(hv, 'POST', '/_emulator/clock/advance', { ms }, { auth: false });
    const bot = await receiver(hv, (_req, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : undefined));
    const created = await createCall(hv, p2pCallBody({ callbackUri: bot.callbackUri }));
    await waitFor(async () => (await deliveries(hv, created.id)).length === 1, 'the 429 journalled');
    assert.equal((await advance(999)).status, 200);
    assert.deepEqual(bot.requests.map((r) => r.status), [429], 'no retry before Retry-After has passed (the far side answered meanwhile)');
    await advance(1);
    // The rest were committed before now, so they follow at once.
    await bot.waitForCount(3, { callId: created.id });
    await settled(hv, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), CREATE_SEQUENCE);
    await assertDeliveredInCommitOrder(hv, bot, created.id);
    const [r1, r2] = bot.requests;
    assert.equal(r1!.status, 429);
    assert.equal(r2!.messageId, r1!.messageId);
    const journal = await deliveries(hv, created.id);
    assert.deepEqual(journal.slice(0, 2).map((a) => [a.attempt, a.status, a.outcome]), [[1, 429, 'retry'], [2, 202, 'delivered']]);
  });

  for (const status of [307, 302]) {
    test(`a bot that redirects (${status} + absolute Location): the rest arrive at the new receiver in order, the call is re-homed`, async () => {
      const second = await receiver(h);
      const target = `${second.url}/callback/moved`;
      const firstBot = await receiver(h, (_req, n) => (n === 1 ? { status, headers: { location: target } } : undefined));
      const created = await createCall(h, p2pCallBody({ callbackUri: firstBot.callbackUri }));
      await second.waitForCount(3, { callId: created.id });
      const call = await waitForState(h, created.id, 'established');
      assert.equal(call.callbackUri, target, 'GET call shows the new callbackUri');

      // Later commits go to the new home too.
      assert.equal((await api(h, 'DELETE', `/beta/communications/calls/${created.id}`)).status, 204);
      await second.waitForCount(5, { callId: created.id });
      const rows = await settled(h, created.id);
      assert.deepEqual(second.forCall(created.id).map(line), [...CREATE_SEQUENCE, 'updated / terminating', 'deleted / terminated']);
      await assertDeliveredInCommitOrder(h, second, created.id);
      assert.ok(second.forCall(created.id).every((n) => n.path === '/callback/moved' && n.callbackUri === target));
      assert.equal(firstBot.requests.length, 1, 'the old home saw only the redirected attempt');
      assert.equal(firstBot.notifications.length, 0);
      assert.ok(rows.every((r) => r.callbackUri === target));

      const journal = await deliveries(h, created.id);
      assert.deepEqual(journal.slice(0, 2).map((a) => [a.notificationSeq, a.attempt, a.url, a.status, a.outcome]), [
        [rows[0]!.seq, 1, firstBot.callbackUri, status, 'redirected'],
        [rows[0]!.seq, 2, target, 202, 'delivered'],
      ]);
      assert.ok(journal.slice(2).every((a) => a.url === target && a.outcome === 'delivered'));
      assert.deepEqual([...firstBot.rejections, ...second.rejections], []);
    });
  }

  for (const status of [400, 403]) test(`a ${status} answer is final (outcome rejected, no retry) and later notifications still arrive`, async () => {
    const bot = await receiver(h, (_req, n) => (n === 1 ? { status } : undefined));
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(2, { callId: created.id });
    const rows = await settled(h, created.id);
    assert.deepEqual(bot.requests.map((r) => [line({ ...r.body.value[0], callId: created.id }), r.status]), [
      ['updated / establishing', status], ['updated / established', 202], ['updated /participants', 202],
    ]);
    assert.deepEqual(bot.forCall(created.id).map(line), CREATE_SEQUENCE.slice(1));
    assert.deepEqual(rows.map((r) => r.state), ['dead', 'delivered', 'delivered']);
    const journal = await deliveries(h, created.id);
    assert.deepEqual(journal.map((a) => [a.notificationSeq, a.attempt, a.status, a.outcome]), [
      [rows[0]!.seq, 1, status, 'rejected'],
      [rows[1]!.seq, 1, 202, 'delivered'],
      [rows[2]!.seq, 1, 202, 'delivered'],
    ]);
  });

  test('deliveryMaxAttempts exhausted: the notification is dead and the next one proceeds', async () => {
    const hh = await server({ deliveryMaxAttempts: 3 });
    const bot = await receiver(hh, (_req, n) => (n <= 3 ? { status: 500 } : undefined));
    const created = await createCall(hh, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(2, { callId: created.id });
    const rows = await settled(hh, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), CREATE_SEQUENCE.slice(1));
    assert.deepEqual(rows.map((r) => r.state), ['dead', 'delivered', 'delivered']);
    assert.deepEqual(bot.requests.map((r) => r.status), [500, 500, 500, 202, 202]);
    const journal = await deliveries(hh, created.id);
    assert.deepEqual(journal.map((a) => [a.notificationSeq, a.attempt, a.status, a.outcome]), [
      [rows[0]!.seq, 1, 500, 'retry'],
      [rows[0]!.seq, 2, 500, 'retry'],
      [rows[0]!.seq, 3, 500, 'dead'],
      [rows[1]!.seq, 1, 202, 'delivered'],
      [rows[2]!.seq, 1, 202, 'delivered'],
    ]);
  });

  test('a bot slower than deliveryTimeoutMs: the attempt times out and is retried with the same message id', async () => {
    const hh = await server({ deliveryTimeoutMs: 150 });
    const bot = await receiver(hh, (_req, n) => (n === 1 ? { delayMs: 600 } : undefined));
    const created = await createCall(hh, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id });
    const rows = await settled(hh, created.id);
    assert.deepEqual(bot.forCall(created.id).map(line), CREATE_SEQUENCE);
    await assertDeliveredInCommitOrder(hh, bot, created.id);
    assert.equal(bot.requests[0]!.messageId, bot.requests[1]!.messageId);
    const journal = await deliveries(hh, created.id);
    assert.deepEqual(journal.slice(0, 2).map((a) => [a.notificationSeq, a.attempt, a.status, a.outcome]), [
      [rows[0]!.seq, 1, null, 'retry'], [rows[0]!.seq, 2, 202, 'delivered'],
    ]);
    assert.match(journal[0]!.error, /timed out after 150 ms/);
  });

  /**
   * A bot endpoint that holds every request until the test lets it go: "A does not hold back B" is shown
   * by B finishing while A's attempt is provably still open, not by comparing how long things took.
   */
  function gate() {
    const waiting: Array<() => void> = [];
    let open = 0;
    let maxOpen = 0;
    return {
      hold: async () => {
        open++;
        maxOpen = Math.max(maxOpen, open);
        await new Promise<void>((r) => waiting.push(r));
        open--;
      },
      /** Lets the oldest held request be answered. */
      releaseOne: () => waiting.shift()?.(),
      releaseAll: () => waiting.splice(0).forEach((r) => r()),
      get held() { return waiting.length; },
      get maxOpen() { return maxOpen; },
    };
  }

  test('two calls deliver in parallel: a slow bot endpoint for call A does not hold back call B, and A\'s stay one at a time', async () => {
    // A long delivery timeout: A's held attempts must not time out and be retried while B runs.
    const hh = await server({ deliveryTimeoutMs: 120_000 });
    const slow = gate();
    const bot = await receiver(hh, async (req) => { if (req.path === '/slow') await slow.hold(); return undefined; });
    try {
      const a = await createCall(hh, p2pCallBody({ callbackUri: `${bot.url}/slow` }));
      await waitFor(() => slow.held === 1, 'A\'s first notification held at the bot');
      const b = await createCall(hh, p2pCallBody({ callbackUri: `${bot.url}/fast` }));
      await bot.waitForCount(3, { callId: b.id });
      await settled(hh, b.id);
      assert.deepEqual(bot.forCall(b.id).map(line), CREATE_SEQUENCE);
      await assertDeliveredInCommitOrder(hh, bot, b.id);
      // B is done, A's first attempt is still open, and A's later notifications (committed long since)
      // were not sent beside it.
      await waitForState(hh, a.id, 'established');
      assert.equal(slow.held, 1, 'A: still its first attempt, and only that one');
      assert.equal(bot.forCall(a.id).length, 0);
      // Let A's through one by one: each next one arrives only once the previous was answered.
      for (let i = 1; i <= 3; i++) {
        slow.releaseOne();
        if (i < 3) await waitFor(() => slow.held === 1, `A's notification ${i + 1} held`);
      }
      await bot.waitForCount(3, { callId: a.id });
      await settled(hh, a.id);
      assert.deepEqual(bot.forCall(a.id).map(line), CREATE_SEQUENCE);
      await assertDeliveredInCommitOrder(hh, bot, a.id);
      assert.equal(slow.maxOpen, 1, 'per call, one attempt in flight at a time');
    } finally {
      slow.releaseAll();
    }
  });

  test('a retry of call B is not held back by call A\'s slow in-flight attempt', async () => {
    const hh = await server({ deliveryTimeoutMs: 120_000 });
    const slow = gate();
    let flaky = 0;
    const bot = await receiver(hh, async (req) => {
      if (req.path === '/slow') { await slow.hold(); return undefined; }
      // B's third notification fails once. By then B has committed everything it will, so nothing but a
      // retry timer can wake the worker for B while A's attempt is in flight.
      return ++flaky === 3 ? { status: 503 } : undefined;
    });
    try {
      const a = await createCall(hh, p2pCallBody({ callbackUri: `${bot.url}/slow` }));
      await waitForState(hh, a.id, 'established');
      await waitFor(() => slow.held === 1, 'A in flight');
      const b = await createCall(hh, p2pCallBody({ callbackUri: `${bot.url}/flaky` }));
      await bot.waitForCount(3, { callId: b.id, timeoutMs: 10_000 });
      const bReqs = bot.requests.filter((r) => r.path === '/flaky');
      assert.deepEqual(bReqs.map((r) => r.status), [202, 202, 503, 202]);
      assert.equal(slow.held, 1, 'B retried and finished while A\'s first attempt was still open');
      assert.equal(bot.forCall(a.id).length, 0);
    } finally {
      slow.releaseAll();
    }
  });

  test('restart mid-backlog: pending notifications of two calls survive a restart and arrive exactly once, in commit order', async () => {
    const data = tempDataDir();
    try {
      // With the recording-ready callback notification (opt-in): call a's backlog includes it.
      const opts: Partial<Config> = { inMemory: false, dataDir: data.dir, deliveryMaxAttempts: 1000, recordingCallbackNotifications: true };
      // The bot's port, free while it is down (ECONNREFUSED), and still free when it comes back after the restart.
      const port = await reservablePort();
      const url = `http://127.0.0.1:${port}`;

      // First life: the bot is down; two calls change several times.
      const first = await startServer({ ...FAST, ...opts });
      let calls: { a: string; b: string };
      try {
        const a = (await createCall(first, p2pCallBody({ callbackUri: `${url}/bot/a` }))).id as string;
        const b = (await createCall(first, p2pCallBody({ callbackUri: `${url}/bot/b` }))).id as string;
        calls = { a, b };
        await waitForState(first, a, 'established');
        await waitForState(first, b, 'established');
        const start = await api(first, 'POST', `/beta/communications/calls/${a}/startRecording`, {});
        assert.equal(start.status, 202);
        await waitFor(async () => (await api(first, 'GET', `/beta/communications/calls/${a}/operations/${start.body.id}`)).body.status === 'completed', 'start completed');
        assert.equal((await api(first, 'POST', `/beta/communications/calls/${a}/stopRecording`, {})).status, 202);
        assert.equal((await api(first, 'DELETE', `/beta/communications/calls/${b}`)).status, 204);
        await waitFor(async () => (await api(first, 'GET', `/beta/communications/calls/${b}`)).status === 404, 'call b terminated');
        await waitFor(async () => (await deliveries(first, a)).length >= 2 && (await deliveries(first, b)).length >= 2, 'failed attempts on both calls');
        const pendingA = (await outbox(first, a)).filter((r) => r.resourceUrl.startsWith('/communications/calls/'));
        const pendingB = await outbox(first, b);
        assert.equal(pendingA.length, 6);
        assert.equal(pendingB.length, 5);
        assert.ok([...pendingA, ...pendingB].every((r) => r.state === 'pending'), 'nothing delivered while the bot is down');
      } finally {
        await first.close();
      }

      // Second life on the same data directory, then the bot comes back on its port.
      const second = await startServer({ ...FAST, ...opts });
      let bot: Receiver | null = null;
      try {
        bot = await startReceiver({ graphCallsUrl: second.url, appId: CLIENT_ID, port });
        await bot.waitForCount(7, { callId: calls.a });
        await bot.waitForCount(5, { callId: calls.b });
        await settled(second, calls.a);
        await settled(second, calls.b);
        assert.deepEqual(bot.forCall(calls.a).map(line), [
          ...CREATE_SEQUENCE, 'updated /participants', 'deleted /operations/{op} completed', 'updated /participants', 'created recording',
        ]);
        assert.deepEqual(bot.forCall(calls.b).map(line), [...CREATE_SEQUENCE, 'updated / terminating', 'deleted / terminated']);
        await assertDeliveredInCommitOrder(second, bot, calls.a);
        await assertDeliveredInCommitOrder(second, bot, calls.b);
        assert.equal(new Set(bot.notifications.map((n) => n.messageId)).size, bot.notifications.length, 'no duplicates');
        assert.ok(bot.forCall(calls.a).every((n) => n.path === '/bot/a'));
        assert.ok(bot.forCall(calls.b).every((n) => n.path === '/bot/b'));
        assert.deepEqual(bot.rejections, [], 'tokens from the restarted server verify (the key persisted)');
        // The journal spans both lives: failures before the restart, then one delivered attempt each.
        const journalA = await deliveries(second, calls.a);
        assert.ok(journalA.some((a) => a.outcome === 'retry' && /ECONNREFUSED/.test(a.error)));
        // Six call notifications plus the recording the stopped segment became.
        assert.equal(journalA.filter((a) => a.outcome === 'delivered').length, (await outbox(second, calls.a)).length);
        assert.equal((await outbox(second, calls.a)).length, 7);
      } finally {
        await bot?.close();
        await second.close();
      }
    } finally {
      data.cleanup();
    }
  });
});
