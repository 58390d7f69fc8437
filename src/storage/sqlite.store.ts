import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Call, MediaEvent, Recording, DeliveryAttempt, Job, NewNotification, Operation, OutboxNotification, Participant, RecordingSegment } from '../domain/call.js';
import { DomainError } from '../domain/errors.js';
import type { CallStore, CallWriter } from '../domain/ports.js';
import type { KeyValueStore } from '../auth/keys.js';
import { MIGRATIONS } from './sqlite-schema.js';
import { WalCheckpointer } from './wal-checkpointer.js';

export interface SqliteStoreOptions {
  /** Directory for `graph-calls.db`, or null for an in-memory database. */
  dataDir: string | null;
  synchronous: 'FULL' | 'NORMAL';
}

/** Group-commit counters, for the benchmark and diagnostics. */
export interface CommitStats {
  commands: number;
  transactions: number;
  maxBatch: number;
  /** Time inside flush (commands + COMMIT) and inside COMMIT alone, in ms. */
  flushMs: number;
  commitMs: number;
}

interface Pending { fn: (tx: CallWriter) => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }

/**
 * The SQLite adapter of the storage port (better-sqlite3, WAL).
 *
 * Group commit: every `write` queued during one event-loop turn runs in a single transaction, each in
 * its own savepoint so one failing command rolls back alone; all promises settle after the COMMIT.
 * Commands run serially inside the batch and see the writes before them, so the batch is serialisable.
 */
export class SqliteCallStore implements CallStore, CallWriter, KeyValueStore {
  private readonly db: Database.Database;
  private queue: Pending[] = [];
  private flushScheduled = false;
  private jobsScheduled = false;
  private notificationsAppended = false;
  private readonly jobListeners: Array<() => void> = [];
  private readonly outboxListeners: Array<() => void> = [];
  private readonly s;
  private readonly checkpointer: WalCheckpointer | null = null;
  private readonly stats: CommitStats = { commands: 0, transactions: 0, maxBatch: 0, flushMs: 0, commitMs: 0 };

