import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import type { CallStore, CallWriter } from '../../src/domain/ports.js';
import { DeliveryWorker } from '../../src/notifications/delivery.worker.js';
import { NotificationTokens } from '../../src/notifications/notification-token.js';
import { VirtualClock } from '../../src/shared/virtual-clock.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';
import { poolSigningKey } from '../support/harness.js';

/**
 * Shutdown waits for the delivery worker's idle(); graph-calls' close() gives it --shutdown-grace-ms
 * (10 s by default) and then goes on without it. A wake-up that arrived while a pump was running asks
 * for one more pump when it ends; if stop() came in between, that pump never runs, and idle() must
 * still resolve then, not leave close() to sit out the whole grace.
 */
test('idle() resolves after stop() even when a wake-up arrived during the last pump', async () => {
  const engine = new SqliteEngine({ dataDir: null, synchronous: 'FULL' });
  const clock = new VirtualClock(Date.now());
  const key = await loadOrCreateKey(engine.config, 'notification-signing', poolSigningKey);
  // Holds the pump's claim transaction until released, so the wake-up and stop() land inside it.
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let claims = 0;
  const store = Object.create(engine.calls) as CallStore;
  store.write = async <T>(fn: (tx: CallWriter) => Promise<T>) => { claims++; await gate; return engine.calls.write(fn); };
  const worker = new DeliveryWorker({
    store, wakeups: engine.wakeups, clock, owner: 'test', leaseMs: 10_000, pollMs: 0,
    sender: { post: async () => ({ status: 202, latencyMs: 1, location: null, retryAfterMs: null }) },
    tokens: new NotificationTokens(key, clock), render: () => '{}', timeoutMs: 1000, concurrency: 4,
    policy: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 80, maxRedirects: 5 }, onError: () => undefined,
  });
  try {
    worker.start();
    for (let i = 0; i < 100 && claims === 0; i++) await sleep(1);
    assert.equal(claims, 1, 'the first pump is inside its claim');
    worker.wake();
    worker.stop();
    release();
    const outcome = await Promise.race([worker.idle().then(() => 'idle'), sleep(2000).then(() => 'still waiting after 2 s')]);
    assert.equal(outcome, 'idle');
    assert.equal(claims, 1, 'no pump ran after stop()');
  } finally {
    release();
    await engine.close();
  }
});
