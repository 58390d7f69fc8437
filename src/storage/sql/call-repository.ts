import type { Call, DeliveryAttempt, Job, MediaEvent, NewNotification, Operation, OutboxNotification, Participant, Recording, RecordingSegment } from '../../domain/call.js';
import { DomainError } from '../../domain/errors.js';
import type { JournalEntry } from '../../domain/journal.js';
import type { CallWriter, Lease, RecordingRole } from '../../domain/ports.js';
import { READ_ONLY, stmt, type Row, type Sql, type TxScope } from './sql.js';
import type { CallItemKind, CallItemTypes } from '../../domain/roster.js';
import { CALL_ITEMS } from './call-items.sql.js';
import { SqlSubscriptionRepository } from './subscription-repository.js';
import type { OnlineMeeting, Transcript } from '../../domain/meeting.js';
import { meetingReads, meetingWrites, TRANSCRIPT_TABLES } from './meeting-repository.js';
import { retentionWrites } from './retention.sql.js';

/** Recording bytes are stored in pieces of this size, so a download never holds a whole file. */
export const CONTENT_CHUNK = 1024 * 1024;

/**
 * Every statement of the call repository, written once for both engines. Rows keep their Graph-shaped
 * detail as JSON in `data`; columns exist only for what is looked up or ordered by.
 */
