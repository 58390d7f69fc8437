import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallStore, CallWriter } from '../../src/domain/ports.js';
import { RetentionSweeper } from '../../src/retention/retention-sweeper.js';

/**
 * A store whose transactions only count: `expired` calls are waiting, each batch takes what its limit
 * allows, and every write takes a turn of the event loop, so overlapping sweeps would show.
 */
function fakeStore(o: { expired: number; claim?: () => boolean; batchMs?: (limit: number) => number; queuedMs?: number }) {
  /** A stopwatch the batches move: each takes `batchMs(limit)` of it (never real time). */
  let elapsed = 0;
  const stopwatch = () => elapsed;
  const seen = { inFlight: 0, maxInFlight: 0, writes: 0, limits: [] as number[], cutoffs: [] as number[], released: [] as string[] };
  let left = o.expired;
  const tx = {
    claimSweep: async () => o.claim?.() ?? true,
    deleteEndedCalls: async (endedBy: number, limit: number) => {
      seen.limits.push(limit);
      seen.cutoffs.push(endedBy);
      elapsed += o.batchMs?.(limit) ?? 0;
      const n = Math.min(left, limit);
      left -= n;
      return Array.from({ length: n }, (_, i) => `c${i}`);
    },
    trimDeliveryAttempts: async () => 0,
    trimJournal: async () => 0,
    trimSettledLanes: async () => 0,
    releaseSweep: async (owner: string) => { seen.released.push(owner); },
  } as unknown as CallWriter;
  const store = {
    write: async <T>(fn: (tx: CallWriter) => Promise<T>): Promise<T> => {
      seen.writes++;
      seen.inFlight++;
      seen.maxInFlight = Math.max(seen.maxInFlight, seen.inFlight);
      try {
        await new Promise((r) => setImmediate(r));
        // Waiting for its turn (a busy group commit): time passes before the transaction runs.
        elapsed += o.queuedMs ?? 0;
        return await fn(tx);
      } finally {
        seen.inFlight--;
      }
    },
  } as unknown as CallStore;
  return { store, seen, stopwatch, left: () => left };
}

const clock = (now: number) => ({ now: () => now, setTimer: () => () => undefined });

test('a sweep deletes in batches of at most --retention-batch calls, one transaction each, until a batch comes back short', async () => {
  const f = fakeStore({ expired: 23 });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 1000, batchCalls: 5, pauseMs: 0, stopwatch: f.stopwatch, onError: assert.fail });
  const r = await s.sweep();
  assert.equal(r.calls, 23);
  assert.deepEqual(f.seen.limits, [5, 5, 5, 5, 5]);
  assert.equal(r.batches, 5 + 3, 'five call batches, then one for each trim');
  assert.deepEqual([...new Set(f.seen.cutoffs)], [9000], 'the cut-off is the call clock less the retention');
  assert.equal(r.busy, false);
  assert.deepEqual(f.seen.released, ['me'], 'the lease is released when the sweep ends');
});

test('never two sweeps at once: one asked for meanwhile waits for the running one, and more join it', async () => {
  const f = fakeStore({ expired: 40 });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 1000, batchCalls: 3, pauseMs: 0, onError: assert.fail });
  const [a, b, c] = [s.sweep(), s.sweep(), s.sweep()];
  assert.equal(b, c, 'one sweep waits; later requests join it');
  const [ra, rb] = await Promise.all([a, b]);
  assert.equal(f.seen.maxInFlight, 1);
  assert.equal(ra.calls + rb.calls, 40);
  assert.equal(rb.calls, 0, 'the first sweep took everything');
});

test('when another instance holds the sweep, this one stops at once', async () => {
  const f = fakeStore({ expired: 10, claim: () => false });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 1000, batchCalls: 3, pauseMs: 0, onError: assert.fail });
  const r = await s.sweep();
  assert.deepEqual({ busy: r.busy, batches: r.batches, calls: r.calls }, { busy: true, batches: 1, calls: 0 });
  assert.equal(f.left(), 10);
});

test('--retention 0 keeps everything: no sweep touches the store', async () => {
  const f = fakeStore({ expired: 10 });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 0, batchCalls: 3, onError: assert.fail });
  s.start();
  assert.equal((await s.sweep()).batches, 0);
  s.stop();
  assert.equal(f.seen.writes, 0);
});

test('stop lets the batch in progress finish and starts no other', async () => {
  const f = fakeStore({ expired: 100 });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 1000, batchCalls: 5, pauseMs: 1, onError: assert.fail });
  const run = s.sweep();
  await new Promise((r) => setTimeout(r, 0));
  s.stop();
  await s.idle();
  const r = await run;
  assert.ok(r.calls < 100 && r.calls > 0, `stopped part way (${r.calls})`);
  assert.equal(f.seen.inFlight, 0);
});

test('a batch that runs over its time budget halves the next; quick ones grow back to --retention-batch', async () => {
  // A batch of more than 4 calls takes 30 ms here, against a budget of 20 ms.
  const f = fakeStore({ expired: 60, batchMs: (limit) => (limit > 4 ? 30 : 0) });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 1000, batchCalls: 16, pauseMs: 0, batchBudgetMs: 20, stopwatch: f.stopwatch, onError: assert.fail });
  const r = await s.sweep();
  assert.equal(r.calls, 60);
  assert.deepEqual(f.seen.limits.slice(0, 6), [16, 8, 4, 8, 4, 8]);
  assert.ok(s.totals.slowestBatchMs >= 30);
});

test('a batch is sized by its own work, not by its wait for a turn: a busy database does not shrink it', async () => {
  // Every write waits 50 ms for its turn; the batches themselves are quick.
  const f = fakeStore({ expired: 60, queuedMs: 50 });
  const s = new RetentionSweeper({ owner: 'me', leaseMs: 10_000, store: f.store, clock: clock(10_000), retentionMs: 1000, batchCalls: 16, pauseMs: 0, batchBudgetMs: 20, stopwatch: f.stopwatch, onError: assert.fail });
  const r = await s.sweep();
  assert.equal(r.calls, 60);
  assert.deepEqual(f.seen.limits, [16, 16, 16, 16]);
});
