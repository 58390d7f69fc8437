import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Call, Recording } from '../../src/domain/call.js';
import { DomainError } from '../../src/domain/errors.js';
import type { CallWriter, Lease, Storage, WakeTopic } from '../../src/domain/ports.js';
import { subscriptionContract } from './subscriptions.contract.js';
import { retentionContract } from './retention.contract.js';
import type { OnlineMeeting, Transcript } from '../../src/domain/meeting.js';
import { joinUrlKey } from '../../src/meetings/join-url.js';
import { newCall, newJournalEntry, newNotification, newOperation, newParticipant, newRecording, newSegment } from '../support/factories.js';

export interface StorageFactory {
  name: string;
  /** A fresh, empty storage. */
  open(): Promise<Storage>;
  /** A second instance on the same database, when the engine is shared by several processes (PostgreSQL). */
  openSibling?(first: Storage): Promise<Storage>;
  /** Closes `storage` and opens the same data again (a restart), when the engine persists. */
  reopen?(storage: Storage): Promise<Storage>;
  /** After a test, once every storage it opened is closed: removes the data `first` was opened on. */
  discard?(first: Storage): Promise<void>;
  /**
   * Writes queued in one turn share one transaction, and reads outside it wait for its commit (SQLite's
   * group commit). Only then is "a later command sees an earlier one" in a batch a promise.
   */
  groupCommit?: boolean;
  /** How many tests may run at once (each has its own data). */
  concurrency?: number;
}

/** What a test may open besides its storage: siblings on the same data, or the same data after a restart. */
interface Ctx {
  sibling(): Promise<Storage>;
  reopen(): Promise<Storage>;
}

const MiB = 1024 * 1024;

const lease = (owner: string, now: number, until: number): Lease => ({ owner, now, until });

async function bytesOf(it: AsyncIterable<Buffer>): Promise<{ bytes: Buffer; pieces: number }> {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return { bytes: Buffer.concat(parts), pieces: parts.length };
}

/** Deterministic bytes that differ from one offset to the next, so a misplaced range shows. */
function patterned(length: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i * 7 + (i >> 10)) % 251;
  return b;
}

/** Counts wake-ups per topic. */
function wakeCounter(s: Storage): Record<WakeTopic, string[]> {
  const seen: Record<WakeTopic, string[]> = { outbox: [], jobs: [], config: [] };
  for (const topic of ['outbox', 'jobs', 'config'] as const) s.wakeups.on(topic, (d) => seen[topic].push(d));
  return seen;
}