const Q = {
  getCall: stmt('getCall', 'SELECT data, version FROM calls WHERE id = ?'),
  // Inside a PostgreSQL transaction the row is locked, so two instances changing one call queue up
  // instead of failing each other's optimistic version check.
  getCallForUpdate: stmt('getCallForUpdate', 'SELECT data, version FROM calls WHERE id = ?', 'SELECT data, version FROM calls WHERE id = $1 FOR UPDATE'),
  insertCall: stmt('insertCall', 'INSERT INTO calls (id, tenant_id, app_id, version, state, data, created_at, updated_at, observed_call_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
  recentCalls: stmt('recentCalls', 'SELECT data, version FROM calls ORDER BY created_at DESC LIMIT ?'),
  observingCalls: stmt('observingCalls', "SELECT id FROM calls WHERE observed_call_id = ? AND state != 'terminated'"),
  updateCall: stmt('updateCall', 'UPDATE calls SET version = version + 1, state = ?, data = ?, updated_at = ? WHERE id = ? AND version = ?'),
  listParticipants: stmt('listParticipants', 'SELECT data FROM participants WHERE call_id = ? AND left_at IS NULL ORDER BY seq'),
  listAllParticipants: stmt('listAllParticipants', 'SELECT data FROM participants WHERE call_id = ? ORDER BY seq'),
  getParticipant: stmt('getParticipant', 'SELECT data FROM participants WHERE call_id = ? AND id = ?'),
  upsertParticipant: stmt('upsertParticipant', `INSERT INTO participants (call_id, id, seq, left_at, data) VALUES (?, ?, ?, ?, ?)
    ON CONFLICT (call_id, id) DO UPDATE SET left_at = excluded.left_at, data = excluded.data`),
  getOperation: stmt('getOperation', 'SELECT data FROM operations WHERE call_id = ? AND id = ?'),
  listOperations: stmt('listOperations', 'SELECT seq, data FROM operations WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  insertOperation: stmt('insertOperation', 'INSERT INTO operations (call_id, id, data) VALUES (?, ?, ?)'),
  updateOperation: stmt('updateOperation', 'UPDATE operations SET data = ? WHERE call_id = ? AND id = ?'),
  listSegments: stmt('listSegments', 'SELECT * FROM recording_segments WHERE call_id = ? ORDER BY seq'),
  openSegment: stmt('openSegment', 'INSERT INTO recording_segments (id, call_id, started_at, ended_at, start_operation_id, stop_operation_id) VALUES (?, ?, ?, NULL, ?, NULL)'),
  closeSegment: stmt('closeSegment', 'UPDATE recording_segments SET ended_at = ?, stop_operation_id = ? WHERE call_id = ? AND ended_at IS NULL'),
  unrenderedSegments: stmt('unrenderedSegments', 'SELECT * FROM recording_segments WHERE call_id = ? AND ended_at IS NOT NULL AND recording_id IS NULL ORDER BY seq'),
  // `recording_id IS NULL` lets it use segments_unrendered (flat in the call's history).
  markRendered: stmt('markRendered', 'UPDATE recording_segments SET recording_id = ? WHERE call_id = ? AND id = ? AND recording_id IS NULL'),
  appendMediaEvent: stmt('appendMediaEvent', 'INSERT INTO media_events (call_id, participant_id, at, kind, data) VALUES (?, ?, ?, ?, ?)'),
  listMediaEvents: stmt('listMediaEvents', 'SELECT data FROM media_events WHERE call_id = ? ORDER BY seq'),
  insertRecording: stmt('insertRecording', 'INSERT INTO recordings (id, call_id, tenant_id, meeting_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq'),
  insertRecordingUser: stmt('insertRecordingUser', 'INSERT INTO recording_users (recording_seq, user_id, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
  insertContent: stmt('insertContent', 'INSERT INTO recording_content (recording_id, idx, data) VALUES (?, ?, ?)'),
  readContent: stmt('readContent', 'SELECT idx, data FROM recording_content WHERE recording_id = ? AND idx >= ? AND idx <= ? ORDER BY idx'),
  getRecording: stmt('getRecording', 'SELECT seq, data FROM recordings WHERE id = ?'),
  recordingHasUser: stmt('recordingHasUser', `SELECT 1 AS one FROM recordings r JOIN recording_users u ON u.recording_seq = r.seq
    WHERE r.id = ? AND u.user_id = ? AND u.role = ?`),
  recordingsByMeeting: stmt('recordingsByMeeting', 'SELECT seq, data FROM recordings WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  recordingsByCall: stmt('recordingsByCall', 'SELECT seq, data FROM recordings WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  recordingsByUser: stmt('recordingsByUser', `SELECT r.seq, r.data FROM recording_users u JOIN recordings r ON r.seq = u.recording_seq
    WHERE u.user_id = ? AND u.role = ? AND u.created_at >= ? AND u.created_at <= ? AND u.recording_seq > ? ORDER BY u.recording_seq LIMIT ?`),

  // The body goes to outbox_bodies, written once: the row's delivery state changes, the body never does.
  // PostgreSQL writes both rows in one statement (a data-modifying CTE: one round trip, not two) and says
  // so; SQLite has no such CTE, takes the body (the last parameter) only to keep one parameter list, says
  // it is not stored, and the repository writes it next (appendOutboxBody, in-process, no round trip).
  appendOutbox: stmt('appendOutbox', `INSERT INTO outbox (call_id, message_id, change_type, resource_url, callback_uri, created_at, kind)
    VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING seq, ? IS NULL AS body_stored`, `WITH o AS (
      INSERT INTO outbox (call_id, message_id, change_type, resource_url, callback_uri, created_at, kind) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq),
    b AS (INSERT INTO outbox_bodies (seq, resource_data) SELECT seq, $8::text FROM o)
    SELECT seq, TRUE AS body_stored FROM o`),
  appendOutboxBody: stmt('appendOutboxBody', 'INSERT INTO outbox_bodies (seq, resource_data) VALUES (?, ?)'),
  outboxBody: stmt('outboxBody', 'SELECT resource_data FROM outbox_bodies WHERE seq = ?'),
  // Heads come from the partial index on pending rows: cost follows the backlog, not the outbox's history.
  // On PostgreSQL the candidate rows are locked with SKIP LOCKED, and the outer conditions are checked
  // again on the locked row, so a head another instance just claimed or settled is never taken twice.
  // The candidates are a materialised CTE, not an IN (subquery): the planner may rescan an IN subquery
  // for each row it updates, and each rescan would pick (and claim) rows beyond the LIMIT.
  claimDeliveries: stmt('claimDeliveries', `UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE seq IN (
      SELECT o.seq FROM (SELECT MIN(seq) AS seq FROM outbox WHERE state = 'pending' GROUP BY call_id) h
      JOIN outbox o ON o.seq = h.seq WHERE o.next_attempt_at <= ? AND o.lease_until <= ? ORDER BY o.seq LIMIT ?)
    RETURNING *`, `WITH picked AS MATERIALIZED (
      SELECT o.seq FROM outbox o WHERE o.seq IN (SELECT MIN(seq) FROM outbox WHERE state = 'pending' GROUP BY call_id)
        AND o.state = 'pending' AND o.next_attempt_at <= $3 AND o.lease_until <= $4 ORDER BY o.seq LIMIT $5 FOR UPDATE SKIP LOCKED),
    claimed AS (UPDATE outbox SET lease_owner = $1, lease_until = $2 FROM picked
      WHERE outbox.seq = picked.seq AND outbox.state = 'pending' AND outbox.lease_until <= $4
      RETURNING outbox.*)
    SELECT claimed.*, b.resource_data FROM claimed JOIN outbox_bodies b ON b.seq = claimed.seq`),
  // The earliest future attempt over every pending row, not only heads: one probe of outbox_pending_due
  // instead of a pass over every call's pending rows. Only heads are ever retried (per-call order), so a
  // non-head's time is its commit, in the past; a superset can only wake a worker early, never late.
  nextDeliveryDue: stmt('nextDeliveryDue', `SELECT MIN(next_attempt_at) AS due FROM outbox WHERE state = 'pending' AND next_attempt_at > ?`),
  // One call's new head, claimed in the transaction that settled the previous one (settleNotification).
  // On PostgreSQL the UPDATE re-checks state and lease on the row it locks, so a head claimed meanwhile
  // by another instance is not taken twice.
  // (SQLite returns the row without its body, which the repository then reads; PostgreSQL joins it.)
  claimCallHead: stmt('claimCallHead', `UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE seq = (
      SELECT seq FROM outbox WHERE call_id = ? AND state = 'pending' ORDER BY seq LIMIT 1)
    AND state = 'pending' AND next_attempt_at <= ? AND lease_until <= ? RETURNING *`, `WITH claimed AS (
      UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE seq = (
        SELECT seq FROM outbox WHERE call_id = $3 AND state = 'pending' ORDER BY seq LIMIT 1)
      AND state = 'pending' AND next_attempt_at <= $4 AND lease_until <= $5 RETURNING *)
    SELECT claimed.*, b.resource_data FROM claimed JOIN outbox_bodies b ON b.seq = claimed.seq`),
  nextPendingAfter: stmt('nextPendingAfter', `SELECT o.*, b.resource_data FROM outbox o JOIN outbox_bodies b ON b.seq = o.seq
    WHERE o.call_id = ? AND o.state = 'pending' AND o.seq > ? ORDER BY o.seq LIMIT 1`),
  settleNotification: stmt('settleNotification', 'UPDATE outbox SET state = ?, settled_at = ?, lease_owner = NULL, lease_until = 0 WHERE seq = ?'),
  retryNotification: stmt('retryNotification', 'UPDATE outbox SET attempts = ?, next_attempt_at = ?, lease_owner = NULL, lease_until = 0 WHERE seq = ?'),
  rehomeNotifications: stmt('rehomeNotifications', "UPDATE outbox SET callback_uri = ? WHERE call_id = ? AND state = 'pending'"),
  // The rows to renew travel as one JSON array: SQLite reads it with json_each, PostgreSQL as jsonb.
  extendOutboxLeases: stmt('extendOutboxLeases', 'UPDATE outbox SET lease_until = ? WHERE lease_owner = ? AND seq IN (SELECT value FROM json_each(?))',
    // PostgreSQL skips rows a transaction of ours holds (a job deleting its own row): the renewal never waits on them.
    `UPDATE outbox SET lease_until = $1 WHERE seq IN (SELECT seq FROM outbox WHERE lease_owner = $2
      AND seq IN (SELECT (jsonb_array_elements_text($3::jsonb))::bigint) FOR UPDATE SKIP LOCKED)`),
  listOutboxByCall: stmt('listOutboxByCall', `SELECT o.*, b.resource_data FROM outbox o JOIN outbox_bodies b ON b.seq = o.seq
    WHERE o.call_id = ? AND o.seq > ? ORDER BY o.seq LIMIT ?`),
  listOutbox: stmt('listOutbox', 'SELECT o.*, b.resource_data FROM outbox o JOIN outbox_bodies b ON b.seq = o.seq WHERE o.seq > ? ORDER BY o.seq LIMIT ?'),
  recordAttempt: stmt('recordAttempt', `INSERT INTO delivery_attempts (outbox_seq, call_id, message_id, attempt, at, url, status, latency_ms, error, outcome)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
  countRedirects: stmt('countRedirects', "SELECT COUNT(*) AS n FROM delivery_attempts WHERE outbox_seq = ? AND outcome = 'redirected'"),
  // A call's attempts through its outbox rows (no index of attempts by call: issue 11, one WAL page per
  // request). One head at a time per call, so a call's attempts in outbox order are its attempts in order:
  // the walk goes down outbox_by_call from the cursor's notification and stops at the limit.
  attemptOutboxSeq: stmt('attemptOutboxSeq', 'SELECT outbox_seq FROM delivery_attempts WHERE seq = ?'),
  listAttemptsByCall: stmt('listAttemptsByCall', `SELECT a.* FROM outbox o JOIN delivery_attempts a ON a.outbox_seq = o.seq
    WHERE o.call_id = ? AND o.seq >= ? AND a.seq > ? ORDER BY o.seq, a.seq LIMIT ?`),
  listAttempts: stmt('listAttempts', 'SELECT * FROM delivery_attempts WHERE seq > ? ORDER BY seq LIMIT ?'),
  listAttemptsNewestByCall: stmt('listAttemptsNewestByCall', `SELECT a.* FROM outbox o JOIN delivery_attempts a ON a.outbox_seq = o.seq
    WHERE o.call_id = ? AND o.seq <= ? AND a.seq < ? ORDER BY o.seq DESC, a.seq DESC LIMIT ?`),
  listAttemptsNewest: stmt('listAttemptsNewest', 'SELECT * FROM delivery_attempts WHERE seq < ? ORDER BY seq DESC LIMIT ?'),

  scheduleJob: stmt('scheduleJob', 'INSERT INTO jobs (call_id, kind, due_at, payload) VALUES (?, ?, ?, ?)'),
  claimJobs: stmt('claimJobs', `UPDATE jobs SET lease_owner = ?, lease_until = ? WHERE id IN (
      SELECT id FROM jobs WHERE dead_at IS NULL AND due_at <= ? AND lease_until <= ? ORDER BY due_at, id LIMIT ?)
    RETURNING *`, `WITH picked AS MATERIALIZED (
      SELECT id FROM jobs WHERE dead_at IS NULL AND due_at <= $3 AND lease_until <= $4 ORDER BY due_at, id LIMIT $5 FOR UPDATE SKIP LOCKED)
    UPDATE jobs SET lease_owner = $1, lease_until = $2 FROM picked
    WHERE jobs.id = picked.id AND jobs.dead_at IS NULL AND jobs.lease_until <= $4
    RETURNING jobs.*`),
  deleteJob: stmt('deleteJob', 'DELETE FROM jobs WHERE id = ?'),
  failJob: stmt('failJob', 'UPDATE jobs SET attempts = attempts + 1, last_error = ?, due_at = ?, lease_owner = NULL, lease_until = 0 WHERE id = ?'),
  deadJob: stmt('deadJob', 'UPDATE jobs SET attempts = attempts + 1, last_error = ?, dead_at = ?, lease_owner = NULL, lease_until = 0 WHERE id = ?'),
  extendJobLeases: stmt('extendJobLeases', 'UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN (SELECT value FROM json_each(?))',
    `UPDATE jobs SET lease_until = $1 WHERE id IN (SELECT id FROM jobs WHERE lease_owner = $2
      AND id IN (SELECT (jsonb_array_elements_text($3::jsonb))::bigint) FOR UPDATE SKIP LOCKED)`),
  // Jobs another instance holds are not due for us: counting them would wake the runner again at once.
  nextJobDue: stmt('nextJobDue', 'SELECT MIN(due_at) AS due FROM jobs WHERE dead_at IS NULL AND lease_until <= ?'),
  deadJobs: stmt('deadJobs', 'SELECT * FROM jobs WHERE dead_at IS NOT NULL ORDER BY dead_at DESC, id DESC LIMIT ?'),

  appendJournal: stmt('appendJournal', 'INSERT INTO request_journal (at, call_id, data) VALUES (?, ?, ?)'),
  // Keeps exactly the newest `keep` entries, whatever gaps the sequence has (PostgreSQL's do after rollbacks).
  trimJournal: stmt('trimJournal', 'DELETE FROM request_journal WHERE seq < (SELECT seq FROM request_journal ORDER BY seq DESC LIMIT 1 OFFSET ?)'),
  journalAfter: stmt('journalAfter', 'SELECT seq, data FROM request_journal WHERE seq > ? ORDER BY seq LIMIT ?'),
  journalAfterByCall: stmt('journalAfterByCall', 'SELECT seq, data FROM request_journal WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  journalNewest: stmt('journalNewest', 'SELECT seq, data FROM request_journal WHERE seq > ? ORDER BY seq DESC LIMIT ?'),
  journalNewestByCall: stmt('journalNewestByCall', 'SELECT seq, data FROM request_journal WHERE call_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?'),
};

/** Tables `clearCalls` empties: everything about calls, none of the configuration. */
const CALL_TABLES = ['calls', 'participants', 'operations', 'recording_segments', 'outbox', 'outbox_bodies', 'jobs', 'delivery_attempts', 'media_events',
  'recordings', 'recording_users', 'recording_content', 'request_journal',
  // Subscriptions go with them: their expiry and lifecycle jobs are in `jobs`.
  'subscriptions'] as const;
const CLEAR = [...[...CALL_TABLES, ...TRANSCRIPT_TABLES].map((t) => stmt(`clear_${t}`, `DELETE FROM ${t}`)), CALL_ITEMS.clear];

/**
 * The call repository over one connection: calls, participants, operations, segments, the media
 * timeline, recordings, the outbox and its journal, jobs and the request journal. The same class serves
 * reads outside a transaction (a read-only scope) and a transaction's reads and writes (a live scope that
 * refuses use once the transaction ended).
 */
export class SqlCallRepository extends SqlSubscriptionRepository implements CallWriter {
  constructor(private readonly sql: Sql, private readonly scope: TxScope, private readonly forUpdate = false) {
    super(sql, scope);
  }

  private reader(): Sql {
    this.scope.check(false);
    return this.sql;
  }

  private writer(): Sql {
    this.scope.check(true);
    return this.sql;
  }

  // ---- reads --------------------------------------------------------------------------------------

  async getCall(id: string): Promise<Call | undefined> {
    const row = await this.reader().get<{ data: string; version: number }>(this.forUpdate ? Q.getCallForUpdate : Q.getCall, [id]);
    return row ? toCall(row) : undefined;
  }

  async recentCalls(limit: number): Promise<Call[]> {
    return (await this.reader().all<{ data: string; version: number }>(Q.recentCalls, [limit])).map(toCall);
  }

  async observingCalls(callId: string): Promise<string[]> {
    return (await this.reader().all<{ id: string }>(Q.observingCalls, [callId])).map((r) => r.id);
  }

  async listParticipants(callId: string, opts: { includeLeft?: boolean } = {}): Promise<Participant[]> {
    return (await this.reader().all<{ data: string }>(opts.includeLeft ? Q.listAllParticipants : Q.listParticipants, [callId])).map(fromData<Participant>);
  }

  async getParticipant(callId: string, id: string): Promise<Participant | undefined> {
    const row = await this.reader().get<{ data: string }>(Q.getParticipant, [callId, id]);
    return row ? fromData<Participant>(row) : undefined;
  }

  async getOperation(callId: string, id: string): Promise<Operation | undefined> {
    const row = await this.reader().get<{ data: string }>(Q.getOperation, [callId, id]);
    return row ? fromData<Operation>(row) : undefined;
  }

  async listOperations(callId: string, afterSeq: number, limit: number): Promise<Array<Operation & { seq: number }>> {
    return (await this.reader().all<{ seq: number; data: string }>(Q.listOperations, [callId, afterSeq, limit])).map(withSeq<Operation>);
  }

  async listSegments(callId: string): Promise<RecordingSegment[]> {
    return (await this.reader().all(Q.listSegments, [callId])).map(toSegment);
  }

  async unrenderedSegments(callId: string): Promise<RecordingSegment[]> {
    return (await this.reader().all(Q.unrenderedSegments, [callId])).map(toSegment);
  }

  async listMediaEvents(callId: string): Promise<MediaEvent[]> {
    return (await this.reader().all<{ data: string }>(Q.listMediaEvents, [callId])).map(fromData<MediaEvent>);
  }

  async getRecording(id: string): Promise<Recording | undefined> {
    const row = await this.reader().get<{ data: string }>(Q.getRecording, [id]);
    return row ? fromData<Recording>(row) : undefined;
  }

  async recordingHasUser(recordingId: string, userId: string, role: RecordingRole): Promise<boolean> {
    return (await this.reader().get(Q.recordingHasUser, [recordingId, userId.toLowerCase(), role])) !== undefined;
  }

  async recordingsByMeeting(meetingId: string, afterSeq: number, limit: number): Promise<Array<Recording & { seq: number }>> {
    return (await this.reader().all<{ seq: number; data: string }>(Q.recordingsByMeeting, [meetingId, afterSeq, limit])).map(withSeq<Recording>);
  }

  async recordingsByCall(callId: string, afterSeq: number, limit: number): Promise<Array<Recording & { seq: number }>> {
    return (await this.reader().all<{ seq: number; data: string }>(Q.recordingsByCall, [callId, afterSeq, limit])).map(withSeq<Recording>);
  }

  async recordingsByUser(f: { userId: string; role: RecordingRole; from: number; to: number; afterSeq: number; limit: number }): Promise<Array<Recording & { seq: number }>> {
    return (await this.reader().all<{ seq: number; data: string }>(Q.recordingsByUser, [f.userId.toLowerCase(), f.role, f.from, f.to, f.afterSeq, f.limit])).map(withSeq<Recording>);
  }

  /** The recording's bytes `start`..`end` (inclusive), read one stored piece at a time. */
  async *readRecordingContent(recordingId: string, start: number, end: number): AsyncIterable<Buffer> {
    if (end < start) return;
    const last = Math.floor(end / CONTENT_CHUNK);
    for (let idx = Math.floor(start / CONTENT_CHUNK); idx <= last; idx++) {
      const row = await this.reader().get<{ idx: number; data: Buffer }>(Q.readContent, [recordingId, idx, idx]);
      if (!row) return;
      const base = idx * CONTENT_CHUNK;
      const from = Math.max(0, start - base);
      const to = Math.min(row.data.length, end - base + 1);
      if (to > from) yield Buffer.from(row.data.subarray(from, to));
    }
  }

  async listOutbox(f: { callId?: string; afterSeq?: number; limit: number }): Promise<OutboxNotification[]> {
    const rows = f.callId
      ? await this.reader().all(Q.listOutboxByCall, [f.callId, f.afterSeq ?? 0, f.limit])
      : await this.reader().all(Q.listOutbox, [f.afterSeq ?? 0, f.limit]);
    return rows.map(toNotification);
  }

  async nextDeliveryDue(after: number): Promise<number | null> {
    return toNumberOrNull((await this.reader().get<{ due: unknown }>(Q.nextDeliveryDue, [after]))?.due);
  }

  async nextPendingAfter(callId: string, seq: number): Promise<OutboxNotification | undefined> {
    const row = await this.reader().get(Q.nextPendingAfter, [callId, seq]);
    return row ? toNotification(row) : undefined;
  }

  async countRedirects(seq: number): Promise<number> {
    return Number((await this.reader().get<{ n: unknown }>(Q.countRedirects, [seq]))?.n ?? 0);
  }

  async listDeliveryAttempts(f: { callId?: string; afterSeq?: number; limit: number; newestFirst?: boolean; beforeSeq?: number }): Promise<DeliveryAttempt[]> {
    if (f.newestFirst) {
      const before = f.beforeSeq ?? Number.MAX_SAFE_INTEGER;
      const newest = f.callId
        ? await this.reader().all(Q.listAttemptsNewestByCall, [f.callId, (await this.attemptOutboxSeq(f.beforeSeq)) ?? Number.MAX_SAFE_INTEGER, before, f.limit])
        : await this.reader().all(Q.listAttemptsNewest, [before, f.limit]);
      return newest.map(toAttempt);
    }
    const rows = f.callId
      ? await this.reader().all(Q.listAttemptsByCall, [f.callId, (await this.attemptOutboxSeq(f.afterSeq)) ?? 0, f.afterSeq ?? 0, f.limit])
      : await this.reader().all(Q.listAttempts, [f.afterSeq ?? 0, f.limit]);
    return rows.map(toAttempt);
  }

  /** The notification a page cursor's attempt was for: where a call's walk resumes (none when trimmed). */
  private async attemptOutboxSeq(seq: number | undefined): Promise<number | undefined> {
    if (!seq) return undefined;
    const row = await this.reader().get<{ outbox_seq: unknown }>(Q.attemptOutboxSeq, [seq]);
    return row ? Number(row.outbox_seq) : undefined;
  }

  async nextJobDue(leaseNow: number = Date.now()): Promise<number | null> {
    return toNumberOrNull((await this.reader().get<{ due: unknown }>(Q.nextJobDue, [leaseNow]))?.due);
  }

  async deadJobs(limit: number): Promise<Array<Job & { attempts: number; lastError: string | null }>> {
    return (await this.reader().all(Q.deadJobs, [limit])).map((r) => ({ ...toJob(r), attempts: Number(r.attempts), lastError: (r.last_error as string | null) ?? null }));
  }

  async listJournal(f: { callId?: string; afterSeq?: number; limit: number; newestFirst?: boolean }): Promise<JournalEntry[]> {
    const after = f.afterSeq ?? 0;
    const q = f.newestFirst ? (f.callId ? Q.journalNewestByCall : Q.journalNewest) : (f.callId ? Q.journalAfterByCall : Q.journalAfter);
    const rows = await this.reader().all<{ seq: number; data: string }>(q, f.callId ? [f.callId, after, f.limit] : [after, f.limit]);
    return rows.map((r) => ({ ...(JSON.parse(r.data) as Omit<JournalEntry, 'seq'>), seq: Number(r.seq) }));
  }

  // ---- writes -------------------------------------------------------------------------------------

  async insertCall(call: Call): Promise<void> {
    await this.writer().run(Q.insertCall, [call.id, call.tenantId, call.appId, call.version, call.state, JSON.stringify(call), call.createdAt, call.updatedAt, call.observedCallId]);
  }

  async updateCall(call: Call): Promise<Call> {
    const next = { ...call, version: call.version + 1 };
    const changed = await this.writer().run(Q.updateCall, [call.state, JSON.stringify(next), call.updatedAt, call.id, call.version]);
    if (changed !== 1) throw new DomainError('CONCURRENT_UPDATE', 'The call was changed by another request; retry.');
    return next;
  }

  async upsertParticipant(p: Participant): Promise<void> {
    await this.writer().run(Q.upsertParticipant, [p.callId, p.id, p.seq, p.leftAt, JSON.stringify(p)]);
  }

  async insertOperation(op: Operation): Promise<void> {
    await this.writer().run(Q.insertOperation, [op.callId, op.id, JSON.stringify(op)]);
  }

  async updateOperation(op: Operation): Promise<void> {
    await this.writer().run(Q.updateOperation, [JSON.stringify(op), op.callId, op.id]);
  }

  async openSegment(s: RecordingSegment): Promise<void> {
    await this.writer().run(Q.openSegment, [s.id, s.callId, s.startedAt, s.startOperationId]);
  }

  async closeSegment(callId: string, endedAt: number, stopOperationId: string | null): Promise<void> {
    await this.writer().run(Q.closeSegment, [endedAt, stopOperationId, callId]);
  }

  async appendMediaEvent(e: MediaEvent): Promise<void> {
    await this.writer().run(Q.appendMediaEvent, [e.callId, e.participantId, e.at, e.kind, JSON.stringify(e)]);
  }

  async insertRecording(r: Recording, users: Array<{ userId: string; role: RecordingRole }>, content: Buffer): Promise<void> {
    const sql = this.writer();
    const row = await sql.get<{ seq: number }>(Q.insertRecording, [r.id, r.callId, r.tenantId, r.meetingId, r.createdAt, JSON.stringify(r)]);
    for (const u of users) await sql.run(Q.insertRecordingUser, [Number(row!.seq), u.userId.toLowerCase(), u.role, r.createdAt]);
    for (let i = 0, idx = 0; i < content.length || idx === 0; i += CONTENT_CHUNK, idx++) {
      await sql.run(Q.insertContent, [r.id, idx, content.subarray(i, i + CONTENT_CHUNK)]);
    }
    await sql.run(Q.markRendered, [r.id, r.callId, r.segmentId]);
  }

  async clearCalls(): Promise<void> {
    const sql = this.writer();
    for (const q of CLEAR) await sql.run(q);
  }

  async appendOutbox(n: NewNotification): Promise<void> {
    const sql = this.writer();
    const body = JSON.stringify(n.resourceData);
    const row = await sql.get<{ seq: unknown; body_stored: unknown }>(Q.appendOutbox, [n.callId, n.messageId, n.changeType, n.resourceUrl, n.callbackUri, n.createdAt, n.kind ?? 'call', body]);
    if (!row!.body_stored) await sql.run(Q.appendOutboxBody, [Number(row!.seq), body]);
    this.scope.touch('outbox', n.callId);
  }

  async claimDeliveries(now: number, limit: number, lease: Lease, callIds?: readonly string[]): Promise<OutboxNotification[]> {
    const sql = this.writer();
    if (callIds) {
      // Only these calls' heads: one index probe each, instead of a pass over every call's pending rows.
      const out: OutboxNotification[] = [];
      for (const callId of callIds.slice(0, limit)) {
        const head = await this.claimCallHead(callId, now, lease);
        if (head) out.push(head);
      }
      return out.sort((a, b) => a.seq - b.seq);
    }
    const rows = await sql.all(Q.claimDeliveries, [lease.owner, lease.until, now, lease.now, limit]);
    return (await this.withBodies(rows)).map(toNotification).sort((a, b) => a.seq - b.seq);
  }

  /** One call's head, if due at `now` and free: claimed for `lease`. */
  private async claimCallHead(callId: string, now: number, lease: Lease): Promise<OutboxNotification | null> {
    const row = await this.writer().get(Q.claimCallHead, [lease.owner, lease.until, callId, now, lease.now]);
    return row ? toNotification((await this.withBodies([row]))[0]!) : null;
  }

  /** Claimed rows as SQLite returns them, without their bodies (PostgreSQL's claims join them): read by key. */
  private async withBodies(rows: Row[]): Promise<Row[]> {
    for (const r of rows) {
      if (r.resource_data !== undefined) continue;
      const body = await this.writer().get<{ resource_data: string }>(Q.outboxBody, [Number(r.seq)]);
      r.resource_data = body?.resource_data;
    }
    return rows;
  }

  async recordDeliveryAttempt(a: Omit<DeliveryAttempt, 'seq'>): Promise<void> {
    await this.writer().run(Q.recordAttempt, [a.notificationSeq, a.callId, a.messageId, a.attempt, a.at, a.url, a.status, a.latencyMs, a.error, a.outcome]);
  }

  async settleNotification(seq: number, state: 'delivered' | 'dead', at: number, claimNext?: { callId: string; now: number; lease: Lease }): Promise<OutboxNotification | null> {
    const sql = this.writer();
    await sql.run(Q.settleNotification, [state, at, seq]);
    const next = claimNext && (await this.claimCallHead(claimNext.callId, claimNext.now, claimNext.lease));
    if (next) return next;
    // The call's next notification (if any) is now its head: wake the workers for it.
    this.scope.touch('outbox', claimNext?.callId);
    return null;
  }

  async retryNotification(seq: number, attempts: number, nextAttemptAt: number): Promise<void> {
    await this.writer().run(Q.retryNotification, [attempts, nextAttemptAt, seq]);
    this.scope.touch('outbox');
  }

  async rehomeNotifications(callId: string, callbackUri: string): Promise<void> {
    await this.writer().run(Q.rehomeNotifications, [callbackUri, callId]);
  }

  /** Keeps this owner's claims on the given work alive while it runs. */
  async extendLeases(lease: Lease, work: { deliveries?: number[]; jobs?: number[] }): Promise<void> {
    const sql = this.writer();
    if (work.deliveries?.length) await sql.run(Q.extendOutboxLeases, [lease.until, lease.owner, JSON.stringify(work.deliveries)]);
    if (work.jobs?.length) await sql.run(Q.extendJobLeases, [lease.until, lease.owner, JSON.stringify(work.jobs)]);
  }

  async scheduleJob(job: Omit<Job, 'id'>): Promise<void> {
    await this.writer().run(Q.scheduleJob, [job.callId, job.kind, job.dueAt, JSON.stringify(job.payload)]);
    this.scope.touch('jobs');
  }

  async claimJobs(now: number, limit: number, lease: Lease): Promise<Job[]> {
    const rows = await this.writer().all(Q.claimJobs, [lease.owner, lease.until, now, lease.now, limit]);
    return rows.map(toJob).sort((a, b) => a.dueAt - b.dueAt || a.id - b.id);
  }

  async deleteJob(id: number): Promise<boolean> {
    return (await this.writer().run(Q.deleteJob, [id])) === 1;
  }

  async failJob(id: number, error: string, retryAt: number | null): Promise<void> {
    const clipped = error.slice(0, 2000);
    if (retryAt === null) await this.writer().run(Q.deadJob, [clipped, Date.now(), id]);
    else {
      await this.writer().run(Q.failJob, [clipped, retryAt, id]);
      this.scope.touch('jobs');
    }
  }

  async appendJournal(entries: Array<Omit<JournalEntry, 'seq'>>, keep: number): Promise<void> {
    const sql = this.writer();
    for (const e of entries) await sql.run(Q.appendJournal, [e.at, e.callId, JSON.stringify(e)]);
    await sql.run(Q.trimJournal, [Math.max(0, keep - 1)]);
  }

  // ---- call items (domain/roster.ts) -------------------------------------------------------------

  async listCallItems<K extends CallItemKind>(callId: string, kind: K): Promise<Array<CallItemTypes[K]>> {
    return (await this.reader().all<{ data: string }>(CALL_ITEMS.list, [callId, kind])).map(fromData<CallItemTypes[K]>);
  }

  async getCallItem<K extends CallItemKind>(callId: string, kind: K, id: string): Promise<CallItemTypes[K] | undefined> {
    const row = await this.reader().get<{ data: string }>(CALL_ITEMS.get, [callId, kind, id]);
    return row ? fromData<CallItemTypes[K]>(row) : undefined;
  }

  async putCallItem<K extends CallItemKind>(kind: K, item: CallItemTypes[K]): Promise<void> {
    await this.writer().run(CALL_ITEMS.put, [item.callId, kind, item.id, JSON.stringify(item)]);
  }

  async deleteCallItem(callId: string, kind: CallItemKind, id: string): Promise<boolean> {
    return (await this.writer().run(CALL_ITEMS.delete, [callId, kind, id])) === 1;
  }
  // ---- online meetings and transcripts (statements in meeting-repository.ts) ----------------------

  getOnlineMeeting(id: string): Promise<OnlineMeeting | undefined> { return meetingReads.getOnlineMeeting(this.reader(), id); }
  onlineMeetingByExternalId(tenantId: string, organizerId: string, externalId: string): Promise<OnlineMeeting | undefined> {
    return meetingReads.onlineMeetingByExternalId(this.reader(), tenantId, organizerId, externalId);
  }
  onlineMeetingsByJoinKey(tenantId: string, joinKey: string): Promise<OnlineMeeting[]> { return meetingReads.onlineMeetingsByJoinKey(this.reader(), tenantId, joinKey); }
  onlineMeetingsByJoinMeetingId(tenantId: string, joinMeetingId: string): Promise<OnlineMeeting[]> {
    return meetingReads.onlineMeetingsByJoinMeetingId(this.reader(), tenantId, joinMeetingId);
  }
  getTranscript(id: string): Promise<Transcript | undefined> { return meetingReads.getTranscript(this.reader(), id); }
  transcriptHasUser(id: string, userId: string, role: RecordingRole): Promise<boolean> { return meetingReads.transcriptHasUser(this.reader(), id, userId, role); }
  transcriptsByMeeting(meetingId: string, afterSeq: number, limit: number): Promise<Array<Transcript & { seq: number }>> {
    return meetingReads.transcriptsByMeeting(this.reader(), meetingId, afterSeq, limit);
  }
  transcriptsByCall(callId: string, afterSeq: number, limit: number): Promise<Array<Transcript & { seq: number }>> {
    return meetingReads.transcriptsByCall(this.reader(), callId, afterSeq, limit);
  }
  transcriptsByUser(f: { userId: string; role: RecordingRole; from: number; to: number; afterSeq: number; limit: number }): Promise<Array<Transcript & { seq: number }>> {
    return meetingReads.transcriptsByUser(this.reader(), f);
  }
  insertOnlineMeeting(m: OnlineMeeting): Promise<boolean> { return meetingWrites.insertOnlineMeeting(this.writer(), m); }
  updateOnlineMeeting(m: OnlineMeeting): Promise<void> { return meetingWrites.updateOnlineMeeting(this.writer(), m); }
  insertTranscript(t: Transcript, users: Array<{ userId: string; role: RecordingRole }>): Promise<void> { return meetingWrites.insertTranscript(this.writer(), t, users); }

  // ---- retention (statements in retention.sql.ts) -------------------------------------------------

  claimSweep(lease: Lease): Promise<boolean> { return retentionWrites.claimSweep(this.writer(), lease); }
  releaseSweep(owner: string): Promise<void> { return retentionWrites.releaseSweep(this.writer(), owner); }
  deleteEndedCalls(endedBy: number, limit: number): Promise<string[]> { return retentionWrites.deleteEndedCalls(this.writer(), endedBy, limit); }
  trimDeliveryAttempts(before: number, limit: number): Promise<number> { return retentionWrites.trimDeliveryAttempts(this.writer(), before, limit); }
  trimJournal(before: number, limit: number): Promise<number> { return retentionWrites.trimJournal(this.writer(), before, limit); }
  trimSettledLanes(before: number, limit: number): Promise<number> { return retentionWrites.trimSettledLanes(this.writer(), before, limit); }
}

// ---- rows -------------------------------------------------------------------------------------------

function toCall(row: { data: string; version: number }): Call {
  const call = JSON.parse(row.data) as Call;
  call.version = Number(row.version);
  return call;
}

function fromData<T>(row: { data: string }): T {
  return JSON.parse(row.data) as T;
}

function withSeq<T>(row: { seq: number; data: string }): T & { seq: number } {
  return { ...(JSON.parse(row.data) as T), seq: Number(row.seq) };
}

function toNumberOrNull(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function toNotification(r: Row): OutboxNotification {
  return {
    seq: Number(r.seq), callId: r.call_id as string, messageId: r.message_id as string,
    changeType: r.change_type as OutboxNotification['changeType'], resourceUrl: r.resource_url as string,
    resourceData: JSON.parse(r.resource_data as string), callbackUri: r.callback_uri as string, createdAt: Number(r.created_at),
    state: r.state as OutboxNotification['state'], attempts: Number(r.attempts), nextAttemptAt: Number(r.next_attempt_at),
    // A call's own rows carry no kind (absent = 'call'); subscription lanes say theirs.
    ...(r.kind && r.kind !== 'call' ? { kind: r.kind as OutboxNotification['kind'] } : {}),
  };
}

function toSegment(r: Row): RecordingSegment {
  return {
    id: r.id as string, callId: r.call_id as string, startedAt: Number(r.started_at), endedAt: toNumberOrNull(r.ended_at),
    startOperationId: (r.start_operation_id as string | null) ?? null, stopOperationId: (r.stop_operation_id as string | null) ?? null,
  };
}

function toAttempt(r: Row): DeliveryAttempt {
  return {
    seq: Number(r.seq), notificationSeq: Number(r.outbox_seq), callId: r.call_id as string, messageId: r.message_id as string,
    attempt: Number(r.attempt), at: Number(r.at), url: r.url as string, status: toNumberOrNull(r.status),
    latencyMs: toNumberOrNull(r.latency_ms), error: (r.error as string | null) ?? null, outcome: r.outcome as DeliveryAttempt['outcome'],
  };
}

function toJob(r: Row): Job {
  return {
    id: Number(r.id), callId: r.call_id as string, kind: r.kind as Job['kind'], dueAt: Number(r.due_at),
    payload: JSON.parse(r.payload as string) as Record<string, string>, attempts: Number(r.attempts ?? 0),
  };
}

/** The store an engine hands out: the repository's reads outside any transaction, plus `write` and `close`. */
export class SqlCallStore extends SqlCallRepository {
  constructor(sql: Sql, private readonly engine: { write<T>(fn: (tx: CallWriter) => Promise<T>): Promise<T>; close(): Promise<void> }) {
    super(sql, READ_ONLY);
  }

  write<T>(fn: (tx: CallWriter) => Promise<T>): Promise<T> {
    return this.engine.write(fn);
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}
