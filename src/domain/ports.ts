import type { Call, InvitationParticipantInfo, MediaEvent, Recording, DeliveryAttempt, DeliveryState, Job, NewNotification, Operation, OutboxNotification, Participant, RecordingSegment } from './call.js';
import type { JournalEntry } from './journal.js';
import type { CallItemKind, CallItemTypes } from './roster.js';
import type { ArtifactKind, Subscription } from './subscription.js';
import type { OnlineMeeting, Transcript } from './meeting.js';

export type RecordingRole = 'organizer' | 'participant';

/**
 * Reads. Outside a transaction they see only committed state; inside one, the transaction's own view.
 * Every read is asynchronous: an adapter may be a networked database (design.md §5).
 */
export interface CallReader extends SubscriptionReader {
  getCall(id: string): Promise<Call | undefined>;
  /** The most recently created calls, newest first. */
  recentCalls(limit: number): Promise<Call[]>;
  /** Live policy-invite calls that record `callId`. */
  observingCalls(callId: string): Promise<string[]>;
  listParticipants(callId: string, opts?: { includeLeft?: boolean }): Promise<Participant[]>;
  getParticipant(callId: string, id: string): Promise<Participant | undefined>;
  getOperation(callId: string, id: string): Promise<Operation | undefined>;
  /** Keyset page in creation order, after `afterSeq`. Returns at most `limit` rows. */
  listOperations(callId: string, afterSeq: number, limit: number): Promise<Array<Operation & { seq: number }>>;
  listSegments(callId: string): Promise<RecordingSegment[]>;
  /** Closed segments of a call that have no recording yet. */
  unrenderedSegments(callId: string): Promise<RecordingSegment[]>;
  listMediaEvents(callId: string): Promise<MediaEvent[]>;
  getRecording(id: string): Promise<Recording | undefined>;
  /** Whether `userId` is listed on the recording in `role` (organizer of its meeting, or participant of its call). */
  recordingHasUser(recordingId: string, userId: string, role: RecordingRole): Promise<boolean>;
  /** Keyset pages of recordings in creation order, one query per way Graph lists them. */
  recordingsByMeeting(meetingId: string, afterSeq: number, limit: number): Promise<Array<Recording & { seq: number }>>;
  recordingsByCall(callId: string, afterSeq: number, limit: number): Promise<Array<Recording & { seq: number }>>;
  /** Recordings listing `userId` in `role`, created within [from, to]. */
  recordingsByUser(f: { userId: string; role: RecordingRole; from: number; to: number; afterSeq: number; limit: number }): Promise<Array<Recording & { seq: number }>>;
  listOutbox(filter: { callId?: string; afterSeq?: number; limit: number }): Promise<OutboxNotification[]>;
  /**
   * Earliest next attempt after `after` among the calls' head notifications, or null. Heads already due
   * are claimed, in flight or waiting for a free slot; each of those wakes the workers when it settles.
   */
  nextDeliveryDue(after: number): Promise<number | null>;
  /** The call's next pending notification after `seq`, if any. */
  nextPendingAfter(callId: string, seq: number): Promise<OutboxNotification | undefined>;
  /** How many attempts of notification `seq` ended redirected. */
  countRedirects(seq: number): Promise<number>;
  /** Oldest first after `afterSeq`; with `newestFirst`, newest first before `beforeSeq` (the CLI's `journal`). */
  listDeliveryAttempts(filter: { callId?: string; afterSeq?: number; limit: number; newestFirst?: boolean; beforeSeq?: number }): Promise<DeliveryAttempt[]>;
  /**
   * Earliest due time among live jobs (not dead-lettered, not leased at real time `leaseNow`, default
   * now), or null when there is none. A claim that expires is found by the runners' poll.
   */
  nextJobDue(leaseNow?: number): Promise<number | null>;
  /** Jobs that failed too often to retry (newest first), for the control plane. */
  deadJobs(limit: number): Promise<Array<Job & { attempts: number; lastError: string | null }>>;
  /** The request journal, oldest first after `afterSeq`, or newest first with `newestFirst`. */
  listJournal(f: { callId?: string; afterSeq?: number; limit: number; newestFirst?: boolean }): Promise<JournalEntry[]>;
  /** A call's items of one kind (audio routing groups, content-sharing sessions, pending invitations) in creation order. */
  listCallItems<K extends CallItemKind>(callId: string, kind: K): Promise<Array<CallItemTypes[K]>>;
  /** One call item; ids compare exactly (callers normalise GUIDs; audio routing group ids are the client's). */
  getCallItem<K extends CallItemKind>(callId: string, kind: K, id: string): Promise<CallItemTypes[K] | undefined>;

