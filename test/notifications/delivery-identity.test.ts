import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt } from 'jose';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import type { CallStore } from '../../src/domain/ports.js';
import { DeliveryWorker } from '../../src/notifications/delivery.worker.js';
import { NotificationTokens } from '../../src/notifications/notification-token.js';
import { systemClock } from '../../src/shared/clock.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';
import { newCall, newNotification } from '../support/factories.js';
import { poolSigningKey } from '../support/harness.js';

/**
 * A notification's headers and token need four fields of its call that never change (id, app, tenant,
 * chain id). The worker reads each call once for them, not the whole call for every notification, and
 * every notification still carries its own call's values.
 */
test('the delivery worker reads each call once for its identity, and every notification carries its own call\'s', async () => {
  const engine = new SqliteEngine({ dataDir: null, synchronous: 'FULL' });
  const key = await loadOrCreateKey(engine.config, 'notification-signing', poolSigningKey);
  const calls = [newCall({ appId: 'app-1', tenantId: 'tenant-1' }), newCall({ appId: 'app-2', tenantId: 'tenant-2' }), newCall({ appId: 'app-1', tenantId: 'tenant-1' })];
  const PER_CALL = 5;
  const reads = new Map<string, number>();
  const store = Object.create(engine.calls) as CallStore;
  store.getCall = async (id: string) => {
    reads.set(id, (reads.get(id) ?? 0) + 1);
    return engine.calls.getCall(id);
  };
  const seen: Array<Record<string, string>> = [];
  const worker = new DeliveryWorker({
    store, wakeups: engine.wakeups, clock: systemClock, owner: 'test', leaseMs: 10_000, pollMs: 0,
    sender: { post: async (_url, headers) => { seen.push(headers); return { status: 202, latencyMs: 1, location: null, retryAfterMs: null }; } },
    tokens: new NotificationTokens(key, systemClock), render: () => '{}', timeoutMs: 1000, concurrency: 4,
    policy: { maxAttempts: 3, baseDelayMs: 20, maxDelayMs: 80, maxRedirects: 5 }, onError: (err) => { throw err; },
  });
  try {
    await engine.calls.write(async (tx) => {
      for (const c of calls) {
        await tx.insertCall(c);
        for (let i = 0; i < PER_CALL; i++) await tx.appendOutbox(newNotification(c.id));
      }
    });
    worker.start();
    for (let i = 0; i < 500 && seen.length < calls.length * PER_CALL; i++) await sleep(5);
    await worker.idle();
    assert.equal(seen.length, calls.length * PER_CALL, 'every notification sent');
    assert.deepEqual(calls.map((c) => reads.get(c.id)), calls.map(() => 1), 'one read per call');
    for (const h of seen) {
      const call = calls.find((c) => c.id === h['scenario-id']);
      assert.ok(call, `scenario-id ${h['scenario-id']} names one of the calls`);
      assert.equal(h['x-microsoft-skype-chain-id'], call.callChainId);
      const claims = decodeJwt(h.authorization!.replace(/^Bearer /, ''));
      assert.deepEqual([claims.aud, claims.tid], [call.appId, call.tenantId]);
    }
  } finally {
    worker.stop();
    await engine.close();
  }
});
