import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CallStore } from '../../src/domain/ports.js';
import { DomainError } from '../../src/domain/errors.js';
import { newCall, newOperation } from '../support/factories.js';

export interface StoreFactory {
  name: string;
  /** A fresh, empty store. */
  open(): CallStore;
  /** A second store on the same data, when the adapter can share it (another instance/process). */
  openSibling?(first: CallStore): CallStore;
  /** Closes and reopens the same data (restart), when the adapter persists. */
  reopen?(store: CallStore): CallStore;
}

/** One storage contract, run against every adapter (today: SQLite in memory and on disk). */
export function runStoreContract(f: StoreFactory): void {
  const t = (name: string, fn: (s: CallStore) => Promise<void>) => test(`${f.name}: ${name}`, async () => {
    const s = f.open();
    try { await fn(s); } finally { s.close(); }
  });

  t('a committed write is visible to reads', async (s) => {
    const c = newCall();
    await s.write((tx) => tx.insertCall(c));
    assert.equal(s.getCall(c.id)?.state, 'establishing');
    assert.equal(s.getCall('missing'), undefined);
  });

  t('commands queued in one turn share a commit, but a failing one rolls back alone', async (s) => {
    const a = newCall(), b = newCall();
    const results = await Promise.allSettled([
      s.write((tx) => tx.insertCall(a)),
      s.write((tx) => { tx.insertCall(b); throw new Error('boom'); }),
      s.write((tx) => tx.getCall(a.id)?.id),
    ]);
    assert.equal(results[0].status, 'fulfilled');
    assert.equal(results[1].status, 'rejected');
    assert.deepEqual(results[2], { status: 'fulfilled', value: a.id }, 'later commands see earlier ones in the batch');
    assert.ok(s.getCall(a.id));
    assert.equal(s.getCall(b.id), undefined);
  });

  t('optimistic version: a stale update loses with CONCURRENT_UPDATE', async (s) => {
    const c = newCall();
    await s.write((tx) => tx.insertCall(c));
    const loadedByA = s.getCall(c.id)!;
    const loadedByB = s.getCall(c.id)!;
    const won = await s.write((tx) => tx.updateCall({ ...loadedByA, state: 'established' }));
    assert.equal(won.version, 2);
    await assert.rejects(s.write((tx) => tx.updateCall({ ...loadedByB, state: 'terminating' })),
      (e: unknown) => e instanceof DomainError && e.code === 'CONCURRENT_UPDATE');
    assert.equal(s.getCall(c.id)!.state, 'established');
    assert.equal(s.getCall(c.id)!.version, 2);
  });

  if (f.openSibling) {
    t('two instances on the same data cannot both win a transition', async (s) => {
      const other = f.openSibling!(s);
      try {
        const c = newCall();
        await s.write((tx) => tx.insertCall(c));
        const seenByOther = other.getCall(c.id)!;
        const seenByFirst = s.getCall(c.id)!;
        const results = await Promise.allSettled([
          s.write((tx) => tx.updateCall({ ...seenByFirst, recordingActive: true })),
          other.write((tx) => tx.updateCall({ ...seenByOther, recordingActive: true })),
        ]);
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        assert.equal(s.getCall(c.id)!.version, 2);
      } finally {
        other.close();
      }
    });
  }

  t('operations page in creation order by keyset', async (s) => {
    const c = newCall();
    const ops = Array.from({ length: 5 }, () => newOperation(c.id));
    await s.write((tx) => { tx.insertCall(c); for (const op of ops) tx.insertOperation(op); });
    const first = s.listOperations(c.id, 0, 2);
    assert.deepEqual(first.map((o) => o.id), ops.slice(0, 2).map((o) => o.id));
    const rest = s.listOperations(c.id, first.at(-1)!.seq, 10);
    assert.deepEqual(rest.map((o) => o.id), ops.slice(2).map((o) => o.id));
    await s.write((tx) => tx.updateOperation({ ...ops[0]!, status: 'failed' }));
    assert.equal(s.getOperation(c.id, ops[0]!.id)!.status, 'failed');
    assert.equal(s.getOperation('other-call', ops[0]!.id), undefined, 'operations are scoped to their call');
  });

  t('segments open and close; only the open one closes', async (s) => {
    const c = newCall();
    await s.write((tx) => {
      tx.insertCall(c);
      tx.openSegment({ id: 's1', callId: c.id, startedAt: 1, endedAt: null, startOperationId: 'o1', stopOperationId: null });
      tx.closeSegment(c.id, 5, 'o2');
      tx.openSegment({ id: 's2', callId: c.id, startedAt: 7, endedAt: null, startOperationId: 'o3', stopOperationId: null });
    });
    assert.deepEqual(s.listSegments(c.id), [
      { id: 's1', callId: c.id, startedAt: 1, endedAt: 5, startOperationId: 'o1', stopOperationId: 'o2' },
      { id: 's2', callId: c.id, startedAt: 7, endedAt: null, startOperationId: 'o3', stopOperationId: null },
    ]);
  });

  t('outbox keeps commit order per call and globally', async (s) => {
    const a = newCall(), b = newCall();
    await s.write((tx) => {
      for (const [c, i] of [[a, 1], [b, 2], [a, 3]] as const) {
        tx.appendOutbox({ callId: c.id, messageId: `m${i}`, changeType: 'updated', resourceUrl: `/x/${i}`, resourceData: { i }, callbackUri: c.callbackUri, createdAt: i });
      }
    });
    assert.deepEqual(s.listOutbox({ callId: a.id, limit: 10 }).map((n) => n.resourceData), [{ i: 1 }, { i: 3 }]);
    const all = s.listOutbox({ limit: 10 });
    assert.deepEqual(all.map((n) => n.resourceUrl), ['/x/1', '/x/2', '/x/3']);
    assert.deepEqual(s.listOutbox({ afterSeq: all[0]!.seq, limit: 1 }).map((n) => n.resourceUrl), ['/x/2']);
  });

  t('delivery: one head per call in commit order; retry, settle, re-home and the attempt journal', async (s) => {
    const a = newCall(), b = newCall();
    let appended = 0;
    s.onNotificationsAppended(() => appended++);
    await s.write((tx) => {
      for (const [c, i] of [[a, 1], [b, 2], [a, 3]] as const) {
        tx.appendOutbox({ callId: c.id, messageId: `m${i}`, changeType: 'updated', resourceUrl: `/x/${i}`, resourceData: {}, callbackUri: 'https://bot/cb', createdAt: i });
      }
    });
    assert.equal(appended, 1);
    let heads = s.deliverableHeads(0, 10);
    assert.deepEqual(heads.map((n) => n.messageId), ['m1', 'm2'], 'one per call, oldest first');
    assert.equal(heads[0]!.state, 'pending');
    await s.write((tx) => tx.retryNotification(heads[0]!.seq, 1, 500));
    assert.deepEqual(s.deliverableHeads(100, 10).map((n) => n.messageId), ['m2'], 'a call waiting for its retry holds its later notifications');
    assert.equal(s.nextDeliveryDue(100), 500, 'only heads due later than the given time count');
    assert.equal(s.nextDeliveryDue(500), null);
    await s.write((tx) => {
      tx.settleNotification(heads[1]!.seq, 'delivered', 5);
      tx.rehomeNotifications(a.id, 'https://elsewhere/cb');
      tx.recordDeliveryAttempt({ notificationSeq: heads[0]!.seq, callId: a.id, messageId: 'm1', attempt: 1, at: 7, url: 'https://bot/cb', status: 503, latencyMs: 1.5, error: null, outcome: 'retry' });
    });
    assert.equal(s.nextDeliveryDue(0), 500);
    heads = s.deliverableHeads(600, 10);
    assert.deepEqual(heads.map((n) => [n.messageId, n.attempts, n.callbackUri]), [['m1', 1, 'https://elsewhere/cb']]);
    await s.write((tx) => tx.settleNotification(heads[0]!.seq, 'dead', 9));
    assert.deepEqual(s.deliverableHeads(600, 10).map((n) => n.messageId), ['m3'], 'a dead notification no longer blocks its call');
    const journal = s.listDeliveryAttempts({ callId: a.id, limit: 10 });
    assert.deepEqual(journal.map((j) => [j.messageId, j.status, j.outcome]), [['m1', 503, 'retry']]);
    assert.equal(s.listDeliveryAttempts({ callId: b.id, limit: 10 }).length, 0);
  });

  t('jobs: due order, and each can be taken once', async (s) => {
    let signalled = 0;
    s.onJobsScheduled(() => signalled++);
    await s.write((tx) => {
      tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 200, payload: {} });
      tx.scheduleJob({ callId: 'c', kind: 'completeOperation', dueAt: 100, payload: { operationId: 'o' } });
    });
    assert.equal(signalled, 1);
    assert.equal(s.nextJobDue(), 100);
    const due = s.dueJobs(150, 10);
    assert.deepEqual(due.map((j) => [j.kind, j.payload]), [['completeOperation', { operationId: 'o' }]]);
    assert.equal(await s.write((tx) => tx.deleteJob(due[0]!.id)), true);
    assert.equal(await s.write((tx) => tx.deleteJob(due[0]!.id)), false);
    assert.equal(s.nextJobDue(), 200);
  });

  if (f.reopen) {
    test(`${f.name}: a restart keeps calls, participants, operations, segments, outbox and jobs`, async () => {
      let s = f.open();
      const c = newCall();
      const op = newOperation(c.id);
      await s.write((tx) => {
        tx.insertCall(c);
        tx.upsertParticipant({ id: 'p1', callId: c.id, seq: 0, info: { identity: { user: { id: 'u' } } }, isMuted: false, isInLobby: false, isBot: false, recordingInfo: null, joinedAt: 1, leftAt: null });
        tx.insertOperation(op);
        tx.openSegment({ id: 'seg', callId: c.id, startedAt: 1, endedAt: null, startOperationId: op.id, stopOperationId: null });
        tx.appendOutbox({ callId: c.id, messageId: 'm', changeType: 'updated', resourceUrl: '/r', resourceData: { ok: true }, callbackUri: c.callbackUri, createdAt: 1 });
        tx.scheduleJob({ callId: c.id, kind: 'answerCall', dueAt: 42, payload: {} });
      });
      s = f.reopen!(s);
      try {
        assert.equal(s.getCall(c.id)?.id, c.id);
        assert.equal(s.listParticipants(c.id).length, 1);
        assert.equal(s.getOperation(c.id, op.id)?.id, op.id);
        assert.equal(s.listSegments(c.id).length, 1);
        assert.equal(s.listOutbox({ callId: c.id, limit: 5 }).length, 1);
        assert.equal(s.nextJobDue(), 42);
      } finally {
        s.close();
      }
    });
  }
}
