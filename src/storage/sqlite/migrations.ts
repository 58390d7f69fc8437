/**
 * SQLite schema, applied in order; `user_version` records how far a database has come.
 * Rows keep their Graph-shaped detail as JSON in `data`; columns exist only for what is looked up or
 * ordered by, so every hot lookup is by an indexed key. Sequence keys are plain INTEGER PRIMARY KEYs
 * (rowids, never deleted from the tail) rather than random GUIDs, so inserts append to the b-tree's last
 * page instead of dirtying a random page each: fewer pages per commit.
 */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX calls_owner ON calls (tenant_id, app_id, created_at);

  CREATE TABLE participants (
    call_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    left_at INTEGER,
    data TEXT NOT NULL,
    PRIMARY KEY (call_id, id)
  );

  CREATE TABLE operations (
    seq INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX operations_by_call ON operations (call_id, id);
  CREATE INDEX operations_order ON operations (call_id, seq);

  CREATE TABLE recording_segments (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    start_operation_id TEXT,
    stop_operation_id TEXT
  );
  CREATE INDEX segments_by_call ON recording_segments (call_id, seq);
  -- closing a segment touches only the open one, however many the call has had
  CREATE UNIQUE INDEX segments_open ON recording_segments (call_id) WHERE ended_at IS NULL;

  CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    change_type TEXT NOT NULL,
    resource_url TEXT NOT NULL,
    resource_data TEXT NOT NULL,
    callback_uri TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX outbox_by_call ON outbox (call_id, seq);

  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    payload TEXT NOT NULL
  );
  CREATE INDEX jobs_due ON jobs (due_at);

  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  `,
  `
  -- Delivery state of each notification (notifications/delivery.worker.ts).
  ALTER TABLE outbox ADD COLUMN message_id TEXT NOT NULL DEFAULT '';
  ALTER TABLE outbox ADD COLUMN state TEXT NOT NULL DEFAULT 'pending';
  ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE outbox ADD COLUMN settled_at INTEGER;
  CREATE INDEX outbox_pending ON outbox (call_id, seq) WHERE state = 'pending';
  CREATE INDEX outbox_pending_due ON outbox (next_attempt_at) WHERE state = 'pending';

  -- The delivery journal: one row per attempt.
  CREATE TABLE delivery_attempts (
    seq INTEGER PRIMARY KEY,
    outbox_seq INTEGER NOT NULL,
    call_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    latency_ms REAL,
    error TEXT,
    outcome TEXT NOT NULL
  );
  CREATE INDEX attempts_by_call ON delivery_attempts (call_id, seq);
  `,
  `
  -- Policy invites point at the user's call they record, so ending that call ends them too.
  ALTER TABLE calls ADD COLUMN observed_call_id TEXT;
  CREATE INDEX calls_observed ON calls (observed_call_id) WHERE observed_call_id IS NOT NULL;
  `,
  `
  -- What each participant sent, over time: the media timeline recordings are rendered from.
  CREATE TABLE media_events (
    seq INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX media_events_by_call ON media_events (call_id, seq);

  -- Finished recordings (callRecording resources) and the users they can be listed by.
  ALTER TABLE recording_segments ADD COLUMN recording_id TEXT;
  CREATE TABLE recordings (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    call_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    meeting_id TEXT,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX recordings_by_call ON recordings (call_id, seq);
  CREATE INDEX recordings_by_meeting ON recordings (meeting_id, seq);
  CREATE TABLE recording_users (
    recording_seq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role, recording_seq)
  );
  `,
  `
  -- The dashboard lists recent calls.
  CREATE INDEX calls_recent ON calls (created_at);
  `,
  `
  -- Several workers (and, on PostgreSQL, several instances) claim work with a lease (design.md §5).
  ALTER TABLE outbox ADD COLUMN lease_owner TEXT;
  ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN lease_owner TEXT;
  ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
  -- A job that throws is retried with backoff, then dead-lettered (kept for inspection, never run again).
  ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN last_error TEXT;
  ALTER TABLE jobs ADD COLUMN dead_at INTEGER;
  DROP INDEX jobs_due;
  CREATE INDEX jobs_due ON jobs (due_at, id) WHERE dead_at IS NULL;

  CREATE INDEX attempts_by_outbox ON delivery_attempts (outbox_seq);

  -- Recording bytes live in the database, in pieces, so any instance serves them.
  CREATE TABLE recording_content (
    recording_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (recording_id, idx)
  );

  -- The request journal, bounded by count (the newest entries are kept).
  CREATE TABLE request_journal (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    call_id TEXT,
    data TEXT NOT NULL
  );
  CREATE INDEX request_journal_by_call ON request_journal (call_id, seq) WHERE call_id IS NOT NULL;

  -- Counted configuration (fault rules that fire N times) and binary configuration (the media library).
  CREATE TABLE counters (
    key TEXT PRIMARY KEY,
    remaining INTEGER,
    spent INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE blobs (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL
  );
  `,
  // ---- roster control (h-roster): version 7 -------------------------------------------------------
  `
  -- What a call holds besides roster and operations: audio routing groups, content-sharing sessions,
  -- invitations not answered yet (domain/roster.ts). One table, keyed by call, kind and id.
  CREATE TABLE call_items (
    seq INTEGER PRIMARY KEY,
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX call_items_key ON call_items (call_id, kind, id);
  CREATE INDEX call_items_order ON call_items (call_id, kind, seq);
  `,
  // ==== h-subs (issue 10 items 1-2): change-notification subscriptions, and the outbox rows that carry
  // their notifications (kind 'change' / 'lifecycle'). Kept as one self-contained migration. ====
  `
  CREATE TABLE subscriptions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    match_key TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX subscriptions_owner ON subscriptions (tenant_id, app_id, seq);
  -- Graph's duplicate rule, held by the database so two instances racing through the handshake cannot both win.
  CREATE UNIQUE INDEX subscriptions_unique ON subscriptions (tenant_id, app_id, match_key);
  CREATE INDEX subscriptions_match ON subscriptions (tenant_id, resource_kind, scope_key);
  ALTER TABLE outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'call';
  `,
  // ==== end h-subs ====
  // h-meet: online meetings and transcripts (keep this block whole when merging).
  `
  -- ==== h-meet: online meetings and transcripts (meetings/, transcripts/) ====
  CREATE TABLE online_meetings (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    organizer_id TEXT NOT NULL,
    external_id TEXT,
    join_key TEXT NOT NULL,
    join_meeting_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  -- createOrGet: one meeting per (tenant, organizer, externalId)
  CREATE UNIQUE INDEX online_meetings_external ON online_meetings (tenant_id, organizer_id, external_id) WHERE external_id IS NOT NULL;
  CREATE INDEX online_meetings_join ON online_meetings (tenant_id, join_key);
  CREATE INDEX online_meetings_join_id ON online_meetings (tenant_id, join_meeting_id);

  CREATE TABLE transcripts (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    call_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    meeting_id TEXT,
    created_at INTEGER NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX transcripts_by_call ON transcripts (call_id, seq);
  CREATE INDEX transcripts_by_meeting ON transcripts (meeting_id, seq);
  CREATE TABLE transcript_users (
    transcript_seq INTEGER NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, role, transcript_seq)
  );
  -- ==== end h-meet ====
  `,
  // Hot path stays flat in a call's history (issue 11): a render looks up its call's unrendered segments
  // through this partial index instead of every segment the call ever had.
  `
  CREATE INDEX segments_unrendered ON recording_segments (call_id, seq) WHERE recording_id IS NULL;
  `,
  // ==== h2-retention (issue 11 item 4): what the background cleanup of --retention looks rows up by ====
  `
  -- Ended calls in the order they ended (a terminated call's last change is its end): the sweep reads the
  -- oldest first, so finding what expired costs what expired, not the history. Active calls are not in it.
  CREATE INDEX calls_ended ON calls (updated_at) WHERE state = 'terminated';
  -- A call with a live job is kept until the job ran or went dead; its jobs go with it.
  CREATE INDEX jobs_by_call ON jobs (call_id);
  -- The users a recording or transcript is listed by go with it.
  CREATE INDEX recording_users_by_recording ON recording_users (recording_seq);
  CREATE INDEX transcript_users_by_transcript ON transcript_users (transcript_seq);
  -- Settled change and lifecycle notifications (subscription lanes, not a call's) in the order they settled.
  CREATE INDEX outbox_lanes_settled ON outbox (settled_at) WHERE kind != 'call' AND state != 'pending';
  -- Work that one instance does at a time for all of them (the sweep), claimed with a lease as deliveries and jobs are.
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    lease_owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL
  );
  `,
  // ==== end h2-retention ====
  // Fewer call-keyed indexes on the hot path (issue 11). Each index keyed by call id takes a different leaf
  // page for nearly every call in a commit, about one 4 KiB WAL page per request each (measured). An
  // operation is found by its id (time-ordered, shared/ids.ts: new ids land on the index's last pages), the
  // call checked on the row; a call's delivery attempts are found through its outbox rows (a call's attempts
  // follow its outbox order, one head at a time: notifications/delivery.worker.ts).
  `
  DROP INDEX operations_by_call;
  CREATE UNIQUE INDEX operations_by_id ON operations (id, call_id);
  DROP INDEX attempts_by_call;
  `,
  // A notification's body apart from its delivery state (issue 11). The state changes at every claim and
  // settle; with the body (the whole roster or call, ~1-3 KB) in the same row each change rewrote it, about
  // three 4 KiB WAL pages per request. Bodies are written once, appended in seq order, deleted with their row.
  `
  CREATE TABLE outbox_bodies (
    seq INTEGER PRIMARY KEY,
    resource_data TEXT NOT NULL
  );
  INSERT INTO outbox_bodies (seq, resource_data) SELECT seq, resource_data FROM outbox;
  ALTER TABLE outbox DROP COLUMN resource_data;
  `,
];