  // ---- online meetings and transcripts (meetings/, transcripts/) ----
  getOnlineMeeting(id: string): Promise<OnlineMeeting | undefined>;
  onlineMeetingByExternalId(tenantId: string, organizerId: string, externalId: string): Promise<OnlineMeeting | undefined>;
  /** Meetings of a tenant whose join URL has this key (meetings/join-url.ts joinUrlKey). */
  onlineMeetingsByJoinKey(tenantId: string, joinKey: string): Promise<OnlineMeeting[]>;
  onlineMeetingsByJoinMeetingId(tenantId: string, joinMeetingId: string): Promise<OnlineMeeting[]>;
  getTranscript(id: string): Promise<Transcript | undefined>;
  transcriptHasUser(transcriptId: string, userId: string, role: RecordingRole): Promise<boolean>;
  /** Keyset pages in creation order, as for recordings. */
  transcriptsByMeeting(meetingId: string, afterSeq: number, limit: number): Promise<Array<Transcript & { seq: number }>>;
  transcriptsByCall(callId: string, afterSeq: number, limit: number): Promise<Array<Transcript & { seq: number }>>;
  transcriptsByUser(f: { userId: string; role: RecordingRole; from: number; to: number; afterSeq: number; limit: number }): Promise<Array<Transcript & { seq: number }>>;
}

/** A claim on work: held by `owner` until `until` (real time, ms since the epoch). */
export interface Lease {
  owner: string;
  until: number;
  /** Real time now: leases that ended before it are free to take over. */
  now: number;
}

/**
 * The writes a transaction may do. The object is valid only while its transaction runs: any use after
 * the transaction ended throws, so a write can never escape it after an `await` (design.md §5).
 */
export interface CallWriter extends CallReader, SubscriptionWriter, RetentionWriter {
  insertCall(call: Call): Promise<void>;
  /** Writes `call` if the stored version is still `call.version`, then bumps it; else CONCURRENT_UPDATE. */
  updateCall(call: Call): Promise<Call>;
  upsertParticipant(p: Participant): Promise<void>;
  insertOperation(op: Operation): Promise<void>;
  updateOperation(op: Operation): Promise<void>;
  openSegment(s: RecordingSegment): Promise<void>;
  closeSegment(callId: string, endedAt: number, stopOperationId: string | null): Promise<void>;
  appendMediaEvent(e: MediaEvent): Promise<void>;
  /** Stores a recording with its bytes, the users it can be listed by, and marks its segment rendered. */
  insertRecording(r: Recording, users: Array<{ userId: string; role: RecordingRole }>, content: Buffer): Promise<void>;
  /** Forgets every call and everything about them, and the subscriptions (keys, apps, policies, faults and media stay). */
  clearCalls(): Promise<void>;

  appendOutbox(n: NewNotification): Promise<void>;
  /**
   * Claims up to `limit` calls' head notifications that are due at `now` (the call clock) and not
   * leased by anyone else: one notification per call at a time, so per-call order holds across
   * instances. Oldest first. With `callIds`, only those calls' heads are looked at (a wake-up named them).
   */
  claimDeliveries(now: number, limit: number, lease: Lease, callIds?: readonly string[]): Promise<OutboxNotification[]>;
  recordDeliveryAttempt(a: Omit<DeliveryAttempt, 'seq'>): Promise<void>;
  /**
   * Marks a notification delivered or dead (and frees its lease). With `claimNext`, the same transaction
   * also claims that call's new head if it is due and free, and returns it: a worker keeps a busy call's
   * notifications flowing without a claim over every call's heads. Without it (or when there is no such
   * head) the commit wakes the workers, as any change to the outbox does.
   */
  settleNotification(seq: number, state: Exclude<DeliveryState, 'pending'>, at: number, claimNext?: { callId: string; now: number; lease: Lease }): Promise<OutboxNotification | null>;
  /** Keeps a notification pending with its attempt count and next attempt time (and frees its lease). */
  retryNotification(seq: number, attempts: number, nextAttemptAt: number): Promise<void>;
  /** A redirect re-homes every pending notification of the call to `callbackUri`. */
  rehomeNotifications(callId: string, callbackUri: string): Promise<void>;