  constructor(o: SqliteStoreOptions) {
    let file = ':memory:';
    if (o.dataDir) {
      mkdirSync(o.dataDir, { recursive: true });
      file = join(o.dataDir, 'graph-calls.db');
    }
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${o.synchronous}`);
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('cache_size = -65536');
    if (o.dataDir) {
      // Checkpoints run on a worker thread (wal-checkpointer.ts), not inside a request's commit.
      this.db.pragma('wal_autocheckpoint = 0');
      this.checkpointer = new WalCheckpointer(file, createRequire(import.meta.url).resolve('better-sqlite3'));
    }
    this.migrate();
    const p = (sql: string) => this.db.prepare(sql);
    this.s = {
      begin: p('BEGIN IMMEDIATE'), commit: p('COMMIT'), rollback: p('ROLLBACK'),
      savepoint: p('SAVEPOINT cmd'), release: p('RELEASE cmd'), rollbackTo: p('ROLLBACK TO cmd'),
      getCall: p('SELECT data, version FROM calls WHERE id = ?'),
      insertCall: p('INSERT INTO calls (id, tenant_id, app_id, version, state, data, created_at, updated_at, observed_call_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      recentCalls: p('SELECT data, version FROM calls ORDER BY created_at DESC LIMIT ?'),
      observingCalls: p("SELECT id FROM calls WHERE observed_call_id = ? AND state != 'terminated'"),
      updateCall: p('UPDATE calls SET version = version + 1, state = ?, data = ?, updated_at = ? WHERE id = ? AND version = ?'),
      listParticipants: p('SELECT data FROM participants WHERE call_id = ? AND left_at IS NULL ORDER BY seq'),
      listAllParticipants: p('SELECT data FROM participants WHERE call_id = ? ORDER BY seq'),
      getParticipant: p('SELECT data FROM participants WHERE call_id = ? AND id = ?'),
      upsertParticipant: p(`INSERT INTO participants (call_id, id, seq, left_at, data) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (call_id, id) DO UPDATE SET left_at = excluded.left_at, data = excluded.data`),
      getOperation: p('SELECT data FROM operations WHERE call_id = ? AND id = ?'),
      listOperations: p('SELECT seq, data FROM operations WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      insertOperation: p('INSERT INTO operations (call_id, id, data) VALUES (?, ?, ?)'),
      updateOperation: p('UPDATE operations SET data = ? WHERE call_id = ? AND id = ?'),
      listSegments: p('SELECT * FROM recording_segments WHERE call_id = ? ORDER BY seq'),
      openSegment: p('INSERT INTO recording_segments (id, call_id, started_at, ended_at, start_operation_id, stop_operation_id) VALUES (?, ?, ?, NULL, ?, NULL)'),
      closeSegment: p('UPDATE recording_segments SET ended_at = ?, stop_operation_id = ? WHERE call_id = ? AND ended_at IS NULL'),
      appendOutbox: p('INSERT INTO outbox (call_id, message_id, change_type, resource_url, resource_data, callback_uri, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      // Driven by the partial index on pending rows: cost follows the backlog, not the outbox's history.
      deliverableHeads: p(`SELECT o.* FROM (SELECT MIN(seq) AS seq FROM outbox WHERE state = 'pending' GROUP BY call_id) h
        JOIN outbox o ON o.seq = h.seq WHERE o.next_attempt_at <= ? ORDER BY o.seq LIMIT ?`),
      nextDeliveryDue: p(`SELECT MIN(o.next_attempt_at) AS due FROM (SELECT MIN(seq) AS seq FROM outbox WHERE state = 'pending' GROUP BY call_id) h
        JOIN outbox o ON o.seq = h.seq WHERE o.next_attempt_at > ?`),
      nextPendingAfter: p("SELECT * FROM outbox WHERE call_id = ? AND state = 'pending' AND seq > ? ORDER BY seq LIMIT 1"),
      settleNotification: p('UPDATE outbox SET state = ?, settled_at = ? WHERE seq = ?'),
      retryNotification: p('UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE seq = ?'),
      rehomeNotifications: p("UPDATE outbox SET callback_uri = ? WHERE call_id = ? AND state = 'pending'"),
      recordAttempt: p(`INSERT INTO delivery_attempts (outbox_seq, call_id, message_id, attempt, at, url, status, latency_ms, error, outcome)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      listAttemptsByCall: p('SELECT * FROM delivery_attempts WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      listAttempts: p('SELECT * FROM delivery_attempts WHERE seq > ? ORDER BY seq LIMIT ?'),
      appendMediaEvent: p('INSERT INTO media_events (call_id, participant_id, at, kind, data) VALUES (?, ?, ?, ?, ?)'),
      listMediaEvents: p('SELECT data FROM media_events WHERE call_id = ? ORDER BY seq'),
      unrenderedSegments: p('SELECT * FROM recording_segments WHERE call_id = ? AND ended_at IS NOT NULL AND recording_id IS NULL ORDER BY seq'),
      markRendered: p('UPDATE recording_segments SET recording_id = ? WHERE call_id = ? AND id = ?'),
      insertRecording: p('INSERT INTO recordings (id, call_id, tenant_id, meeting_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)'),
      insertRecordingUser: p('INSERT OR IGNORE INTO recording_users (recording_seq, user_id, role, created_at) VALUES (?, ?, ?, ?)'),
      getRecording: p('SELECT seq, data FROM recordings WHERE id = ?'),
      recordingHasUser: p(`SELECT 1 FROM recordings r JOIN recording_users u ON u.recording_seq = r.seq
        WHERE r.id = ? AND u.user_id = ? AND u.role = ?`),
      recordingsByMeeting: p('SELECT seq, data FROM recordings WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      recordingsByCall: p('SELECT seq, data FROM recordings WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      recordingsByUser: p(`SELECT r.seq, r.data FROM recording_users u JOIN recordings r ON r.seq = u.recording_seq
        WHERE u.user_id = ? AND u.role = ? AND u.created_at >= ? AND u.created_at <= ? AND u.recording_seq > ? ORDER BY u.recording_seq LIMIT ?`),
      listOutboxByCall: p('SELECT * FROM outbox WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
      listOutbox: p('SELECT * FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?'),
      scheduleJob: p('INSERT INTO jobs (call_id, kind, due_at, payload) VALUES (?, ?, ?, ?)'),
      deleteJob: p('DELETE FROM jobs WHERE id = ?'),
      nextJobDue: p('SELECT MIN(due_at) AS due FROM jobs'),
      dueJobs: p('SELECT * FROM jobs WHERE due_at <= ? ORDER BY due_at, id LIMIT ?'),
      getMeta: p('SELECT value FROM meta WHERE key = ?'),
      setMeta: p('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value'),
    };
  }

  private migrate(): void {
    const at = this.db.pragma('user_version', { simple: true }) as number;
    for (let v = at; v < MIGRATIONS.length; v++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[v]!);
        this.db.pragma(`user_version = ${v + 1}`);
      })();
    }
  }

  // ---- transactions -----------------------------------------------------------------------------

  write<T>(fn: (tx: CallWriter) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const t0 = performance.now();
    this.flushScheduled = false;
    const batch = this.queue;
    this.queue = [];
    // Fast path: the whole batch in one transaction without savepoints. Commands almost always succeed;
    // when one throws, the batch is rolled back and replayed with a savepoint per command, so the
    // failing command rolls back alone. Commands are closures over stored state, so a replay is exact.
    let settled = this.runBatch(batch, false);
    if (settled && settled.some((r) => !r.ok)) {
      this.s.rollback.run();
      settled = this.runBatch(batch, true);
    }
    if (!settled) return;
    try {
      const tc = performance.now();
      this.s.commit.run();
      this.stats.commitMs += performance.now() - tc;
    } catch (err) {
      if (this.db.inTransaction) this.s.rollback.run();
      for (const item of batch) item.reject(err);
      return;
    }
    this.stats.commands += batch.length;
    this.stats.transactions++;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    this.stats.flushMs += performance.now() - t0;
    batch.forEach((item, i) => (settled[i]!.ok ? item.resolve(settled[i]!.value) : item.reject(settled[i]!.value)));
    if (this.jobsScheduled) for (const l of this.jobListeners) l();
    if (this.notificationsAppended) for (const l of this.outboxListeners) l();
  }

  /** Runs every command inside an open transaction; null (and all rejected) if the transaction itself failed. */
  private runBatch(batch: Pending[], isolate: boolean): Array<{ ok: boolean; value: unknown }> | null {
    const settled: Array<{ ok: boolean; value: unknown }> = [];
    this.jobsScheduled = false;
    this.notificationsAppended = false;
    try {
      this.s.begin.run();
      for (const item of batch) {
        if (isolate) this.s.savepoint.run();
        try {
          const value = item.fn(this);
          if (isolate) this.s.release.run();
          settled.push({ ok: true, value });
        } catch (err) {
          settled.push({ ok: false, value: err });
          if (!isolate) return settled;
          this.s.rollbackTo.run();
          this.s.release.run();
        }
      }
      return settled;
    } catch (err) {
      if (this.db.inTransaction) this.s.rollback.run();
      for (const item of batch) item.reject(err);
      return null;
    }
  }

  onJobsScheduled(listener: () => void): void {
    this.jobListeners.push(listener);
  }

  onNotificationsAppended(listener: () => void): void {
    this.outboxListeners.push(listener);
  }

  /** Counters since the last reset. */
  commitStats(reset = false): CommitStats {
    const out = { ...this.stats };
    if (reset) Object.assign(this.stats, { commands: 0, transactions: 0, maxBatch: 0, flushMs: 0, commitMs: 0 });
    return out;
  }

  /** Waits for the checkpoint thread to let go of the database, then closes it. */
  async shutdown(): Promise<void> {
    await this.checkpointer?.stop();
    this.close();
  }

  close(): void {
    void this.checkpointer?.stop();
    if (this.db.open) {
      if (this.checkpointer) this.db.pragma('wal_checkpoint(TRUNCATE)');
      this.db.close();
    }
  }

  // ---- reads --------------------------------------------------------------------------------------

  getCall(id: string): Call | undefined {
    const row = this.s.getCall.get(id) as { data: string; version: number } | undefined;
    if (!row) return undefined;
    const call = JSON.parse(row.data) as Call;
    call.version = row.version;
    return call;
  }

  recentCalls(limit: number): Call[] {
    return (this.s.recentCalls.all(limit) as Array<{ data: string; version: number }>).map((r) => ({ ...(JSON.parse(r.data) as Call), version: r.version }));
  }

  observingCalls(callId: string): string[] {
    return (this.s.observingCalls.all(callId) as Array<{ id: string }>).map((r) => r.id);
  }

  listParticipants(callId: string, opts: { includeLeft?: boolean } = {}): Participant[] {
    const stmt = opts.includeLeft ? this.s.listAllParticipants : this.s.listParticipants;
    return (stmt.all(callId) as Array<{ data: string }>).map((r) => JSON.parse(r.data) as Participant);
  }

  getParticipant(callId: string, id: string): Participant | undefined {
    const row = this.s.getParticipant.get(callId, id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Participant) : undefined;
  }

  getOperation(callId: string, id: string): Operation | undefined {
    const row = this.s.getOperation.get(callId, id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Operation) : undefined;
  }

  listOperations(callId: string, afterSeq: number, limit: number): Array<Operation & { seq: number }> {
    return (this.s.listOperations.all(callId, afterSeq, limit) as Array<{ seq: number; data: string }>)
      .map((r) => ({ ...(JSON.parse(r.data) as Operation), seq: r.seq }));
  }

  listSegments(callId: string): RecordingSegment[] {
    return (this.s.listSegments.all(callId) as Array<Record<string, unknown>>).map(toSegment);
  }

  listOutbox(f: { callId?: string; afterSeq?: number; limit: number }): OutboxNotification[] {
    const rows = (f.callId
      ? this.s.listOutboxByCall.all(f.callId, f.afterSeq ?? 0, f.limit)
      : this.s.listOutbox.all(f.afterSeq ?? 0, f.limit)) as OutboxRow[];
    return rows.map(toNotification);
  }

  deliverableHeads(now: number, limit: number): OutboxNotification[] {
    return (this.s.deliverableHeads.all(now, limit) as OutboxRow[]).map(toNotification);
  }

  nextPendingAfter(callId: string, seq: number): OutboxNotification | undefined {
    const row = this.s.nextPendingAfter.get(callId, seq) as OutboxRow | undefined;
    return row ? toNotification(row) : undefined;
  }

  nextDeliveryDue(after: number): number | null {
    return (this.s.nextDeliveryDue.get(after) as { due: number | null }).due;
  }

  listDeliveryAttempts(f: { callId?: string; afterSeq?: number; limit: number }): DeliveryAttempt[] {
    const rows = (f.callId
      ? this.s.listAttemptsByCall.all(f.callId, f.afterSeq ?? 0, f.limit)
      : this.s.listAttempts.all(f.afterSeq ?? 0, f.limit)) as Array<Record<string, unknown>>;
    return rows.map((r) => ({
      seq: r.seq as number, notificationSeq: r.outbox_seq as number, callId: r.call_id as string, messageId: r.message_id as string,
      attempt: r.attempt as number, at: r.at as number, url: r.url as string, status: (r.status as number | null) ?? null,
      latencyMs: (r.latency_ms as number | null) ?? null, error: (r.error as string | null) ?? null, outcome: r.outcome as DeliveryAttempt['outcome'],
    }));
  }

  listMediaEvents(callId: string): MediaEvent[] {
    return (this.s.listMediaEvents.all(callId) as Array<{ data: string }>).map((r) => JSON.parse(r.data) as MediaEvent);
  }

  unrenderedSegments(callId: string): RecordingSegment[] {
    return (this.s.unrenderedSegments.all(callId) as Array<Record<string, unknown>>).map(toSegment);
  }

  getRecording(id: string): Recording | undefined {
    const row = this.s.getRecording.get(id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Recording) : undefined;
  }

  recordingHasUser(recordingId: string, userId: string, role: 'organizer' | 'participant'): boolean {
    return this.s.recordingHasUser.get(recordingId, userId.toLowerCase(), role) !== undefined;
  }

  listRecordings(f: { meetingId?: string; callId?: string; userId?: string; role?: 'organizer' | 'participant'; from?: number; to?: number; afterSeq: number; limit: number }): Array<Recording & { seq: number }> {
    const rows = (f.userId
      ? this.s.recordingsByUser.all(f.userId.toLowerCase(), f.role ?? 'organizer', f.from ?? 0, f.to ?? Number.MAX_SAFE_INTEGER, f.afterSeq, f.limit)
      : f.meetingId
        ? this.s.recordingsByMeeting.all(f.meetingId, f.afterSeq, f.limit)
        : this.s.recordingsByCall.all(f.callId ?? '', f.afterSeq, f.limit)) as Array<{ seq: number; data: string }>;
    return rows.map((r) => ({ ...(JSON.parse(r.data) as Recording), seq: r.seq }));
  }

  nextJobDue(): number | null {
    return (this.s.nextJobDue.get() as { due: number | null }).due;
  }

  dueJobs(now: number, limit: number): Job[] {
    return (this.s.dueJobs.all(now, limit) as Array<Record<string, unknown>>).map((r) => ({
      id: r.id as number, callId: r.call_id as string, kind: r.kind as Job['kind'], dueAt: r.due_at as number,
      payload: JSON.parse(r.payload as string) as Record<string, string>,
    }));
  }

  // ---- writes (only ever called from inside `write`) ---------------------------------------------

  insertCall(call: Call): void {
    this.s.insertCall.run(call.id, call.tenantId, call.appId, call.version, call.state, JSON.stringify(call), call.createdAt, call.updatedAt, call.observedCallId);
  }

  updateCall(call: Call): Call {
    const next = { ...call, version: call.version + 1 };
    const res = this.s.updateCall.run(call.state, JSON.stringify(next), call.updatedAt, call.id, call.version);
    if (res.changes !== 1) throw new DomainError('CONCURRENT_UPDATE', 'The call was changed by another request; retry.');
    return next;
  }

  upsertParticipant(p: Participant): void {
    this.s.upsertParticipant.run(p.callId, p.id, p.seq, p.leftAt, JSON.stringify(p));
  }

  insertOperation(op: Operation): void {
    this.s.insertOperation.run(op.callId, op.id, JSON.stringify(op));
  }

  updateOperation(op: Operation): void {
    this.s.updateOperation.run(JSON.stringify(op), op.callId, op.id);
  }

  openSegment(s: RecordingSegment): void {
    this.s.openSegment.run(s.id, s.callId, s.startedAt, s.startOperationId);
  }

  closeSegment(callId: string, endedAt: number, stopOperationId: string | null): void {
    this.s.closeSegment.run(endedAt, stopOperationId, callId);
  }

  appendOutbox(n: NewNotification): void {
    this.s.appendOutbox.run(n.callId, n.messageId, n.changeType, n.resourceUrl, JSON.stringify(n.resourceData), n.callbackUri, n.createdAt);
    this.notificationsAppended = true;
  }

  clearCalls(): void {
    for (const t of ['calls', 'participants', 'operations', 'recording_segments', 'outbox', 'jobs', 'delivery_attempts', 'media_events', 'recordings', 'recording_users']) {
      this.db.prepare(`DELETE FROM ${t}`).run();
    }
  }

  appendMediaEvent(e: MediaEvent): void {
    this.s.appendMediaEvent.run(e.callId, e.participantId, e.at, e.kind, JSON.stringify(e));
  }

  insertRecording(r: Recording, users: Array<{ userId: string; role: 'organizer' | 'participant' }>): void {
    const seq = this.s.insertRecording.run(r.id, r.callId, r.tenantId, r.meetingId, r.createdAt, JSON.stringify(r)).lastInsertRowid as number;
    for (const u of users) this.s.insertRecordingUser.run(seq, u.userId.toLowerCase(), u.role, r.createdAt);
    this.s.markRendered.run(r.id, r.callId, r.segmentId);
  }

  recordDeliveryAttempt(a: Omit<DeliveryAttempt, 'seq'>): void {
    this.s.recordAttempt.run(a.notificationSeq, a.callId, a.messageId, a.attempt, a.at, a.url, a.status, a.latencyMs, a.error, a.outcome);
  }

  settleNotification(seq: number, state: 'delivered' | 'dead', at: number): void {
    this.s.settleNotification.run(state, at, seq);
  }

  retryNotification(seq: number, attempts: number, nextAttemptAt: number): void {
    this.s.retryNotification.run(attempts, nextAttemptAt, seq);
  }

  rehomeNotifications(callId: string, callbackUri: string): void {
    this.s.rehomeNotifications.run(callbackUri, callId);
  }

  scheduleJob(job: Omit<Job, 'id'>): void {
    this.s.scheduleJob.run(job.callId, job.kind, job.dueAt, JSON.stringify(job.payload));
    this.jobsScheduled = true;
  }

  deleteJob(id: number): boolean {
    return this.s.deleteJob.run(id).changes === 1;
  }

  // ---- key/value (signing keys) -----------------------------------------------------------------

  getValue(key: string): string | undefined {
    return (this.s.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setValue(key: string, value: string): void {
    this.s.setMeta.run(key, value);
  }
}

type OutboxRow = Record<string, unknown>;

function toNotification(r: OutboxRow): OutboxNotification {
  return {
    seq: r.seq as number, callId: r.call_id as string, messageId: r.message_id as string,
    changeType: r.change_type as OutboxNotification['changeType'], resourceUrl: r.resource_url as string,
    resourceData: JSON.parse(r.resource_data as string), callbackUri: r.callback_uri as string, createdAt: r.created_at as number,
    state: r.state as OutboxNotification['state'], attempts: r.attempts as number, nextAttemptAt: r.next_attempt_at as number,
  };
}

function toSegment(r: Record<string, unknown>): RecordingSegment {
  return {
    id: r.id as string, callId: r.call_id as string, startedAt: r.started_at as number, endedAt: (r.ended_at as number | null) ?? null,
    startOperationId: (r.start_operation_id as string | null) ?? null, stopOperationId: (r.stop_operation_id as string | null) ?? null,
  };
}