/** One storage contract, run against every engine: SQLite in memory and on disk, and PostgreSQL. */
export function runStorageContract(f: StorageFactory): void {
  describe(f.name, { concurrency: f.concurrency ?? 1 }, () => {
    const t = (name: string, fn: (s: Storage, ctx: Ctx) => Promise<void>) => test(name, { timeout: 20_000 }, async () => {
      const first = await f.open();
      const opened: Storage[] = [first];
      let current = first;
      const ctx: Ctx = {
        sibling: async () => {
          const o = await f.openSibling!(first);
          opened.push(o);
          return o;
        },
        reopen: async () => {
          current = await f.reopen!(current);
          opened.push(current);
          return current;
        },
      };
      try {
        await fn(first, ctx);
      } finally {
        for (const o of opened) await o.close();
        await f.discard?.(first);
      }
    });

    /**
     * Waits until wake-ups of everything committed so far have reached `s`. In one process they are
     * delivered before `write` resolves; across instances (LISTEN/NOTIFY) a marker another instance
     * publishes arrives after them, since notifications arrive in commit order.
     */
    const publishers = new WeakMap<Ctx, Storage>();
    const drainWakeups = async (s: Storage, ctx: Ctx): Promise<void> => {
      if (!f.openSibling) return;
      let publisher = publishers.get(ctx);
      if (!publisher) publishers.set(ctx, (publisher = await ctx.sibling()));
      const marker = `drain-${randomUUID()}`;
      const arrived = new Promise<void>((resolve) => s.wakeups.on('config', (d) => { if (d === marker) resolve(); }));
      await publisher.wakeups.publish('config', marker);
      await arrived;
    };

    const insertCalls = (s: Storage, ...calls: Call[]) => s.calls.write(async (tx) => { for (const c of calls) await tx.insertCall(c); });
    const append = (s: Storage, callId: string, n: number, over: Parameters<typeof newNotification>[1] = {}) =>
      s.calls.write(async (tx) => { for (let i = 0; i < n; i++) await tx.appendOutbox(newNotification(callId, over)); });
    const claim = (s: Storage, now: number, limit: number, l: Lease) => s.calls.write((tx) => tx.claimDeliveries(now, limit, l));
    const claimJobs = (s: Storage, now: number, limit: number, l: Lease) => s.calls.write((tx) => tx.claimJobs(now, limit, l));

    // ---- transactions ---------------------------------------------------------------------------

    t('a write resolves with what its callback returns, after the commit', async (s) => {
      const c = newCall();
      const value = await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        return 'done';
      });
      assert.equal(value, 'done');
      assert.deepEqual(await s.calls.getCall(c.id), c);
    });

    t('inside a write, reads see the write\'s own changes', async (s) => {
      const c = newCall();
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        await tx.appendOutbox(newNotification(c.id));
        assert.deepEqual(await tx.getCall(c.id), c);
        assert.equal((await tx.listOutbox({ callId: c.id, limit: 10 })).length, 1);
      });
    });

    t('a transaction object kept past its write cannot be used', async (s) => {
      const a = newCall(), b = newCall();
      await s.calls.write(async (tx) => { await tx.insertCall(a); });
      let kept: CallWriter | undefined;
      await s.calls.write(async (tx) => { kept = tx; });
      await assert.rejects(kept!.insertCall(b));
      // Reads too: the object belongs to a transaction that no longer exists.
      await assert.rejects(kept!.getCall(a.id));
      assert.deepEqual(await s.calls.getCall(a.id), a);
      assert.equal(await s.calls.getCall(b.id), undefined);
    });

    t('work a callback leaves running on a timer cannot write once the callback returned', async (s) => {
      const b = newCall();
      let late!: Promise<unknown>;
      await s.calls.write(async (tx) => {
        // Deliberately not awaited: the callback returns first, so the transaction has ended when it runs
        // (which may be before the write's promise resolves: the outcome is kept, not left unhandled).
        late = new Promise((resolve) => setTimeout(() => tx.insertCall(b).then(() => resolve('wrote'), resolve), 0));
      });
      assert.ok((await late) instanceof Error, 'the late write threw');
      assert.equal(await s.calls.getCall(b.id), undefined);
    });

    t('a callback that throws after writing is rolled back', async (s) => {
      const a = newCall();
      await assert.rejects(s.calls.write(async (tx) => {
        await tx.insertCall(a);
        await tx.appendOutbox(newNotification(a.id));
        throw new Error('boom');
      }), /boom/);
      assert.equal(await s.calls.getCall(a.id), undefined);
      assert.deepEqual(await s.calls.listOutbox({ callId: a.id, limit: 10 }), []);
    });

    t('writes queued together each run exactly once, and a failing one rolls back alone', async (s) => {
      const existing = newCall();
      await insertCalls(s, existing);
      const a = newCall(), b = newCall(), c = newCall();
      const runs = [0, 0, 0, 0, 0];
      const results = await Promise.allSettled([
        s.calls.write(async (tx) => { runs[0]!++; await tx.insertCall(a); return 'a'; }),
        s.calls.write(async (tx) => {
          runs[1]!++;
          await tx.insertCall(b);
          await tx.upsertParticipant(newParticipant(b.id));
          throw new Error('boom');
        }),
        // A write whose statement fails (a duplicate key) fails alone too.
        s.calls.write(async (tx) => { runs[2]!++; await tx.insertCall(existing); }),
        s.calls.write(async (tx) => { runs[3]!++; await tx.insertCall(c); return 'c'; }),
        s.calls.write(async (tx) => { runs[4]!++; return (await tx.getCall(a.id))?.id ?? null; }),
      ]);
      assert.deepEqual(runs, [1, 1, 1, 1, 1], 'no callback ran twice, not even the ones after a failure');
      assert.deepEqual(results.slice(0, 4).map((r) => r.status), ['fulfilled', 'rejected', 'rejected', 'fulfilled']);
      assert.deepEqual(results[0], { status: 'fulfilled', value: 'a' });
      assert.deepEqual(results[3], { status: 'fulfilled', value: 'c' });
      assert.equal(results[4]!.status, 'fulfilled');
      if (f.groupCommit) assert.deepEqual(results[4], { status: 'fulfilled', value: a.id }, 'a later command in the batch sees an earlier one');
      assert.deepEqual(await s.calls.getCall(a.id), a);
      assert.deepEqual(await s.calls.getCall(c.id), c);
      assert.equal(await s.calls.getCall(b.id), undefined);
      assert.deepEqual(await s.calls.listParticipants(b.id, { includeLeft: true }), []);
      assert.deepEqual(await s.calls.getCall(existing.id), existing);
    });

    t('a read outside a write never sees a row the write then rolls back', async (s) => {
      const a = newCall();
      let during!: Promise<Call | undefined>;
      const writing = s.calls.write(async (tx) => {
        await tx.insertCall(a);
        during = s.calls.getCall(a.id);
        // Give the outside read every chance to run while the row is uncommitted. Where reads wait for
        // the commit (group commit), awaiting it here would wait for ourselves.
        await tx.getCall(a.id);
        for (let i = 0; i < 5; i++) await Promise.resolve();
        if (!f.groupCommit) await during;
        throw new Error('boom');
      });
      // Issued while the write is pending, before its callback even ran.
      const before = s.calls.getCall(a.id);
      await assert.rejects(writing, /boom/);
      assert.equal(await before, undefined);
      assert.equal(await during, undefined);
      assert.equal(await s.calls.getCall(a.id), undefined);
    });

    t('a read outside a write sees its row only once committed', async (s) => {
      const a = newCall();
      let during!: Promise<Call | undefined>;
      await s.calls.write(async (tx) => {
        await tx.insertCall(a);
        during = s.calls.getCall(a.id);
        if (!f.groupCommit) assert.equal(await during, undefined, 'not committed yet');
      });
      const seen = await during;
      // Either it ran before the commit (nothing) or it waited for it (the committed row).
      if (seen !== undefined) assert.deepEqual(seen, a);
      assert.deepEqual(await s.calls.getCall(a.id), a);
    });

    t('close lets a queued write finish; afterwards writes are refused, and closing again is harmless', async (s) => {
      const c = newCall();
      const pending = insertCalls(s, c);
      await s.close();
      await pending;
      await assert.rejects(insertCalls(s, newCall()));
      await s.close();
    });

    // ---- calls ----------------------------------------------------------------------------------

    t('a committed call reads back as written; an unknown id reads as undefined', async (s) => {
      const c = newCall({ subject: 'hello', extras: { applicationMetadata: { a: 1 } }, keepAliveAt: 5 });
      await insertCalls(s, c);
      assert.deepEqual(await s.calls.getCall(c.id), c);
      assert.equal(await s.calls.getCall('missing'), undefined);
    });

    t('recentCalls lists the newest first, up to the limit', async (s) => {
      const a = newCall({ createdAt: 100 }), b = newCall({ createdAt: 300 }), c = newCall({ createdAt: 200 });
      await insertCalls(s, a, b, c);
      assert.deepEqual((await s.calls.recentCalls(2)).map((x) => x.id), [b.id, c.id]);
      assert.deepEqual((await s.calls.recentCalls(10)).map((x) => x.id), [b.id, c.id, a.id]);
    });

    t('observingCalls lists the live policy invites that record a call', async (s) => {
      const user = newCall(), other = newCall();
      const live = newCall({ observedCallId: user.id, isComplianceRecording: true });
      const ended = newCall({ observedCallId: user.id, isComplianceRecording: true, state: 'terminated' });
      const elsewhere = newCall({ observedCallId: other.id, isComplianceRecording: true });
      await insertCalls(s, user, other, live, ended, elsewhere);
      assert.deepEqual(await s.calls.observingCalls(user.id), [live.id]);
      assert.deepEqual(await s.calls.observingCalls(live.id), []);
    });

    t('updateCall bumps the version; a stale version loses with CONCURRENT_UPDATE', async (s) => {
      const c = newCall();
      await insertCalls(s, c);
      const loadedByA = (await s.calls.getCall(c.id))!;
      const loadedByB = (await s.calls.getCall(c.id))!;
      const won = await s.calls.write((tx) => tx.updateCall({ ...loadedByA, state: 'established', updatedAt: c.updatedAt + 1 }));
      assert.equal(won.version, 2);
      assert.equal(won.state, 'established');
      await assert.rejects(s.calls.write((tx) => tx.updateCall({ ...loadedByB, state: 'terminating' })),
        (e: unknown) => e instanceof DomainError && e.code === 'CONCURRENT_UPDATE');
      assert.deepEqual(await s.calls.getCall(c.id), won);
    });

    t('inside a write, read-modify-write of a call succeeds', async (s) => {
      const c = newCall();
      await insertCalls(s, c);
      const next = await s.calls.write(async (tx) => {
        const cur = (await tx.getCall(c.id))!;
        return tx.updateCall({ ...cur, recordingActive: true });
      });
      assert.equal(next.version, 2);
      assert.equal((await s.calls.getCall(c.id))!.recordingActive, true);
    });

    // ---- participants ---------------------------------------------------------------------------

    t('participants list in roster order; those who left only with includeLeft', async (s) => {
      const c = newCall();
      const [p0, p1, p2] = [0, 1, 2].map((seq) => newParticipant(c.id, { seq }));
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        // Inserted out of roster order: the list follows `seq`, not insertion.
        for (const p of [p2!, p0!, p1!]) await tx.upsertParticipant(p);
      });
      assert.deepEqual(await s.calls.listParticipants(c.id), [p0, p1, p2]);
      const left = { ...p1!, leftAt: 50 };
      const muted = { ...p0!, isMuted: true };
      await s.calls.write(async (tx) => {
        await tx.upsertParticipant(left);
        await tx.upsertParticipant(muted);
      });
      assert.deepEqual(await s.calls.listParticipants(c.id), [muted, p2]);
      assert.deepEqual(await s.calls.listParticipants(c.id, { includeLeft: false }), [muted, p2]);
      assert.deepEqual(await s.calls.listParticipants(c.id, { includeLeft: true }), [muted, left, p2]);
      assert.deepEqual(await s.calls.listParticipants('other-call', { includeLeft: true }), []);
    });

    t('getParticipant finds a participant of its call only', async (s) => {
      const c = newCall();
      const p = newParticipant(c.id, { leftAt: 9 });
      await s.calls.write(async (tx) => { await tx.insertCall(c); await tx.upsertParticipant(p); });
      assert.deepEqual(await s.calls.getParticipant(c.id, p.id), p, 'a participant who left is still found');
      assert.equal(await s.calls.getParticipant('other-call', p.id), undefined);
      assert.equal(await s.calls.getParticipant(c.id, 'missing'), undefined);
    });

    // ---- operations -----------------------------------------------------------------------------

    t('operations page in creation order by keyset', async (s) => {
      const c = newCall(), other = newCall();
      const ops = Array.from({ length: 5 }, () => newOperation(c.id));
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        await tx.insertCall(other);
        for (const op of ops.slice(0, 3)) await tx.insertOperation(op);
        // Another call's operation in between must not show up in this call's pages.
        await tx.insertOperation(newOperation(other.id));
        for (const op of ops.slice(3)) await tx.insertOperation(op);
      });
      const first = await s.calls.listOperations(c.id, 0, 2);
      assert.deepEqual(first.map((o) => o.id), ops.slice(0, 2).map((o) => o.id));
      assert.deepEqual({ ...first[0]!, seq: undefined }, { ...ops[0]!, seq: undefined });
      const rest = await s.calls.listOperations(c.id, first.at(-1)!.seq, 10);
      assert.deepEqual(rest.map((o) => o.id), ops.slice(2).map((o) => o.id));
      assert.deepEqual(await s.calls.listOperations(c.id, rest.at(-1)!.seq, 10), []);
    });

    t('updateOperation changes an operation; getOperation is scoped to its call', async (s) => {
      const c = newCall();
      const op = newOperation(c.id, { status: 'running' });
      await s.calls.write(async (tx) => { await tx.insertCall(c); await tx.insertOperation(op); });
      assert.deepEqual(await s.calls.getOperation(c.id, op.id), op);
      const done = { ...op, status: 'failed' as const, completedAt: 7, resultInfo: { code: 500, subcode: 1, message: 'x' } };
      await s.calls.write((tx) => tx.updateOperation(done));
      assert.deepEqual(await s.calls.getOperation(c.id, op.id), done);
      assert.equal(await s.calls.getOperation('other-call', op.id), undefined);
      assert.equal(await s.calls.getOperation(c.id, 'missing'), undefined);
    });

    // ---- segments and media -----------------------------------------------------------------------

    t('segments open and close; only the open one closes', async (s) => {
      const c = newCall();
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        await tx.openSegment({ id: 's1', callId: c.id, startedAt: 1, endedAt: null, startOperationId: 'o1', stopOperationId: null });
        await tx.closeSegment(c.id, 5, 'o2');
        await tx.openSegment({ id: 's2', callId: c.id, startedAt: 7, endedAt: null, startOperationId: null, stopOperationId: null });
      });
      assert.deepEqual(await s.calls.listSegments(c.id), [
        { id: 's1', callId: c.id, startedAt: 1, endedAt: 5, startOperationId: 'o1', stopOperationId: 'o2' },
        { id: 's2', callId: c.id, startedAt: 7, endedAt: null, startOperationId: null, stopOperationId: null },
      ]);
      await s.calls.write((tx) => tx.closeSegment(c.id, 9, null));
      assert.deepEqual((await s.calls.listSegments(c.id)).map((x) => [x.id, x.endedAt]), [['s1', 5], ['s2', 9]]);
      assert.deepEqual(await s.calls.listSegments('other-call'), []);
    });

    t('unrenderedSegments lists closed segments without a recording; insertRecording marks its segment rendered', async (s) => {
      const c = newCall();
      const s1 = newSegment(c.id, { startedAt: 1 }), s2 = newSegment(c.id, { startedAt: 10 });
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        await tx.openSegment(s1);
        await tx.closeSegment(c.id, 5, null);
        await tx.openSegment(s2);
      });
      assert.deepEqual((await s.calls.unrenderedSegments(c.id)).map((x) => x.id), [s1.id], 'the open segment is not ready');
      await s.calls.write((tx) => tx.insertRecording(newRecording(c.id, s1.id), [], Buffer.from('wav')));
      assert.deepEqual(await s.calls.unrenderedSegments(c.id), []);
      await s.calls.write((tx) => tx.closeSegment(c.id, 20, null));
      assert.deepEqual(await s.calls.unrenderedSegments(c.id), [{ ...s2, endedAt: 20 }]);
    });

    t('media events list in append order, per call', async (s) => {
      const a = newCall(), b = newCall();
      const e1 = { callId: a.id, participantId: 'p1', at: 10, kind: 'source' as const, source: { type: 'tone' as const, frequencyHz: 440, amplitude: 0.5 } };
      const e2 = { callId: a.id, participantId: 'p2', at: 5, kind: 'mute' as const, muted: true };
      const e3 = { callId: b.id, participantId: 'p1', at: 1, kind: 'source' as const, source: { type: 'silence' as const } };
      await s.calls.write(async (tx) => { for (const e of [e1, e3, e2]) await tx.appendMediaEvent(e); });
      assert.deepEqual(await s.calls.listMediaEvents(a.id), [e1, e2]);
      assert.deepEqual(await s.calls.listMediaEvents(b.id), [e3]);
      assert.deepEqual(await s.calls.listMediaEvents('other-call'), []);
    });

    // ---- recordings -----------------------------------------------------------------------------

    /** Stores recordings (each with its own segment) and returns them in creation order. */
    const storeRecordings = async (s: Storage, items: Array<{ r: Recording; users?: Array<{ userId: string; role: 'organizer' | 'participant' }> }>) => {
      await s.calls.write(async (tx) => {
        for (const { r, users } of items) await tx.insertRecording(r, users ?? [], Buffer.from(r.id));
      });
      return items.map((i) => i.r);
    };

    t('getRecording reads a recording back; an unknown id reads as undefined', async (s) => {
      const r = newRecording('c1', 'seg1', { meetingId: 'm1', meetingOrganizer: { user: { id: 'org' } }, sizeBytes: 3, sampleCount: 9 });
      await storeRecordings(s, [{ r }]);
      assert.deepEqual(await s.calls.getRecording(r.id), r);
      assert.equal(await s.calls.getRecording('missing'), undefined);
    });

    t('recordingHasUser answers per role, whatever the case of the user id', async (s) => {
      const [r] = await storeRecordings(s, [{ r: newRecording('c1', 'seg1'), users: [{ userId: 'ORG-1', role: 'organizer' }, { userId: 'p-1', role: 'participant' }] }]);
      assert.equal(await s.calls.recordingHasUser(r!.id, 'org-1', 'organizer'), true);
      assert.equal(await s.calls.recordingHasUser(r!.id, 'P-1', 'participant'), true);
      assert.equal(await s.calls.recordingHasUser(r!.id, 'org-1', 'participant'), false, 'listed as organizer only');
      assert.equal(await s.calls.recordingHasUser(r!.id, 'p-1', 'organizer'), false);
      assert.equal(await s.calls.recordingHasUser(r!.id, 'someone', 'participant'), false);
      assert.equal(await s.calls.recordingHasUser('missing', 'p-1', 'participant'), false);
    });

    t('recordingsByMeeting pages a meeting\'s recordings across its calls, in creation order', async (s) => {
      const recs = await storeRecordings(s, [
        { r: newRecording('call-a', 'sa1', { meetingId: 'm1' }) },
        { r: newRecording('call-b', 'sb1', { meetingId: 'm2' }) },
        { r: newRecording('call-a', 'sa2', { meetingId: 'm1' }) },
        { r: newRecording('call-c', 'sc1', { meetingId: 'm1' }) },
        { r: newRecording('call-d', 'sd1', { meetingId: null }) },
      ]);
      const page1 = await s.calls.recordingsByMeeting('m1', 0, 2);
      assert.deepEqual(page1.map((r) => r.id), [recs[0]!.id, recs[2]!.id]);
      assert.deepEqual({ ...page1[0]!, seq: undefined }, { ...recs[0]!, seq: undefined });
      const page2 = await s.calls.recordingsByMeeting('m1', page1.at(-1)!.seq, 2);
      assert.deepEqual(page2.map((r) => r.id), [recs[3]!.id]);
      assert.deepEqual((await s.calls.recordingsByMeeting('m2', 0, 10)).map((r) => r.id), [recs[1]!.id]);
      assert.deepEqual(await s.calls.recordingsByMeeting('m3', 0, 10), []);
    });

    t('recordingsByCall pages one call\'s recordings, whatever their meeting', async (s) => {
      const recs = await storeRecordings(s, [
        { r: newRecording('call-a', 'sa1', { meetingId: 'm1' }) },
        { r: newRecording('call-b', 'sb1', { meetingId: 'm1' }) },
        { r: newRecording('call-a', 'sa2', { meetingId: 'm1' }) },
        { r: newRecording('call-a', 'sa3', { meetingId: null }) },
      ]);
      const page1 = await s.calls.recordingsByCall('call-a', 0, 2);
      assert.deepEqual(page1.map((r) => r.id), [recs[0]!.id, recs[2]!.id]);
      const page2 = await s.calls.recordingsByCall('call-a', page1.at(-1)!.seq, 2);
      assert.deepEqual(page2.map((r) => r.id), [recs[3]!.id]);
      assert.deepEqual((await s.calls.recordingsByCall('call-b', 0, 10)).map((r) => r.id), [recs[1]!.id]);
      assert.deepEqual(await s.calls.recordingsByCall('call-z', 0, 10), []);
    });

    t('recordingsByUser lists a user\'s recordings in one role within [from, to], by keyset', async (s) => {
      const org = (userId: string) => [{ userId, role: 'organizer' as const }];
      const recs = await storeRecordings(s, [
        { r: newRecording('c1', 's1', { createdAt: 100 }), users: org('u1') },
        { r: newRecording('c2', 's2', { createdAt: 200 }), users: org('U1') },
        { r: newRecording('c3', 's3', { createdAt: 200 }), users: [{ userId: 'u1', role: 'participant' }] },
        { r: newRecording('c4', 's4', { createdAt: 300 }), users: [...org('u1'), { userId: 'u2', role: 'participant' }] },
        { r: newRecording('c5', 's5', { createdAt: 400 }), users: org('u2') },
      ]);
      const byUser = (userId: string, role: 'organizer' | 'participant', from: number, to: number, afterSeq = 0, limit = 10) =>
        s.calls.recordingsByUser({ userId, role, from, to, afterSeq, limit }).then((rs) => rs.map((r) => r.id));
      assert.deepEqual(await byUser('u1', 'organizer', 0, 1000), [recs[0]!.id, recs[1]!.id, recs[3]!.id]);
      assert.deepEqual(await byUser('u1', 'organizer', 200, 300), [recs[1]!.id, recs[3]!.id], 'both ends of the window are inclusive');
      assert.deepEqual(await byUser('u1', 'organizer', 101, 299), [recs[1]!.id]);
      assert.deepEqual(await byUser('u1', 'participant', 0, 1000), [recs[2]!.id]);
      assert.deepEqual(await byUser('u2', 'participant', 0, 1000), [recs[3]!.id]);
      assert.deepEqual(await byUser('u2', 'organizer', 0, 399), []);
      const first = await s.calls.recordingsByUser({ userId: 'u1', role: 'organizer', from: 0, to: 1000, afterSeq: 0, limit: 1 });
      assert.deepEqual(first.map((r) => r.id), [recs[0]!.id]);
      assert.deepEqual({ ...first[0]!, seq: undefined }, { ...recs[0]!, seq: undefined });
      assert.deepEqual(await byUser('u1', 'organizer', 0, 1000, first[0]!.seq, 1), [recs[1]!.id]);
    });

    t('recording content reads back whole and by ranges across its 1 MiB pieces', async (s) => {
      const length = 2 * MiB + MiB / 2 + 3;
      const content = patterned(length);
      const r = newRecording('c1', 'seg1', { sizeBytes: length });
      await s.calls.write((tx) => tx.insertRecording(r, [], content));
      const read = (start: number, end: number) => bytesOf(s.calls.readRecordingContent(r.id, start, end));
      const whole = await read(0, length - 1);
      assert.ok(whole.bytes.equals(content), 'the whole content');
      assert.ok(whole.pieces > 1, 'read in pieces, not as one buffer');
      for (const [start, end] of [[0, 0], [MiB - 5, MiB + 4], [MiB - 1, MiB], [MiB, 2 * MiB - 1], [10, 2 * MiB + 10], [length - 1, length - 1], [2 * MiB + 1, length - 1]] as const) {
        const got = (await read(start, end)).bytes;
        assert.ok(got.equals(content.subarray(start, end + 1)), `bytes ${start}-${end}`);
      }
    });

    t('empty content reads as nothing; an unknown recording yields nothing', async (s) => {
      const r = newRecording('c1', 'seg1');
      await s.calls.write((tx) => tx.insertRecording(r, [], Buffer.alloc(0)));
      assert.deepEqual(await s.calls.getRecording(r.id), r);
      assert.equal((await bytesOf(s.calls.readRecordingContent(r.id, 0, -1))).bytes.length, 0);
      assert.equal((await bytesOf(s.calls.readRecordingContent(r.id, 0, 0))).bytes.length, 0);
      assert.equal((await bytesOf(s.calls.readRecordingContent('missing', 0, 100))).pieces, 0);
    });

    // ---- outbox and delivery ----------------------------------------------------------------------

    t('the outbox lists by call, globally and after a seq, in commit order', async (s) => {
      const a = newCall(), b = newCall();
      const n1 = newNotification(a.id, { resourceData: { i: 1 }, changeType: 'created' });
      const n2 = newNotification(b.id, { resourceData: { i: 2 } });
      const n3 = newNotification(a.id, { resourceData: { i: 3 }, changeType: 'deleted' });
      await s.calls.write(async (tx) => { for (const n of [n1, n2, n3]) await tx.appendOutbox(n); });
      const all = await s.calls.listOutbox({ limit: 10 });
      assert.deepEqual(all.map((n) => n.messageId), [n1.messageId, n2.messageId, n3.messageId]);
      assert.ok(all[0]!.seq < all[1]!.seq && all[1]!.seq < all[2]!.seq);
      const { seq, state, attempts, nextAttemptAt: _, ...appended } = all[0]!;
      assert.deepEqual(appended, n1);
      assert.deepEqual([state, attempts], ['pending', 0]);
      assert.deepEqual((await s.calls.listOutbox({ callId: a.id, limit: 10 })).map((n) => n.resourceData), [{ i: 1 }, { i: 3 }]);
      assert.deepEqual((await s.calls.listOutbox({ callId: a.id, afterSeq: seq, limit: 10 })).map((n) => n.resourceData), [{ i: 3 }]);
      assert.deepEqual((await s.calls.listOutbox({ afterSeq: seq, limit: 1 })).map((n) => n.resourceData), [{ i: 2 }]);
      assert.deepEqual(await s.calls.listOutbox({ callId: 'other-call', limit: 10 }), []);
    });

    t('claimDeliveries takes one head per call, oldest first, up to the limit', async (s) => {
      const [a, b, c] = ['a', 'b', 'c'].map((x) => `call-${x}-${randomUUID()}`);
      await s.calls.write(async (tx) => {
        for (const callId of [a, b, a, c, b]) await tx.appendOutbox(newNotification(callId!));
      });
      const outbox = await s.calls.listOutbox({ limit: 10 });
      const first = await claim(s, 10, 2, lease('x', 1000, 2000));
      assert.deepEqual(first.map((n) => n.seq), [outbox[0]!.seq, outbox[1]!.seq], 'the oldest heads: a and b');
      assert.ok(first.every((n) => n.state === 'pending'));
      const second = await claim(s, 10, 10, lease('y', 1000, 2000));
      assert.deepEqual(second.map((n) => n.callId), [c], 'a and b are held; their second notifications wait behind their heads');
    });

    t('a claimed head is not claimed again until its lease ends; then another owner takes it over', async (s) => {
      const callId = randomUUID();
      await append(s, callId, 1);
      const [n] = await claim(s, 10, 10, lease('x', 1000, 2000));
      assert.ok(n);
      assert.deepEqual(await claim(s, 10, 10, lease('y', 1500, 3000)), [], 'held by x');
      assert.deepEqual(await claim(s, 10, 10, lease('x', 1999, 3000)), [], 'not even x claims it twice');
      // x's lease ended (x crashed, say): y takes the notification over.
      const taken = await claim(s, 10, 10, lease('y', 2001, 3000));
      assert.deepEqual(taken.map((t) => t.seq), [n.seq]);
      assert.deepEqual(await claim(s, 10, 10, lease('z', 2500, 4000)), [], 'now held by y');
    });

    t('a pending notification behind a claimed head is never claimed', async (s) => {
      const callId = randomUUID();
      await append(s, callId, 3);
      const [n1, n2] = await s.calls.listOutbox({ callId, limit: 10 });
      assert.deepEqual((await claim(s, 10, 10, lease('x', 1000, 2000))).map((n) => n.seq), [n1!.seq]);
      assert.deepEqual(await claim(s, 10, 10, lease('y', 1000, 2000)), []);
      assert.deepEqual(await claim(s, 10, 10, lease('x', 1000, 2000)), []);
      await s.calls.write((tx) => tx.settleNotification(n1!.seq, 'delivered', 20));
      assert.deepEqual((await claim(s, 10, 10, lease('y', 1000, 2000))).map((n) => n.seq), [n2!.seq], 'settling the head frees the next one');
    });

    t('heads not yet due are not claimed; nextDeliveryDue names the earliest one', async (s) => {
      const a = randomUUID(), b = randomUUID();
      await append(s, a, 2);
      await append(s, b, 1);
      const [a1] = await s.calls.listOutbox({ callId: a, limit: 10 });
      await s.calls.write((tx) => tx.retryNotification(a1!.seq, 1, 500));
      assert.equal(await s.calls.nextDeliveryDue(100), 500);
      assert.equal(await s.calls.nextDeliveryDue(499), 500);
      assert.equal(await s.calls.nextDeliveryDue(500), null, 'only heads due later than the given time count');
      assert.deepEqual((await claim(s, 499, 10, lease('x', 1000, 2000))).map((n) => n.callId), [b], 'a waits for its retry, holding its later notification');
      const due = await claim(s, 500, 10, lease('x', 1000, 2000));
      assert.deepEqual(due.map((n) => [n.seq, n.attempts, n.nextAttemptAt]), [[a1!.seq, 1, 500]]);
    });

    t('retryNotification keeps a notification pending with its attempts, and frees its lease', async (s) => {
      const callId = randomUUID();
      await append(s, callId, 1);
      const [n] = await claim(s, 10, 10, lease('x', 1000, 50_000));
      await s.calls.write((tx) => tx.retryNotification(n!.seq, 3, 20));
      const [stored] = await s.calls.listOutbox({ callId, limit: 10 });
      assert.deepEqual([stored!.state, stored!.attempts, stored!.nextAttemptAt], ['pending', 3, 20]);
      assert.deepEqual(await claim(s, 19, 10, lease('y', 1000, 2000)), []);
      // Long before x's lease would have ended: the retry released it.
      assert.deepEqual((await claim(s, 20, 10, lease('y', 1000, 2000))).map((x) => x.seq), [n!.seq]);
    });

    t('settleNotification marks delivered or dead; nextPendingAfter finds the call\'s next pending one', async (s) => {
      const a = randomUUID(), b = randomUUID();
      await append(s, a, 1);
      await append(s, b, 1);
      await append(s, a, 2);
      const [a1, a2, a3] = await s.calls.listOutbox({ callId: a, limit: 10 });
      assert.equal((await s.calls.nextPendingAfter(a, a1!.seq))?.seq, a2!.seq, 'skips the other call\'s notification between them');
      const [claimed] = await claim(s, 10, 1, lease('x', 1000, 50_000));
      assert.equal(claimed!.seq, a1!.seq);
      await s.calls.write(async (tx) => {
        await tx.settleNotification(a1!.seq, 'delivered', 30);
        await tx.settleNotification(a2!.seq, 'dead', 31);
      });
      assert.deepEqual((await s.calls.listOutbox({ callId: a, limit: 10 })).map((n) => n.state), ['delivered', 'dead', 'pending']);
      assert.equal((await s.calls.nextPendingAfter(a, a1!.seq))?.seq, a3!.seq, 'settled ones are skipped');
      assert.equal(await s.calls.nextPendingAfter(a, a3!.seq), undefined);
      assert.deepEqual((await claim(s, 10, 10, lease('y', 1000, 2000))).map((n) => n.seq).sort((x, y) => x - y),
        [(await s.calls.listOutbox({ callId: b, limit: 1 }))[0]!.seq, a3!.seq].sort((x, y) => x - y), 'a dead notification no longer blocks its call');
    });

    t('settleNotification with claimNext claims the call\'s new head in the same transaction, only when due and free', async (s) => {
      const a = randomUUID(), b = randomUUID();
      await append(s, a, 3);
      await append(s, b, 1);
      const [a1, a2, a3] = await s.calls.listOutbox({ callId: a, limit: 10 });
      const [h] = await s.calls.write((tx) => tx.claimDeliveries(10, 1, lease('x', 1000, 2000)));
      assert.equal(h!.seq, a1!.seq);
      const next = await s.calls.write((tx) => tx.settleNotification(a1!.seq, 'delivered', 20, { callId: a, now: 10, lease: lease('x', 1100, 2100) }));
      assert.equal(next?.seq, a2!.seq, 'the call\'s next notification, claimed');
      assert.equal(next!.state, 'pending');
      assert.deepEqual((await claim(s, 10, 10, lease('y', 1100, 2200))).map((n) => n.callId), [b], 'a2 is held by x now; only b is free');
      // Not due yet: nothing is claimed, and the head stays free for whoever's timer fires.
      await s.calls.write((tx) => tx.retryNotification(a2!.seq, 1, 40));
      const [again] = await claim(s, 40, 10, lease('x', 1200, 2300));
      assert.equal(again!.seq, a2!.seq);
      await s.calls.write((tx) => tx.retryNotification(a3!.seq, 1, 90));
      assert.equal(await s.calls.write((tx) => tx.settleNotification(a2!.seq, 'dead', 50, { callId: a, now: 50, lease: lease('x', 1300, 2400) })), null, 'a3 is due at 90');
      assert.deepEqual((await claim(s, 90, 10, lease('y', 1300, 2400))).map((n) => n.seq), [a3!.seq]);
      // The last one: nothing left to chain.
      assert.equal(await s.calls.write((tx) => tx.settleNotification(a3!.seq, 'delivered', 95, { callId: a, now: 95, lease: lease('y', 1400, 2500) })), null);
    });

    t('claimDeliveries with callIds looks only at those calls\' heads', async (s) => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      for (const id of [a, b, c]) await append(s, id, 2);
      const got = await s.calls.write((tx) => tx.claimDeliveries(10, 10, lease('x', 1000, 2000), [c, a, 'no-such-call']));
      assert.deepEqual(got.map((n) => n.callId).sort(), [a, c].sort());
      for (const n of got) assert.equal(n.seq, (await s.calls.listOutbox({ callId: n.callId, limit: 1 }))[0]!.seq, 'heads only');
      assert.deepEqual(await s.calls.write((tx) => tx.claimDeliveries(10, 10, lease('y', 1000, 2000), [a])), [], 'a\'s head is held');
      assert.deepEqual((await s.calls.write((tx) => tx.claimDeliveries(10, 1, lease('y', 1000, 2000), [b, c]))).map((n) => n.callId), [b], 'up to the limit');
    });

    t('rehomeNotifications moves a call\'s pending notifications only', async (s) => {
      const a = randomUUID(), b = randomUUID();
      await append(s, a, 3, { callbackUri: 'https://old/cb' });
      await append(s, b, 1, { callbackUri: 'https://old/cb' });
      const [a1] = await s.calls.listOutbox({ callId: a, limit: 10 });
      await s.calls.write(async (tx) => {
        await tx.settleNotification(a1!.seq, 'delivered', 5);
        await tx.rehomeNotifications(a, 'https://new/cb');
      });
      assert.deepEqual((await s.calls.listOutbox({ callId: a, limit: 10 })).map((n) => n.callbackUri), ['https://old/cb', 'https://new/cb', 'https://new/cb']);
      assert.deepEqual((await s.calls.listOutbox({ callId: b, limit: 10 })).map((n) => n.callbackUri), ['https://old/cb']);
    });

    t('delivery attempts are journalled per notification; countRedirects counts redirected ones', async (s) => {
      const a = randomUUID(), b = randomUUID();
      await append(s, a, 1);
      await append(s, b, 1);
      const [na] = await s.calls.listOutbox({ callId: a, limit: 1 });
      const [nb] = await s.calls.listOutbox({ callId: b, limit: 1 });
      const attempt = (n: typeof na, i: number, outcome: 'redirected' | 'delivered' | 'retry', status: number | null) =>
        ({ notificationSeq: n!.seq, callId: n!.callId, messageId: n!.messageId, attempt: i, at: 100 + i, url: 'https://bot/cb', status, latencyMs: status === null ? null : 1.5, error: status === null ? 'ECONNREFUSED' : null, outcome });
      const attempts = [attempt(na, 1, 'redirected', 307), attempt(nb, 1, 'retry', null), attempt(na, 2, 'redirected', 308), attempt(na, 3, 'delivered', 202)];
      await s.calls.write(async (tx) => { for (const x of attempts) await tx.recordDeliveryAttempt(x); });
      const all = await s.calls.listDeliveryAttempts({ limit: 10 });
      assert.deepEqual(all.map(({ seq: _, ...rest }) => rest), attempts);
      const ofA = await s.calls.listDeliveryAttempts({ callId: a, limit: 10 });
      assert.deepEqual(ofA.map((x) => x.attempt), [1, 2, 3]);
      assert.deepEqual((await s.calls.listDeliveryAttempts({ callId: a, afterSeq: ofA[0]!.seq, limit: 1 })).map((x) => x.attempt), [2]);
      assert.deepEqual((await s.calls.listDeliveryAttempts({ afterSeq: all[1]!.seq, limit: 10 })).map((x) => x.seq), [all[2]!.seq, all[3]!.seq]);
      assert.equal(await s.calls.countRedirects(na!.seq), 2);
      assert.equal(await s.calls.countRedirects(nb!.seq), 0);
      assert.equal(await s.calls.countRedirects(123456), 0);
    });

    t("a call's attempts over several notifications page in order both ways, other calls' interleaved", async (s) => {
      // Attempts are found through the call's outbox rows (no index by call): one head at a time per call.
      const a = randomUUID(), b = randomUUID();
      for (let i = 0; i < 3; i++) { await append(s, a, 1); await append(s, b, 1); }
      const ofA = await s.calls.listOutbox({ callId: a, limit: 10 });
      const [nb] = await s.calls.listOutbox({ callId: b, limit: 1 });
      const rec = (n: typeof nb, i: number) => ({ notificationSeq: n!.seq, callId: n!.callId, messageId: n!.messageId, attempt: i, at: i, url: 'u', status: 202, latencyMs: 1, error: null, outcome: 'delivered' as const });
      // a: two attempts on its first row, one on its second, one on its third; b's attempts in between.
      await s.calls.write(async (tx) => {
        for (const x of [rec(ofA[0], 1), rec(nb, 1), rec(ofA[0], 2), rec(ofA[1], 1), rec(nb, 2), rec(ofA[2], 1)]) await tx.recordDeliveryAttempt(x);
      });
      const want = (await s.calls.listDeliveryAttempts({ limit: 100 })).filter((x) => x.callId === a).map((x) => x.seq);
      assert.equal(want.length, 4);
      const forward: number[] = [];
      for (let after = 0; ;) {
        const page = await s.calls.listDeliveryAttempts({ callId: a, afterSeq: after, limit: 1 });
        if (page.length === 0) break;
        forward.push(page[0]!.seq);
        after = page[0]!.seq;
      }
      assert.deepEqual(forward, want);
      const backward: number[] = [];
      for (let before: number | undefined; ;) {
        const page = await s.calls.listDeliveryAttempts({ callId: a, newestFirst: true, beforeSeq: before, limit: 1 });
        if (page.length === 0) break;
        backward.push(page[0]!.seq);
        before = page[0]!.seq;
      }
      assert.deepEqual(backward, [...want].reverse());
      assert.deepEqual((await s.calls.listDeliveryAttempts({ callId: a, newestFirst: true, limit: 2 })).map((x) => x.seq), [want[3], want[2]]);
      // A cursor whose attempt is gone (trimmed) still pages correctly, from the start of the call.
      assert.deepEqual((await s.calls.listDeliveryAttempts({ callId: a, afterSeq: want[1]! , limit: 10 })).map((x) => x.seq), want.slice(2));
      assert.deepEqual((await s.calls.listDeliveryAttempts({ callId: b, limit: 10 })).map((x) => x.attempt), [1, 2]);
    });

    t('extendLeases keeps the listed deliveries and jobs of its owner held, and nothing else', async (s) => {
      const [a, b, c] = [randomUUID(), randomUUID(), randomUUID()];
      for (const callId of [a, b, c]) await append(s, callId, 1);
      await s.calls.write(async (tx) => {
        await tx.scheduleJob({ callId: a, kind: 'answerCall', dueAt: 5, payload: {} });
        await tx.scheduleJob({ callId: b, kind: 'answerCall', dueAt: 6, payload: {} });
      });
      const mine = await claim(s, 10, 2, lease('x', 1000, 2000));
      assert.deepEqual(mine.map((n) => n.callId), [a, b]);
      const theirs = await claim(s, 10, 10, lease('y', 1000, 2000));
      assert.deepEqual(theirs.map((n) => n.callId), [c]);
      const jobs = await claimJobs(s, 10, 10, lease('x', 1000, 2000));
      assert.equal(jobs.length, 2);
      // x keeps a and its first job going; it also names y's notification, which is not x's to extend.
      await s.calls.write((tx) => tx.extendLeases(lease('x', 1500, 9000), { deliveries: [mine[0]!.seq, theirs[0]!.seq], jobs: [jobs[0]!.id] }));
      await s.calls.write((tx) => tx.extendLeases(lease('x', 1500, 9000), {}));
      // At 5000 every lease but the extended ones has ended.
      assert.deepEqual((await claim(s, 10, 10, lease('z', 5000, 20_000))).map((n) => n.callId), [b, c]);
      assert.deepEqual((await claimJobs(s, 10, 10, lease('z', 5000, 20_000))).map((j) => j.id), [jobs[1]!.id]);
      assert.deepEqual((await claim(s, 10, 10, lease('w', 9001, 20_000))).map((n) => n.callId), [a]);
      assert.deepEqual((await claimJobs(s, 10, 10, lease('w', 9001, 20_000))).map((j) => j.id), [jobs[0]!.id]);
    });

    // ---- jobs -----------------------------------------------------------------------------------

    t('claimJobs takes due jobs only, in due order, up to the limit; nextJobDue names the earliest', async (s) => {
      assert.equal(await s.calls.nextJobDue(), null, 'no jobs yet');
      await s.calls.write(async (tx) => {
        await tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 200, payload: {} });
        await tx.scheduleJob({ callId: 'c', kind: 'completeOperation', dueAt: 100, payload: { operationId: 'o' } });
        await tx.scheduleJob({ callId: 'd', kind: 'finishTermination', dueAt: 300, payload: {} });
      });
      assert.equal(await s.calls.nextJobDue(), 100);
      const first = await claimJobs(s, 250, 1, lease('x', 1000, 2000));
      assert.deepEqual(first.map((j) => [j.callId, j.kind, j.dueAt, j.payload]), [['c', 'completeOperation', 100, { operationId: 'o' }]]);
      const second = await claimJobs(s, 250, 10, lease('x', 1000, 2000));
      assert.deepEqual(second.map((j) => j.kind), ['answerCall'], 'the job due at 300 is not due at 250');
      assert.equal(await s.calls.nextJobDue(), 100, 'claimed jobs are still live');
    });

    t('a claimed job is not claimed again until its lease ends; then another owner takes it over', async (s) => {
      await s.calls.write((tx) => tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 1, payload: {} }));
      const [job] = await claimJobs(s, 10, 10, lease('x', 1000, 2000));
      assert.ok(job);
      assert.deepEqual(await claimJobs(s, 10, 10, lease('y', 1999, 3000)), []);
      assert.deepEqual((await claimJobs(s, 10, 10, lease('y', 2001, 3000))).map((j) => j.id), [job.id]);
      assert.deepEqual(await claimJobs(s, 10, 10, lease('z', 2500, 4000)), []);
    });

    t('deleteJob is true once, then false', async (s) => {
      await s.calls.write((tx) => tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 1, payload: {} }));
      const [job] = await claimJobs(s, 10, 10, lease('x', 1000, 2000));
      assert.equal(await s.calls.write((tx) => tx.deleteJob(job!.id)), true);
      assert.equal(await s.calls.write((tx) => tx.deleteJob(job!.id)), false);
      assert.equal(await s.calls.nextJobDue(), null);
    });

    t('failJob with a retry time frees the lease and makes the job due then', async (s) => {
      await s.calls.write((tx) => tx.scheduleJob({ callId: 'c', kind: 'renderRecordings', dueAt: 1, payload: {} }));
      const [job] = await claimJobs(s, 10, 10, lease('x', 1000, 50_000));
      assert.equal(job!.attempts, 0);
      await s.calls.write((tx) => tx.failJob(job!.id, 'disk full', 500));
      assert.equal(await s.calls.nextJobDue(), 500);
      assert.deepEqual(await claimJobs(s, 499, 10, lease('y', 1000, 2000)), []);
      // Long before x's lease would have ended: the failure released it. The job carries its failed runs.
      assert.deepEqual((await claimJobs(s, 500, 10, lease('y', 1000, 2000))).map((j) => [j.id, j.dueAt, j.attempts]), [[job!.id, 500, 1]]);
      assert.deepEqual(await s.calls.deadJobs(10), []);
    });

    t('failJob without a retry dead-letters the job: listed by deadJobs, newest first, and never claimed', async (s) => {
      await s.calls.write(async (tx) => {
        await tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 1, payload: { a: '1' } });
        await tx.scheduleJob({ callId: 'd', kind: 'incomingTimeout', dueAt: 2, payload: {} });
        await tx.scheduleJob({ callId: 'e', kind: 'keepAliveExpiry', dueAt: 3, payload: {} });
      });
      const [j1, j2] = await claimJobs(s, 10, 2, lease('x', 1000, 2000));
      await s.calls.write((tx) => tx.failJob(j1!.id, 'first failure', 5));
      await s.calls.write((tx) => tx.failJob(j1!.id, 'gave up', null));
      await s.calls.write((tx) => tx.failJob(j2!.id, 'x'.repeat(5000), null));
      const dead = await s.calls.deadJobs(10);
      assert.deepEqual(dead.map((j) => [j.id, j.attempts]), [[j2!.id, 1], [j1!.id, 2]], 'newest first; attempts count every failure');
      assert.deepEqual({ ...dead[1]!, attempts: undefined }, { ...j1!, dueAt: 5, attempts: undefined, lastError: 'gave up' });
      assert.ok(dead[0]!.lastError!.length < 5000, 'a huge error is clipped');
      assert.deepEqual((await s.calls.deadJobs(1)).map((j) => j.id), [j2!.id]);
      assert.deepEqual((await claimJobs(s, 1e12, 10, lease('y', 1e12, 1e12 + 1))).map((j) => j.callId), ['e'], 'dead jobs are never claimed');
      assert.equal(await s.calls.nextJobDue(), 3, 'dead jobs are not due');
    });

    // ---- request journal ------------------------------------------------------------------------

    t('appendJournal keeps only the newest `keep` entries', async (s) => {
      const entries = Array.from({ length: 6 }, (_, i) => newJournalEntry({ at: i, url: `/r/${i}` }));
      await s.calls.write((tx) => tx.appendJournal(entries.slice(0, 4), 10));
      assert.equal((await s.calls.listJournal({ limit: 100 })).length, 4);
      await s.calls.write((tx) => tx.appendJournal(entries.slice(4), 3));
      assert.deepEqual((await s.calls.listJournal({ limit: 100 })).map((e) => e.url), ['/r/3', '/r/4', '/r/5']);
    });

    t('listJournal reads oldest first after a seq, newest first, and by call', async (s) => {
      const entries = [
        newJournalEntry({ url: '/1', callId: 'c1', requestBody: '{"a":1}', requestHeaders: { 'x-a': 'b' }, injectedFault: 'f1' }),
        newJournalEntry({ url: '/2', callId: null }),
        newJournalEntry({ url: '/3', callId: 'c1' }),
        newJournalEntry({ url: '/4', callId: 'c2' }),
      ];
      await s.calls.write((tx) => tx.appendJournal(entries, 100));
      const all = await s.calls.listJournal({ limit: 10 });
      assert.deepEqual(all.map(({ seq: _, ...e }) => e), entries);
      assert.deepEqual((await s.calls.listJournal({ afterSeq: all[0]!.seq, limit: 2 })).map((e) => e.url), ['/2', '/3']);
      assert.deepEqual((await s.calls.listJournal({ limit: 2, newestFirst: true })).map((e) => e.url), ['/4', '/3']);
      assert.deepEqual((await s.calls.listJournal({ callId: 'c1', limit: 10 })).map((e) => e.url), ['/1', '/3']);
      assert.deepEqual((await s.calls.listJournal({ callId: 'c1', afterSeq: all[0]!.seq, limit: 10 })).map((e) => e.url), ['/3']);
      assert.deepEqual((await s.calls.listJournal({ callId: 'c1', limit: 10, newestFirst: true })).map((e) => e.url), ['/3', '/1']);
    });

    // ---- call items (roster control: audio routing groups, content-sharing sessions, invitations) ---

    t('call items: put, get, list in creation order per call and kind; an update keeps its place; delete', async (s) => {
      const c = newCall(), other = newCall();
      const group = (callId: string, id: string, receivers: string[]) => ({ id, callId, routingMode: 'oneToOne' as const, sources: ['a'], receivers });
      await s.calls.write(async (tx) => {
        await tx.putCallItem('audioRoutingGroup', group(c.id, 'g2', ['x']));
        await tx.putCallItem('audioRoutingGroup', group(c.id, 'g1', ['y']));
        await tx.putCallItem('audioRoutingGroup', group(other.id, 'g1', ['z']));
        await tx.putCallItem('contentSharingSession', { id: 'g1', callId: c.id, presenterParticipantId: 'p', startedAt: 5 });
        await tx.putCallItem('invitation', { id: 'i1', callId: c.id, operationId: 'op', info: { identity: { user: { id: 'u' } } }, invitedAt: 7 });
        // Inside the transaction its own writes are visible.
        assert.deepEqual((await tx.listCallItems(c.id, 'audioRoutingGroup')).map((g) => g.id), ['g2', 'g1']);
      });
      assert.deepEqual(await s.calls.listCallItems(c.id, 'audioRoutingGroup'), [group(c.id, 'g2', ['x']), group(c.id, 'g1', ['y'])]);
      assert.deepEqual(await s.calls.getCallItem(other.id, 'audioRoutingGroup', 'g1'), group(other.id, 'g1', ['z']));
      assert.deepEqual(await s.calls.getCallItem(c.id, 'contentSharingSession', 'g1'), { id: 'g1', callId: c.id, presenterParticipantId: 'p', startedAt: 5 });
      assert.equal((await s.calls.getCallItem(c.id, 'invitation', 'i1'))?.operationId, 'op');
      assert.equal(await s.calls.getCallItem(c.id, 'audioRoutingGroup', 'G1'), undefined, 'ids compare exactly');
      assert.equal(await s.calls.getCallItem(c.id, 'invitation', 'g1'), undefined, 'kinds do not mix');

      await s.calls.write((tx) => tx.putCallItem('audioRoutingGroup', group(c.id, 'g2', ['x', 'w'])));
      assert.deepEqual((await s.calls.listCallItems(c.id, 'audioRoutingGroup')).map((g) => [g.id, g.receivers]), [['g2', ['x', 'w']], ['g1', ['y']]]);
      assert.equal(await s.calls.write((tx) => tx.deleteCallItem(c.id, 'audioRoutingGroup', 'g2')), true);
      assert.equal(await s.calls.write((tx) => tx.deleteCallItem(c.id, 'audioRoutingGroup', 'g2')), false);
      assert.deepEqual((await s.calls.listCallItems(c.id, 'audioRoutingGroup')).map((g) => g.id), ['g1']);
      assert.equal((await s.calls.listCallItems(other.id, 'audioRoutingGroup')).length, 1);
    });

    t('call items: a failed write leaves none behind; writes need a transaction; clearCalls forgets them', async (s) => {
      const c = newCall();
      await assert.rejects(s.calls.write(async (tx) => {
        await tx.putCallItem('invitation', { id: 'i1', callId: c.id, operationId: 'op', info: { identity: {} }, invitedAt: 1 });
        throw new Error('boom');
      }), /boom/);
      assert.deepEqual(await s.calls.listCallItems(c.id, 'invitation'), []);
      const reader = s.calls as unknown as CallWriter;
      await assert.rejects(async () => reader.putCallItem('invitation', { id: 'i1', callId: c.id, operationId: 'op', info: { identity: {} }, invitedAt: 1 }), /store\.write/);
      await s.calls.write((tx) => tx.putCallItem('contentSharingSession', { id: 's', callId: c.id, presenterParticipantId: null, startedAt: 1 }));
      await s.calls.write((tx) => tx.clearCalls());
      assert.deepEqual(await s.calls.listCallItems(c.id, 'contentSharingSession'), []);
    });

    // ---- clearing -------------------------------------------------------------------------------

    t('clearCalls forgets every call and everything about them, and keeps the configuration', async (s) => {
      const c = newCall();
      const seg = newSegment(c.id);
      const r = newRecording(c.id, seg.id);
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        await tx.upsertParticipant(newParticipant(c.id));
        await tx.insertOperation(newOperation(c.id));
        await tx.openSegment(seg);
        await tx.closeSegment(c.id, 10, null);
        await tx.appendMediaEvent({ callId: c.id, participantId: 'p', at: 1, kind: 'mute', muted: true });
        await tx.insertRecording(r, [{ userId: 'u', role: 'participant' }], Buffer.from('abc'));
        await tx.appendOutbox(newNotification(c.id));
        await tx.scheduleJob({ callId: c.id, kind: 'answerCall', dueAt: 1, payload: {} });
        await tx.appendJournal([newJournalEntry({ callId: c.id })], 10);
      });
      const [n] = await s.calls.listOutbox({ limit: 1 });
      await s.calls.write((tx) => tx.recordDeliveryAttempt({ notificationSeq: n!.seq, callId: c.id, messageId: n!.messageId, attempt: 1, at: 1, url: 'u', status: 200, latencyMs: 1, error: null, outcome: 'delivered' }));
      await s.config.setValue('app:x', '{}');
      await s.config.setCounter('fault:x', 2);
      await s.config.putBlob('media:x', Buffer.from([1, 2, 3]));

      await s.calls.write((tx) => tx.clearCalls());

      assert.equal(await s.calls.getCall(c.id), undefined);
      assert.deepEqual(await s.calls.recentCalls(10), []);
      assert.deepEqual(await s.calls.listParticipants(c.id, { includeLeft: true }), []);
      assert.deepEqual(await s.calls.listOperations(c.id, 0, 10), []);
      assert.deepEqual(await s.calls.listSegments(c.id), []);
      assert.deepEqual(await s.calls.listMediaEvents(c.id), []);
      assert.equal(await s.calls.getRecording(r.id), undefined);
      assert.equal(await s.calls.recordingHasUser(r.id, 'u', 'participant'), false);
      assert.equal((await bytesOf(s.calls.readRecordingContent(r.id, 0, 10))).pieces, 0);
      assert.deepEqual(await s.calls.listOutbox({ limit: 10 }), []);
      assert.deepEqual(await s.calls.listDeliveryAttempts({ limit: 10 }), []);
      assert.equal(await s.calls.nextJobDue(), null);
      assert.deepEqual(await s.calls.listJournal({ limit: 10 }), []);
      assert.equal(await s.config.getValue('app:x'), '{}');
      assert.deepEqual(await s.config.counters('fault:'), new Map([['fault:x', { remaining: 2, spent: 0 }]]));
      assert.deepEqual(await s.config.getBlob('media:x'), Buffer.from([1, 2, 3]));
      // The store works as before after a clear.
      await insertCalls(s, c);
      assert.deepEqual(await s.calls.getCall(c.id), c);
    });

    // ---- configuration --------------------------------------------------------------------------

    t('config values set, overwrite and read back; an unknown key reads as undefined', async (s) => {
      assert.equal(await s.config.getValue('k'), undefined);
      await s.config.setValue('k', 'v1');
      assert.equal(await s.config.getValue('k'), 'v1');
      await s.config.setValue('k', 'v2');
      assert.equal(await s.config.getValue('k'), 'v2');
      await s.config.setValue('empty', '');
      assert.equal(await s.config.getValue('empty'), '');
    });

    t('setValueIfAbsent keeps what is stored and returns it; racing calls agree on one value', async (s) => {
      assert.equal(await s.config.setValueIfAbsent('k', 'first'), 'first');
      assert.equal(await s.config.setValueIfAbsent('k', 'second'), 'first');
      assert.equal(await s.config.getValue('k'), 'first');
      const results = await Promise.all(['a', 'b', 'c', 'd'].map((v) => s.config.setValueIfAbsent('race', v)));
      assert.equal(new Set(results).size, 1, `one winner: ${results.join(',')}`);
      assert.equal(await s.config.getValue('race'), results[0]);
    });

    t('deleteValue forgets a value and its counter', async (s) => {
      await s.config.setValue('fault:x', '{}');
      await s.config.setCounter('fault:x', 5);
      await s.config.deleteValue('fault:x');
      assert.equal(await s.config.getValue('fault:x'), undefined);
      assert.equal(await s.config.spend('fault:x'), false);
      assert.deepEqual(await s.config.counters('fault:'), new Map());
      await s.config.deleteValue('never-set');
    });

    t('listValues lists a prefix in key order, not a neighbouring prefix', async (s) => {
      for (const k of ['app:b', 'apps:x', 'app:a', 'ap', 'app;', 'app:', 'app:\u00e9', 'app:\u{1F600}', 'app']) await s.config.setValue(k, `v-${k}`);
      const listed = await s.config.listValues('app:');
      assert.deepEqual(listed.map((r) => r.key), ['app:', 'app:a', 'app:b', 'app:\u00e9', 'app:\u{1F600}']);
      assert.deepEqual(listed[1], { key: 'app:a', value: 'v-app:a' });
      assert.deepEqual((await s.config.listValues('apps:')).map((r) => r.key), ['apps:x']);
      assert.deepEqual(await s.config.listValues('zzz:'), []);
    });

    t('spend uses a counted value exactly as often as counted; null counts are unlimited', async (s) => {
      await s.config.setCounter('fault:three', 3);
      await s.config.setCounter('fault:any', null);
      await s.config.setCounter('faults:neighbour', 1);
      const spent = [];
      for (let i = 0; i < 4; i++) spent.push(await s.config.spend('fault:three'));
      assert.deepEqual(spent, [true, true, true, false]);
      for (let i = 0; i < 5; i++) assert.equal(await s.config.spend('fault:any'), true);
      assert.equal(await s.config.spend('fault:unknown'), false);
      assert.deepEqual(await s.config.counters('fault:'), new Map([
        ['fault:any', { remaining: null, spent: 5 }],
        ['fault:three', { remaining: 0, spent: 3 }],
      ]));
      // Setting a counter again starts it afresh.
      await s.config.setCounter('fault:three', 1);
      assert.deepEqual((await s.config.counters('fault:')).get('fault:three'), { remaining: 1, spent: 0 });
      assert.equal(await s.config.spend('fault:three'), true);
      assert.equal(await s.config.spend('fault:three'), false);
    });

    t('a count of N is spent exactly N times when 2×N spends race', async (s) => {
      const n = 10;
      await s.config.setCounter('fault:race', n);
      const results = await Promise.all(Array.from({ length: 2 * n }, () => s.config.spend('fault:race')));
      assert.equal(results.filter(Boolean).length, n);
      assert.deepEqual((await s.config.counters('fault:')).get('fault:race'), { remaining: 0, spent: n });
    });

    t('blobs keep binary data byte for byte', async (s) => {
      const bytes = Buffer.from(Array.from({ length: 512 }, (_, i) => i % 256));
      assert.equal(await s.config.getBlob('media:a'), undefined);
      await s.config.putBlob('media:a', bytes);
      assert.deepEqual(await s.config.getBlob('media:a'), bytes);
      await s.config.putBlob('media:a', Buffer.from([0, 0, 255]));
      assert.deepEqual(await s.config.getBlob('media:a'), Buffer.from([0, 0, 255]));
      await s.config.putBlob('media:empty', Buffer.alloc(0));
      assert.deepEqual(await s.config.getBlob('media:empty'), Buffer.alloc(0));
    });

    // ---- wake-ups -------------------------------------------------------------------------------

    t('a commit that appended to the outbox wakes outbox listeners once per commit', async (s, ctx) => {
      const seen = wakeCounter(s);
      await append(s, randomUUID(), 3);
      await drainWakeups(s, ctx);
      assert.equal(seen.outbox.length, 1, 'three notifications, one commit');
      await append(s, randomUUID(), 1);
      await drainWakeups(s, ctx);
      assert.equal(seen.outbox.length, 2);
      await insertCalls(s, newCall());
      await drainWakeups(s, ctx);
      assert.equal(seen.outbox.length, 2, 'a commit without notifications wakes no one');
      assert.equal(seen.jobs.length, 0);
    });

    t('scheduling a job wakes jobs listeners', async (s, ctx) => {
      const seen = wakeCounter(s);
      await s.calls.write((tx) => tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 1, payload: {} }));
      await drainWakeups(s, ctx);
      assert.equal(seen.jobs.length, 1);
      assert.equal(seen.outbox.length, 0);
    });

    t('a published config change reaches a listener with its key', async (s) => {
      const got = new Promise<string>((resolve) => s.wakeups.on('config', (d) => { if (d === 'apps') resolve(d); }));
      await s.wakeups.publish('config', 'apps');
      assert.equal(await got, 'apps');
    });

    t('a write that throws wakes nothing', async (s, ctx) => {
      const seen = wakeCounter(s);
      await assert.rejects(s.calls.write(async (tx) => {
        await tx.appendOutbox(newNotification(randomUUID()));
        await tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 1, payload: {} });
        throw new Error('boom');
      }));
      await drainWakeups(s, ctx);
      assert.deepEqual([seen.outbox.length, seen.jobs.length], [0, 0]);
    });

    // ---- several instances on one database ------------------------------------------------------

    if (f.openSibling) {
      t('instances on one database see each other\'s commits', async (s, ctx) => {
        const other = await ctx.sibling();
        const c = newCall();
        await insertCalls(s, c);
        assert.deepEqual(await other.calls.getCall(c.id), c);
        await other.config.setValue('app:x', '1');
        assert.equal(await s.config.getValue('app:x'), '1');
      });

      t('a commit or a config change on one instance wakes the other instance\'s listeners', async (s, ctx) => {
        const other = await ctx.sibling();
        const outbox = new Promise<void>((resolve) => other.wakeups.on('outbox', () => resolve()));
        const jobs = new Promise<void>((resolve) => other.wakeups.on('jobs', () => resolve()));
        const config = new Promise<string>((resolve) => other.wakeups.on('config', (d) => { if (d === 'apps') resolve(d); }));
        await s.calls.write(async (tx) => {
          await tx.appendOutbox(newNotification(randomUUID()));
          await tx.scheduleJob({ callId: 'c', kind: 'answerCall', dueAt: 1, payload: {} });
        });
        await s.wakeups.publish('config', 'apps');
        await Promise.all([outbox, jobs, config]);
      });

      t('two instances changing one call queue up on its row and both succeed', async (s, ctx) => {
        const other = await ctx.sibling();
        const c = newCall({ extras: {} });
        await insertCalls(s, c);
        const runs = [0, 0];
        const mark = (st: Storage, i: number) => st.calls.write(async (tx) => {
          runs[i]!++;
          const cur = (await tx.getCall(c.id))!;
          return tx.updateCall({ ...cur, extras: { ...cur.extras, [`by${i}`]: true } });
        });
        const results = await Promise.all([mark(s, 0), mark(other, 1)]);
        assert.deepEqual(results.map((r) => r.version).sort(), [2, 3]);
        // The row lock serialised them: neither lost its version check and had to run again.
        assert.deepEqual(runs, [1, 1]);
        const final = (await s.calls.getCall(c.id))!;
        assert.equal(final.version, 3);
        assert.deepEqual(final.extras, { by0: true, by1: true });
      });

      t('owners on two instances claiming at once get disjoint heads, at most one per call', async (s, ctx) => {
        const other = await ctx.sibling();
        const calls = Array.from({ length: 12 }, () => randomUUID());
        await s.calls.write(async (tx) => {
          for (let round = 0; round < 3; round++) for (const callId of calls) await tx.appendOutbox(newNotification(callId));
        });
        const heads = new Map<string, number>();
        for (const n of await s.calls.listOutbox({ limit: 100 })) if (!heads.has(n.callId)) heads.set(n.callId, n.seq);
        const claims = await Promise.all([
          ...[1, 2, 3].map((i) => claim(s, 10, 5, lease(`a${i}`, 1000, 2000))),
          ...[1, 2, 3].map((i) => claim(other, 10, 5, lease(`b${i}`, 1000, 2000))),
        ]);
        const claimed = claims.flat();
        assert.equal(new Set(claimed.map((n) => n.seq)).size, claimed.length, 'no notification claimed twice');
        assert.equal(new Set(claimed.map((n) => n.callId)).size, claimed.length, 'at most one per call');
        for (const n of claimed) assert.equal(n.seq, heads.get(n.callId), 'only heads are claimed');
        // Whatever the race left over is claimable afterwards: every call's head exactly once in all.
        const rest = await claim(s, 10, 100, lease('c', 1000, 2000));
        assert.deepEqual([...claimed, ...rest].map((n) => n.seq).sort((x, y) => x - y), [...heads.values()].sort((x, y) => x - y));
      });

      t('a count of N is spent exactly N times when spends race on two instances', async (s, ctx) => {
        const other = await ctx.sibling();
        const n = 10;
        await s.config.setCounter('fault:race', n);
        const results = await Promise.all(Array.from({ length: 2 * n }, (_, i) => (i % 2 ? other : s).config.spend('fault:race')));
        assert.equal(results.filter(Boolean).length, n);
        assert.deepEqual((await other.config.counters('fault:')).get('fault:race'), { remaining: 0, spent: n });
      });

      t('setValueIfAbsent racing on two instances agrees on one value', async (s, ctx) => {
        const other = await ctx.sibling();
        const results = await Promise.all(['a', 'b', 'c', 'd'].map((v, i) => (i % 2 ? other : s).config.setValueIfAbsent('race', v)));
        assert.equal(new Set(results).size, 1, `one winner: ${results.join(',')}`);
      });
    }

    // ---- restart --------------------------------------------------------------------------------

    if (f.reopen) {
      t('a restart keeps calls, participants, operations, segments, outbox, jobs, recordings and config', async (s, ctx) => {
        const c = newCall();
        const p = newParticipant(c.id);
        const op = newOperation(c.id);
        const seg = newSegment(c.id, { startOperationId: op.id });
        const r = newRecording(c.id, seg.id, { meetingId: 'm1' });
        const content = patterned(MiB + 17);
        await s.calls.write(async (tx) => {
          await tx.insertCall(c);
          await tx.upsertParticipant(p);
          await tx.insertOperation(op);
          await tx.openSegment(seg);
          await tx.closeSegment(c.id, seg.startedAt + 10, null);
          await tx.appendOutbox(newNotification(c.id, { resourceData: { ok: true } }));
          await tx.scheduleJob({ callId: c.id, kind: 'answerCall', dueAt: 42, payload: { x: 'y' } });
          await tx.insertRecording(r, [{ userId: 'u1', role: 'organizer' }], content);
          await tx.appendJournal([newJournalEntry({ callId: c.id })], 10);
        });
        await s.config.setValue('app:x', 'kept');
        await s.config.setCounter('fault:x', 4);
        await s.config.putBlob('media:x', Buffer.from([9, 8, 7]));

        const after = await ctx.reopen();
        assert.deepEqual(await after.calls.getCall(c.id), c);
        assert.deepEqual(await after.calls.listParticipants(c.id), [p]);
        assert.deepEqual(await after.calls.getOperation(c.id, op.id), op);
        assert.deepEqual(await after.calls.listSegments(c.id), [{ ...seg, endedAt: seg.startedAt + 10 }]);
        assert.deepEqual((await after.calls.listOutbox({ callId: c.id, limit: 5 })).map((n) => n.resourceData), [{ ok: true }]);
        assert.equal(await after.calls.nextJobDue(), 42);
        assert.deepEqual(await after.calls.getRecording(r.id), r);
        assert.equal(await after.calls.recordingHasUser(r.id, 'u1', 'organizer'), true);
        assert.ok((await bytesOf(after.calls.readRecordingContent(r.id, 0, content.length - 1))).bytes.equals(content));
        assert.equal((await after.calls.listJournal({ limit: 10 })).length, 1);
        assert.equal(await after.config.getValue('app:x'), 'kept');
        assert.deepEqual((await after.config.counters('fault:')).get('fault:x'), { remaining: 4, spent: 0 });
        assert.deepEqual(await after.config.getBlob('media:x'), Buffer.from([9, 8, 7]));
        // And it keeps working.
        await after.calls.write(async (tx) => tx.updateCall({ ...(await tx.getCall(c.id))!, state: 'established' }));
        assert.equal((await after.calls.getCall(c.id))!.version, 2);
      });
    }

    // ---- subscriptions (change notifications) -------------------------------------------------------
    subscriptionContract(t, { reopen: !!f.reopen });
    retentionContract(t, { shared: !!f.openSibling });
    // ---- online meetings and transcripts (h-meet) ------------------------------------------------

    const meeting = (over: Partial<OnlineMeeting> = {}): OnlineMeeting => {
      const id = over.id ?? randomUUID();
      return {
        id, tenantId: 't', organizerId: 'org-1', appId: 'app', externalId: null, subject: null, startAt: 1, endAt: 2, createdAt: 1,
        threadId: `19:meeting_${id}@thread.v2`, joinWebUrl: `https://teams.microsoft.com/l/meetup-join/19%3ameeting_${id}%40thread.v2/0?context=%7b%7d`,
        joinMeetingId: '1234567890123', passcode: null, isPasscodeRequired: false, organizer: { user: { id: 'org-1' } }, attendees: [],
        allowRecording: true, allowTranscription: true, recordAutomatically: false, autoTranscription: false, ...over,
      };
    };
    const transcript = (callId: string, over: Partial<Transcript> = {}): Transcript => ({
      id: randomUUID(), callId, tenantId: 't', meetingId: null, meetingOrganizer: null, contentCorrelationId: randomUUID(),
      createdAt: 100, endedAt: 200, cueGroupId: randomUUID(), language: 'en-us', cues: [{ startMs: 0, endMs: 10, speaker: 'A', text: 'hi' }], ...over,
    });

    t('online meetings: stored, found by id, externalId, join URL key and join meeting id; one per externalId', async (s) => {
      const a = meeting({ externalId: 'ext', organizerId: 'ORG-1' });
      const b = meeting({ joinMeetingId: '999' });
      assert.equal(await s.calls.write((tx) => tx.insertOnlineMeeting(a)), true);
      assert.equal(await s.calls.write((tx) => tx.insertOnlineMeeting(b)), true);
      assert.equal(await s.calls.write((tx) => tx.insertOnlineMeeting(meeting({ externalId: 'ext', organizerId: 'org-1' }))), false, 'same organizer and externalId');
      assert.equal(await s.calls.write((tx) => tx.insertOnlineMeeting(meeting({ externalId: 'ext', organizerId: 'org-2' }))), true, 'another organizer may reuse it');
      assert.deepEqual(await s.calls.getOnlineMeeting(a.id), a);
      assert.deepEqual((await s.calls.onlineMeetingByExternalId('t', 'org-1', 'ext'))?.id, a.id);
      assert.equal(await s.calls.onlineMeetingByExternalId('other-tenant', 'org-1', 'ext'), undefined);
      assert.deepEqual((await s.calls.onlineMeetingsByJoinKey('t', joinUrlKey(encodeURIComponent(a.joinWebUrl)))).map((m) => m.id), [a.id]);
      assert.deepEqual((await s.calls.onlineMeetingsByJoinMeetingId('t', '999')).map((m) => m.id), [b.id]);
      await s.calls.write(async (tx) => tx.updateOnlineMeeting({ ...(await tx.getOnlineMeeting(b.id))!, autoTranscription: true }));
      assert.equal((await s.calls.getOnlineMeeting(b.id))!.autoTranscription, true);
      // A failed insert inside a transaction does not spoil the rest of it (PostgreSQL aborts on errors).
      await s.calls.write(async (tx) => {
        assert.equal(await tx.insertOnlineMeeting(meeting({ externalId: 'ext', organizerId: 'org-1' })), false);
        await tx.insertCall(newCall({ id: 'after-conflict' }));
      });
      assert.ok(await s.calls.getCall('after-conflict'));
    });

    t('transcripts: stored with their users, listed by meeting, call and user in creation order, cleared by clearCalls', async (s, ctx) => {
      const c = newCall();
      const inMeeting = [transcript(c.id, { meetingId: 'm1', createdAt: 100 }), transcript(c.id, { meetingId: 'm1', createdAt: 300 })];
      const adhoc = transcript(c.id, { createdAt: 500 });
      await s.calls.write(async (tx) => {
        await tx.insertCall(c);
        for (const tr of inMeeting) await tx.insertTranscript(tr, [{ userId: 'ORG', role: 'organizer' }, { userId: 'u1', role: 'participant' }]);
        await tx.insertTranscript(adhoc, [{ userId: 'u1', role: 'participant' }]);
      });
      assert.deepEqual(await s.calls.getTranscript(adhoc.id), adhoc);
      assert.equal(await s.calls.transcriptHasUser(adhoc.id, 'U1', 'participant'), true);
      assert.equal(await s.calls.transcriptHasUser(adhoc.id, 'u1', 'organizer'), false);
      const byMeeting = await s.calls.transcriptsByMeeting('m1', 0, 10);
      assert.deepEqual(byMeeting.map((x) => x.id), inMeeting.map((x) => x.id));
      assert.deepEqual((await s.calls.transcriptsByMeeting('m1', byMeeting[0]!.seq, 10)).map((x) => x.id), [inMeeting[1]!.id], 'keyset after a seq');
      assert.deepEqual((await s.calls.transcriptsByCall(c.id, 0, 2)).map((x) => x.id), inMeeting.map((x) => x.id), 'limit');
      assert.deepEqual((await s.calls.transcriptsByUser({ userId: 'org', role: 'organizer', from: 0, to: 1000, afterSeq: 0, limit: 10 })).map((x) => x.id), inMeeting.map((x) => x.id));
      assert.deepEqual((await s.calls.transcriptsByUser({ userId: 'u1', role: 'participant', from: 200, to: 1000, afterSeq: 0, limit: 10 })).map((x) => x.id), [inMeeting[1]!.id, adhoc.id], 'created within [from, to]');
      if (f.reopen) {
        const after = await ctx.reopen();
        assert.deepEqual(await after.calls.getTranscript(adhoc.id), adhoc, 'survives a restart');
        await after.calls.write((tx) => tx.clearCalls());
        assert.equal(await after.calls.getTranscript(adhoc.id), undefined, 'clearCalls forgets transcripts');
      }
    });
  });
}
