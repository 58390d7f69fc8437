import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Call } from '../../src/domain/call.js';
import type { CallWriter, Storage } from '../../src/domain/ports.js';
import { newCall, newJournalEntry, newNotification, newOperation, newParticipant, newRecording, newSegment } from '../support/factories.js';

type T = (name: string, fn: (s: Storage, ctx: { sibling(): Promise<Storage> }) => Promise<void>) => void;

const DAY = 86_400_000;
const NOW = 100 * DAY;
const lease = { owner: 'w', now: 1, until: 2 };

/** A call with one of every row that belongs to a call, as the services write them. */
async function fullCall(tx: CallWriter, over: Partial<Call>): Promise<Call> {
  const c = newCall(over);
  await tx.insertCall(c);
  await tx.upsertParticipant(newParticipant(c.id));
  const op = newOperation(c.id);
  await tx.insertOperation(op);
  const seg = newSegment(c.id, { startedAt: 1 });
  await tx.openSegment(seg);
  await tx.closeSegment(c.id, 2, null);
  await tx.appendMediaEvent({ callId: c.id, participantId: 'p', at: 1, kind: 'mute', muted: true });
  await tx.insertRecording(newRecording(c.id, seg.id), [{ userId: 'u1', role: 'participant' }], Buffer.from('RIFF'));
  await tx.insertTranscript({
    id: randomUUID(), callId: c.id, tenantId: c.tenantId, meetingId: null, meetingOrganizer: null, contentCorrelationId: 'x', createdAt: 1, endedAt: 2,
    cueGroupId: 'g', language: 'en-US', cues: [],
  }, [{ userId: 'u1', role: 'participant' }]);
  await tx.putCallItem('audioRoutingGroup', { id: 'g1', callId: c.id, routingMode: 'oneToOne', sources: [], receivers: [] });
  await tx.appendOutbox(newNotification(c.id));
  await tx.appendJournal([newJournalEntry({ callId: c.id })], 1000);
  // The attempt names its notification's real seq: a call's attempts are found (and deleted) through its outbox rows.
  const [n] = await tx.listOutbox({ callId: c.id, limit: 1 });
  await tx.recordDeliveryAttempt({ notificationSeq: n!.seq, callId: c.id, messageId: 'm', attempt: 1, at: 1, url: 'u', status: 202, latencyMs: 1, error: null, outcome: 'delivered' });
  return c;
}

/** Settles every pending notification of `callId` (delivered). */
async function settleAll(s: Storage, callId: string): Promise<void> {
  for (const n of await s.calls.listOutbox({ callId, limit: 100 })) await s.calls.write((tx) => tx.settleNotification(n.seq, 'delivered', 1));
}

async function gone(s: Storage, c: Call): Promise<void> {
  assert.equal(await s.calls.getCall(c.id), undefined);
  assert.deepEqual(await s.calls.listParticipants(c.id, { includeLeft: true }), []);
  assert.deepEqual(await s.calls.listOperations(c.id, 0, 10), []);
  assert.deepEqual(await s.calls.listSegments(c.id), []);
  assert.deepEqual(await s.calls.listMediaEvents(c.id), []);
  assert.deepEqual(await s.calls.recordingsByCall(c.id, 0, 10), []);
  assert.deepEqual(await s.calls.recordingsByUser({ userId: 'u1', role: 'participant', from: 0, to: NOW, afterSeq: 0, limit: 100 }).then((r) => r.filter((x) => x.callId === c.id)), []);
  assert.deepEqual(await s.calls.transcriptsByCall(c.id, 0, 10), []);
  assert.deepEqual(await s.calls.listCallItems(c.id, 'audioRoutingGroup'), []);
  assert.deepEqual(await s.calls.listOutbox({ callId: c.id, limit: 10 }), []);
  assert.deepEqual(await s.calls.listDeliveryAttempts({ callId: c.id, limit: 10 }), []);
  assert.deepEqual((await s.calls.listDeliveryAttempts({ limit: 1000 })).filter((a) => a.callId === c.id), []);
  assert.deepEqual(await s.calls.listJournal({ callId: c.id, limit: 10 }), []);
}

