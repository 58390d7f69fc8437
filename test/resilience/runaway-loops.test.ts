import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import type { CallStore, CallWriter } from '../../src/domain/ports.js';
import { DeliveryWorker } from '../../src/notifications/delivery.worker.js';
import { NotificationTokens } from '../../src/notifications/notification-token.js';
import { VirtualClock } from '../../src/shared/virtual-clock.js';
import { JobRegistry } from '../../src/simulator/job-registry.js';
import { JobRunner } from '../../src/simulator/job-runner.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';

/** Counts the transactions a worker opens: a loop that spins on a failure shows up as thousands. */
function counting(store: CallStore): { store: CallStore; writes: () => number } {
  let n = 0;
  const counted = Object.create(store) as CallStore;
  counted.write = <T>(fn: (tx: CallWriter) => Promise<T>) => { n++; return store.write(fn); };
  return { store: counted, writes: () => n };
}

const quietly = () => undefined;
const HOUR = 3_600_000;

/**
 * The workers run on a virtual clock: their backoff is moved through by advancing it (no real waits), and
 * "goes quiet" is shown by an hour of clock time passing with no transaction opened and no timer left.
 */
async function advanceUntil<T>(clock: VirtualClock, fn: () => Promise<T | null | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await fn();
    if (v) return v;
    await clock.advance(10);
  }
  throw new Error(`2 s of clock time passed without ${what}`);
}

test('a job that keeps throwing is retried with backoff, then dead-lettered, and the runner goes quiet', async () => {
  const engine = new SqliteEngine({ dataDir: null, synchronous: 'FULL' });
  const { store, writes } = counting(engine.calls);
  const clock = new VirtualClock(Date.now());
  const registry = new JobRegistry();
  let runs = 0;
  registry.register('answerCall', async () => { runs++; throw new Error('the far side is broken'); });
  const runner = new JobRunner({
    store, wakeups: engine.wakeups, clock, jobs: registry, owner: 'test', leaseMs: 10_000,
    maxAttempts: 4, retryBaseMs: 20, retryMaxMs: 80, pollMs: 0, onError: quietly,
  });
  try {
    runner.start();
    await engine.calls.write((tx) => tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: clock.now(), payload: {} }));
    const [dead] = await advanceUntil(clock, async () => ((await engine.calls.deadJobs(5)).length ? engine.calls.deadJobs(5) : null), 'the job being dead-lettered');
    assert.equal(runs, 4, 'run once per attempt, no more');
    assert.equal(dead!.attempts, 4);
    assert.equal(dead!.lastError, 'the far side is broken');
    assert.equal(await engine.calls.nextJobDue(), null, 'a dead job is never due again');
    await runner.idle();
    assert.equal(clock.pending(), 0, 'no timer left armed');
    const before = writes();
    await clock.advance(HOUR);
    await runner.idle();
    assert.equal(writes(), before, 'with nothing due, the runner opens no transaction at all');
    assert.equal(runs, 4);
  } finally {
    runner.stop();
    await runner.idle();
    await engine.close();
  }
});

test('a delivery that fails before it reaches the network is journalled, backed off and dead-lettered, never spun', async () => {
  const engine = new SqliteEngine({ dataDir: null, synchronous: 'FULL' });
  const { store, writes } = counting(engine.calls);
  const clock = new VirtualClock(Date.now());
  const key = await loadOrCreateKey(engine.config, 'notification-signing');
  let posts = 0;
  const worker = new DeliveryWorker({
    store, wakeups: engine.wakeups, clock, owner: 'test', leaseMs: 10_000, pollMs: 0,
    sender: { post: async () => { posts++; return { status: 202, latencyMs: 1, location: null, retryAfterMs: null }; } },
    tokens: new NotificationTokens(key, clock), render: () => '{}', timeoutMs: 1000, concurrency: 4,
    policy: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 80, maxRedirects: 5 }, onError: quietly,
  });
  try {
    worker.start();
    // A notification whose call is gone: building the request fails before any POST.
    await engine.calls.write((tx) => tx.appendOutbox({
      callId: 'no-such-call', messageId: 'm1', changeType: 'updated', resourceUrl: '/communications/calls/no-such-call',
      resourceData: {}, callbackUri: 'http://127.0.0.1:9/cb', createdAt: clock.now(),
    }));
    await advanceUntil(clock, async () => (await engine.calls.listOutbox({ limit: 1 }))[0]?.state === 'dead', 'the notification being dead-lettered');
    const attempts = await engine.calls.listDeliveryAttempts({ limit: 10 });
    assert.deepEqual(attempts.map((a) => a.outcome), ['retry', 'retry', 'dead']);
    assert.ok(attempts.every((a) => a.error?.includes('unknown call')), 'each attempt says why it failed');
    assert.equal(posts, 0);
    await worker.idle();
    assert.equal(clock.pending(), 0, 'no retry timer left armed');
    const before = writes();
    await clock.advance(HOUR);
    await worker.idle();
    assert.ok(writes() - before <= 1, 'with nothing deliverable, the worker does not loop');
  } finally {
    worker.stop();
    await worker.idle();
    await engine.close();
  }
});