  scheduleJob(job: Omit<Job, 'id'>): Promise<void>;
  /** Claims up to `limit` jobs due at `now` (the call clock) that no live lease holds. */
  claimJobs(now: number, limit: number, lease: Lease): Promise<Job[]>;
  /** Returns false when the job is gone (it ran already). */
  deleteJob(id: number): Promise<boolean>;
  /** Keeps this owner's leases on the given notifications (seq) and jobs (id) alive while their work runs. */
  extendLeases(lease: Lease, work: { deliveries?: number[]; jobs?: number[] }): Promise<void>;
  /** A job threw: retry at `retryAt` (and free its lease), or with `retryAt` null, dead-letter it. */
  failJob(id: number, error: string, retryAt: number | null): Promise<void>;

  appendJournal(entries: Array<Omit<JournalEntry, 'seq'>>, keep: number): Promise<void>;

  /** Inserts or replaces a call item (an update keeps its place in creation order). */
  putCallItem<K extends CallItemKind>(kind: K, item: CallItemTypes[K]): Promise<void>;
  /** Returns false when there was no such item. */
  deleteCallItem(callId: string, kind: CallItemKind, id: string): Promise<boolean>;
  // ---- online meetings and transcripts ----
  /** False (and nothing written) when the tenant's organizer already has a meeting with this externalId. */
  insertOnlineMeeting(m: OnlineMeeting): Promise<boolean>;
  updateOnlineMeeting(m: OnlineMeeting): Promise<void>;
  /** Stores a transcript and the users it can be listed by. */
  insertTranscript(t: Transcript, users: Array<{ userId: string; role: RecordingRole }>): Promise<void>;
}

/**
 * Cleanup of history past `--retention` (retention/retention-sweeper.ts): each batch is one short
 * transaction that first claims the sweep's lease, then deletes at most `limit` of something, oldest first.
 */
export interface RetentionWriter {
  /**
   * Claims (or, by its holder, renews) the sweep's lease, so one instance sweeps at a time on a shared
   * database: false while another owner's lease lasts. Leases are real time, as for deliveries and jobs.
   */
  claimSweep(lease: Lease): Promise<boolean>;
  /** Ends `owner`'s lease on the sweep, so another instance may sweep at once. */
  releaseSweep(owner: string): Promise<void>;
  /**
   * Deletes up to `limit` terminated calls whose last change (their end) is at or before `endedBy` on the
   * call clock, with every row that belongs to them: participants, operations, call items, segments, the
   * media timeline, recordings with their bytes and users, transcripts, the outbox and its attempts, jobs,
   * recorded responses and the request journal's entries. A call with a pending or leased notification or a
   * job not yet dead is kept. Returns the ids deleted.
   */
  deleteEndedCalls(endedBy: number, limit: number): Promise<string[]>;
  /** Of the oldest `limit` delivery attempts, deletes those made at or before `before` (call clock). */
  trimDeliveryAttempts(before: number, limit: number): Promise<number>;
  /** Of the oldest `limit` request-journal entries, deletes those written at or before `before` (real time, as they are stamped). */
  trimJournal(before: number, limit: number): Promise<number>;
  /** Deletes up to `limit` change and lifecycle notifications (subscription lanes) settled at or before `before`. */
  trimSettledLanes(before: number, limit: number): Promise<number>;
}

/**
 * The storage port. `write` runs `fn` in a transaction that commits before the promise resolves
 * (accepted means durable). Adapters may group several writes into one commit (SQLite) or retry a
 * transaction that lost a lock race (PostgreSQL); each `fn` still succeeds or fails alone, and runs
 * again only when nothing it wrote was committed.
 */
export interface CallStore extends CallReader {
  write<T>(fn: (tx: CallWriter) => Promise<T>): Promise<T>;
  /** The recording's bytes from `start` to `end` inclusive, in pieces. */
  readRecordingContent(recordingId: string, start: number, end: number): AsyncIterable<Buffer>;
  close(): Promise<void>;
}

/** What the config/key-value store keeps: shared by every instance on the same database. */
export interface ConfigStore {
  getValue(key: string): Promise<string | undefined>;
  setValue(key: string, value: string): Promise<void>;
  /** Stores `value` unless the key exists; returns what is stored (so racing instances agree). */
  setValueIfAbsent(key: string, value: string): Promise<string>;
  deleteValue(key: string): Promise<void>;
  /** Values whose key starts with `prefix`, in key order. */
  listValues(prefix: string): Promise<Array<{ key: string; value: string }>>;
  /**
   * Spends one use of a counted value (`remaining` null = unlimited), atomically across instances.
   * Returns false when none is left or the key is unknown.
   */
  spend(key: string): Promise<boolean>;
  /** Sets the counter `spend` uses. */
  setCounter(key: string, remaining: number | null): Promise<void>;
  /** How often `spend` succeeded for each counter under `prefix`, and what is left. */
  counters(prefix: string): Promise<Map<string, { remaining: number | null; spent: number }>>;
  putBlob(key: string, bytes: Buffer): Promise<void>;
  getBlob(key: string): Promise<Buffer | undefined>;
}