/** The retention part of the storage port (src/storage/sql/retention.sql.ts), on every engine. */
export function retentionContract(t: T, o: { shared: boolean }): void {
  t('retention: ended calls past the cut-off go with all their rows, oldest first; recent, active and busy calls stay', async (s) => {
    const made = await s.calls.write(async (tx) => ({
      oldest: await fullCall(tx, { state: 'terminated', updatedAt: 1 * DAY }),
      old: await fullCall(tx, { state: 'terminated', updatedAt: 2 * DAY }),
      recent: await fullCall(tx, { state: 'terminated', updatedAt: NOW - DAY }),
      active: await fullCall(tx, { state: 'established', updatedAt: 1 * DAY }),
      pending: await fullCall(tx, { state: 'terminated', updatedAt: 1 * DAY }),
      liveJob: await fullCall(tx, { state: 'terminated', updatedAt: 1 * DAY }),
      deadJob: await fullCall(tx, { state: 'terminated', updatedAt: 3 * DAY }),
    }));
    for (const c of Object.values(made)) if (c !== made.pending) await settleAll(s, c.id);
    await s.calls.write(async (tx) => {
      await tx.scheduleJob({ callId: made.liveJob.id, kind: 'completeOperation', dueAt: NOW * 2, payload: {} });
      await tx.scheduleJob({ callId: made.deadJob.id, kind: 'completeOperation', dueAt: 0, payload: {} });
    });
    const [dead] = await s.calls.write((tx) => tx.claimJobs(NOW, 10, lease));
    assert.equal(dead!.callId, made.deadJob.id);
    await s.calls.write((tx) => tx.failJob(dead!.id, 'boom', null));

    const cutoff = NOW - 7 * DAY;
    assert.deepEqual(await s.calls.write((tx) => tx.deleteEndedCalls(cutoff, 2)), [made.oldest.id, made.old.id], 'the oldest two, oldest first');
    assert.deepEqual(await s.calls.write((tx) => tx.deleteEndedCalls(cutoff, 2)), [made.deadJob.id], 'a dead job does not hold its call');
    assert.deepEqual(await s.calls.write((tx) => tx.deleteEndedCalls(cutoff, 2)), []);
    for (const c of [made.oldest, made.old, made.deadJob]) await gone(s, c);
    assert.deepEqual(await s.calls.deadJobs(10), [], "the dead job went with its call");
    for (const c of [made.recent, made.active, made.pending, made.liveJob]) {
      assert.ok(await s.calls.getCall(c.id), 'kept');
      assert.equal((await s.calls.recordingsByCall(c.id, 0, 10)).length, 1);
      assert.equal((await s.calls.listParticipants(c.id)).length, 1);
    }
    const rec = (await s.calls.recordingsByCall(made.recent.id, 0, 10))[0]!;
    assert.equal(await s.calls.recordingHasUser(rec.id, 'u1', 'participant'), true);

    // Once its notification is delivered, the call that waited for it goes too.
    await settleAll(s, made.pending.id);
    assert.deepEqual(await s.calls.write((tx) => tx.deleteEndedCalls(cutoff, 10)), [made.pending.id]);
    await gone(s, made.pending);
  });

  t('retention: journals are trimmed by age from their oldest rows, a bounded number at a time', async (s) => {
    await s.calls.write(async (tx) => {
      await tx.appendJournal([1, 2, 3, 4, 50].map((at) => newJournalEntry({ at })), 1000);
      for (const at of [1, 2, 3, 4, 50]) await tx.recordDeliveryAttempt({ notificationSeq: 1, callId: 'c', messageId: 'm', attempt: 1, at, url: 'u', status: 202, latencyMs: 1, error: null, outcome: 'delivered' });
    });
    assert.equal(await s.calls.write((tx) => tx.trimJournal(10, 3)), 3);
    assert.equal(await s.calls.write((tx) => tx.trimJournal(10, 3)), 1);
    assert.deepEqual((await s.calls.listJournal({ limit: 10 })).map((e) => e.at), [50]);
    assert.equal(await s.calls.write((tx) => tx.trimDeliveryAttempts(10, 10)), 4);
    assert.deepEqual((await s.calls.listDeliveryAttempts({ limit: 10 })).map((a) => a.at), [50]);

    // Settled change notifications of subscription lanes go by when they settled; pending ones and a call's stay.
    await s.calls.write(async (tx) => {
      for (let i = 0; i < 3; i++) await tx.appendOutbox(newNotification('sub:x', { kind: 'change' }));
      await tx.appendOutbox(newNotification('call-1'));
    });
    const rows = await s.calls.listOutbox({ limit: 10 });
    await s.calls.write(async (tx) => {
      await tx.settleNotification(rows[0]!.seq, 'delivered', 5);
      await tx.settleNotification(rows[1]!.seq, 'dead', 60);
      await tx.settleNotification(rows[3]!.seq, 'delivered', 5);
    });
    assert.equal(await s.calls.write((tx) => tx.trimSettledLanes(10, 10)), 1);
    assert.deepEqual((await s.calls.listOutbox({ limit: 10 })).map((n) => n.seq), [rows[1]!.seq, rows[2]!.seq, rows[3]!.seq]);
  });

  t('retention: the sweep is claimed with a lease: held by one owner until it ends or runs out, renewed by its holder', async (s, ctx) => {
    const claim = (st: Storage, owner: string, now: number) => st.calls.write((tx) => tx.claimSweep({ owner, now, until: now + 100 }));
    assert.equal(await claim(s, 'a', 1000), true, 'free: taken');
    assert.equal(await claim(s, 'b', 1050), false, 'held by a');
    assert.equal(await claim(s, 'a', 1080), true, 'renewed by its holder (now until 1180)');
    assert.equal(await claim(s, 'b', 1150), false, 'still held');
    assert.equal(await claim(s, 'b', 1180), true, 'run out: taken over');
    await s.calls.write((tx) => tx.releaseSweep('a'));
    assert.equal(await claim(s, 'a', 1190), false, "a release by another owner leaves b's lease alone");
    await s.calls.write((tx) => tx.releaseSweep('b'));
    assert.equal(await claim(s, 'a', 1190), true, 'released: free at once');
    if (!o.shared) return;
    // Two instances claiming at the same moment: exactly one gets it.
    const other = await ctx.sibling();
    await s.calls.write((tx) => tx.releaseSweep('a'));
    const got = await Promise.all([claim(s, 'x', 5000), claim(other, 'y', 5000), claim(s, 'z', 5000), claim(other, 'w', 5000)]);
    assert.equal(got.filter(Boolean).length, 1, JSON.stringify(got));
  });
}
