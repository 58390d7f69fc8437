import type { Call, MediaEvent, Recording, DeliveryAttempt, DeliveryState, Job, NewNotification, Operation, OutboxNotification, Participant, RecordingSegment } from './call.js';

/** Reads that see only committed state. */
export interface CallReader {
  getCall(id: string): Call | undefined;
  /** The most recently created calls, newest first. */
  recentCalls(limit: number): Call[];
  /** Live policy-invite calls that record `callId`. */
  observingCalls(callId: string): string[];
  listParticipants(callId: string, opts?: { includeLeft?: boolean }): Participant[];
  getParticipant(callId: string, id: string): Participant | undefined;
  getOperation(callId: string, id: string): Operation | undefined;
  /** Keyset page in creation order, after `afterSeq`. Returns at most `limit` rows. */
  listOperations(callId: string, afterSeq: number, limit: number): Array<Operation & { seq: number }>;
  listSegments(callId: string): RecordingSegment[];
  listOutbox(filter: { callId?: string; afterSeq?: number; limit: number }): OutboxNotification[];
  /**
   * The oldest pending notification of each call whose next attempt is due: a call's notifications go
   * out strictly in commit order, one at a time. At most `limit` rows, oldest first.
   */
  deliverableHeads(now: number, limit: number): OutboxNotification[];
  /**
   * Earliest next attempt after `after` among the calls' head notifications, or null. Heads already due
   * are either in flight or waiting for a free slot; both wake the worker when they finish.
   */
  nextDeliveryDue(after: number): number | null;
  /** The call's next pending notification after `seq`, if any. */
  nextPendingAfter(callId: string, seq: number): OutboxNotification | undefined;
  listDeliveryAttempts(filter: { callId?: string; afterSeq?: number; limit: number }): DeliveryAttempt[];
  listMediaEvents(callId: string): MediaEvent[];
  /** Closed segments of a call that have no recording yet. */
  unrenderedSegments(callId: string): RecordingSegment[];
  getRecording(id: string): Recording | undefined;
  /** Whether `userId` is listed on the recording in `role` (organizer of its meeting, or participant of its call). */
  recordingHasUser(recordingId: string, userId: string, role: 'organizer' | 'participant'): boolean;
  /** Recordings in creation order after `afterSeq`, filtered by meeting, call, or a user (as organizer or participant). */
  listRecordings(f: { meetingId?: string; callId?: string; userId?: string; role?: 'organizer' | 'participant'; from?: number; to?: number; afterSeq: number; limit: number }): Array<Recording & { seq: number }>;
  /** Earliest job due time, or null when there is none. */
  nextJobDue(): number | null;
  dueJobs(now: number, limit: number): Job[];
}

/** The writes a transaction may do. Every method runs inside the caller's transaction. */
export interface CallWriter extends CallReader {
  insertCall(call: Call): void;
  /** Writes `call` if the stored version is still `call.version`, then bumps it; else CONCURRENT_UPDATE. */
  updateCall(call: Call): Call;
  upsertParticipant(p: Participant): void;
  insertOperation(op: Operation): void;
  updateOperation(op: Operation): void;
  openSegment(s: RecordingSegment): void;
  closeSegment(callId: string, endedAt: number, stopOperationId: string | null): void;
  appendOutbox(n: NewNotification): void;
  recordDeliveryAttempt(a: Omit<DeliveryAttempt, 'seq'>): void;
  appendMediaEvent(e: MediaEvent): void;
  /** Forgets every call and everything about them (keys, apps and policies stay). */
  clearCalls(): void;
  /** Stores a recording, the users it can be listed by, and marks its segment rendered. */
  insertRecording(r: Recording, users: Array<{ userId: string; role: 'organizer' | 'participant' }>): void;
  /** Marks a notification delivered or dead. */
  settleNotification(seq: number, state: Exclude<DeliveryState, 'pending'>, at: number): void;
  /** Keeps a notification pending with its attempt count and next attempt time. */
  retryNotification(seq: number, attempts: number, nextAttemptAt: number): void;
  /** A redirect re-homes every pending notification of the call to `callbackUri`. */
  rehomeNotifications(callId: string, callbackUri: string): void;
  scheduleJob(job: Omit<Job, 'id'>): void;
  /** Returns false when another worker already took it. */
  deleteJob(id: number): boolean;
}

/**
 * The storage port. `write` runs `fn` in a transaction that commits before the promise resolves
 * (accepted means durable). Implementations may group several writes of one event-loop turn into a
 * single commit; each `fn` still succeeds or fails alone.
 */
export interface CallStore extends CallReader {
  write<T>(fn: (tx: CallWriter) => T): Promise<T>;
  /** Called after a commit that scheduled jobs, so the job runner can re-arm its timer. */
  onJobsScheduled(listener: () => void): void;
  /** Called after a commit that appended notifications, so delivery starts at once. */
  onNotificationsAppended(listener: () => void): void;
  close(): void;
}

/** Renders domain values as the `resourceData` Graph puts in commsNotifications (graph/ implements it). */
export interface NotificationRenderer {
  call(call: Call): unknown;
  participants(participants: Participant[]): unknown;
  operation(op: Operation): unknown;
  recording(r: Recording, resourcePath: string): unknown;
}

/** What the domain needs to know about registered apps. */
export interface AppDirectory {
  get(clientId: string): { tenantId: string; displayName: string; callbackUri: string | null } | undefined;
}