/** Topics of commit wake-ups. `config` carries the key that changed. */
export type WakeTopic = 'outbox' | 'jobs' | 'config';

/**
 * Commit wake-ups: in-process on SQLite, LISTEN/NOTIFY on PostgreSQL, so work one instance commits is
 * picked up by every instance without a polling delay.
 */
export interface Wakeups {
  /**
   * `detail` for `outbox`: the ids of the calls whose outbox the commit changed, space-separated, when the
   * engine knows them all (SQLite, in process); '' means any call may have work (PostgreSQL's NOTIFY).
   */
  on(topic: WakeTopic, listener: (detail: string) => void): void;
  /** Announces a change already committed (config changes; outbox/jobs are announced by `write`). */
  publish(topic: WakeTopic, detail: string): Promise<void>;
}

/** A storage engine: everything storage/ gives the rest of graph-calls. */
export interface Storage {
  calls: CallStore;
  config: ConfigStore;
  wakeups: Wakeups;
  /** 'sqlite' | 'postgres': for diagnostics only; nothing outside storage/ branches on it. */
  engine: string;
  /** Whether other processes may share this database (PostgreSQL). */
  shared: boolean;
  /** Records where this instance listens (named when another process is refused the data directory). */
  announce(url: string): void;
  close(): Promise<void>;
}

/**
 * What the bot's commands tell the far side of Teams. simulator/ implements it; the domain depends on
 * this port only, never on the simulator.
 */
export interface FarSidePort {
  /** How long the callee takes to answer, or the meeting to admit the bot. */
  answerDelayMs(call: Call): number;
  /** A compliance-recording invite was refused or missed: a required recorder ends the user's call. */
  recorderRefused(tx: CallWriter, invite: Call): Promise<void>;
  /** An outgoing call starts ringing its target (or knocking on its meeting): the far side schedules its answer. */
  ring(tx: CallWriter, call: Call): Promise<void>;
  /**
   * How an invited participant answers (participants/invite): when, and the decision to carry in the
   * `answerInvite` job — the same far-side behaviours outgoing calls and transfers use.
   */
  inviteAnswer(invitee: InvitationParticipantInfo): { afterMs: number; payload: Record<string, string> };
  /** A transfer started (state transferring): the far side schedules how its target answers. */
  ringTransferTarget(tx: CallWriter, call: Call): Promise<void>;
}

/** Renders domain values as the `resourceData` Graph puts in commsNotifications (graph/ implements it). */
export interface NotificationRenderer {
  call(call: Call): unknown;
  /** `call`: the call they belong to, whose Graph version the notification is rendered in. */
  participants(participants: Participant[], call?: Call): unknown;
  operation(op: Operation, call?: Call): unknown;
  recording(r: Recording, resourcePath: string): unknown;
}

/** What the domain needs to know about registered apps. */
export interface AppDirectory {
  get(clientId: string): { tenantId: string; displayName: string; callbackUri: string | null } | undefined;
}

/**
 * Change-notification subscriptions (src/subscriptions/). Part of the call store's transactions, so a
 * recording, the change notifications announcing it and their outbox rows commit together.
 */
export interface SubscriptionReader {
  getSubscription(id: string): Promise<Subscription | undefined>;
  /** The app's subscriptions in the tenant that have not expired at `now`, keyset-paged in creation order. */
  listSubscriptions(f: { tenantId: string; appId: string; now: number; afterSeq: number; limit: number }): Promise<Array<Subscription & { seq: number }>>;
  /** The app's live subscription on the same (normalised) resource, if any: Graph's duplicate rule. */
  findSubscription(f: { tenantId: string; appId: string; matchKey: string; now: number }): Promise<Subscription | undefined>;
  /** Live subscriptions of the tenant on `resourceKind` whose scope key is one of `scopeKeys`, oldest first. */
  subscriptionsFor(f: { tenantId: string; resourceKind: ArtifactKind; scopeKeys: readonly string[]; now: number }): Promise<Subscription[]>;
}

export interface SubscriptionWriter extends SubscriptionReader {
  /**
   * Stores a new subscription, replacing an expired one of the same app on the same resource (live at
   * `s.createdAt`). A live duplicate fails the transaction (the unique rule holds across instances).
   */
  insertSubscription(s: Subscription): Promise<void>;
  updateSubscription(s: Subscription): Promise<void>;
  /** Returns false when it was gone already. */
  deleteSubscription(id: string): Promise<boolean>;
}
