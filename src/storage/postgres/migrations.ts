/**
 * PostgreSQL schema, applied in order at start under an advisory lock (so instances starting together
 * migrate once); `graph_calls_schema` records how far a database has come. The tables mirror SQLite's
 * (sqlite/migrations.ts) column for column, so one set of statements (sql/) serves both; sequence keys
 * are identity columns, times are BIGINT milliseconds, Graph-shaped detail is JSON text in `data`.
 * Keys of the configuration tables use the "C" collation: prefix scans compare bytes, not a locale.
 */
export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    state TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    observed_call_id TEXT
  );
  CREATE INDEX calls_owner ON calls (tenant_id, app_id, created_at);
  CREATE INDEX calls_observed ON calls (observed_call_id) WHERE observed_call_id IS NOT NULL;
  CREATE INDEX calls_recent ON calls (created_at);

  CREATE TABLE participants (
    call_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    left_at BIGINT,
    data TEXT NOT NULL,
    PRIMARY KEY (call_id, id)
  );

  CREATE TABLE operations (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id TEXT NOT NULL,
    id TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE UNIQUE INDEX operations_by_call ON operations (call_id, id);
  CREATE INDEX operations_order ON operations (call_id, seq);

  CREATE TABLE recording_segments (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL,
    call_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    start_operation_id TEXT,
    stop_operation_id TEXT,
    recording_id TEXT
  );
  CREATE INDEX segments_by_call ON recording_segments (call_id, seq);
  CREATE UNIQUE INDEX segments_open ON recording_segments (call_id) WHERE ended_at IS NULL;

  CREATE TABLE outbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    change_type TEXT NOT NULL,
    resource_url TEXT NOT NULL,
    resource_data TEXT NOT NULL,
    callback_uri TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL DEFAULT 0,
    settled_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0
  );
  CREATE INDEX outbox_by_call ON outbox (call_id, seq);
  CREATE INDEX outbox_pending ON outbox (call_id, seq) WHERE state = 'pending';
  CREATE INDEX outbox_pending_due ON outbox (next_attempt_at) WHERE state = 'pending';

  CREATE TABLE delivery_attempts (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_seq BIGINT NOT NULL,
    call_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at BIGINT NOT NULL,
    url TEXT NOT NULL,
    status INTEGER,
    latency_ms DOUBLE PRECISION,
    error TEXT,
    outcome TEXT NOT NULL
  );
  CREATE INDEX attempts_by_call ON delivery_attempts (call_id, seq);
  CREATE INDEX attempts_by_outbox ON delivery_attempts (outbox_seq);

  CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    dead_at BIGINT
  );
  CREATE INDEX jobs_due ON jobs (due_at, id) WHERE dead_at IS NULL;

  CREATE TABLE media_events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_id TEXT NOT NULL,
    participant_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX media_events_by_call ON media_events (call_id, seq);

  CREATE TABLE recordings (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    call_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    meeting_id TEXT,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX recordings_by_call ON recordings (call_id, seq);
  CREATE INDEX recordings_by_meeting ON recordings (meeting_id, seq);
  CREATE TABLE recording_users (
    recording_seq BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role, recording_seq)
  );
  CREATE TABLE recording_content (
    recording_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (recording_id, idx)
  );

  CREATE TABLE request_journal (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    call_id TEXT,
    data TEXT NOT NULL
  );
  CREATE INDEX request_journal_by_call ON request_journal (call_id, seq) WHERE call_id IS NOT NULL;

  CREATE TABLE meta (
    key TEXT COLLATE "C" PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE counters (
    key TEXT COLLATE "C" PRIMARY KEY,
    remaining BIGINT,
    spent BIGINT NOT NULL DEFAULT 0
  );
  CREATE TABLE blobs (
    key TEXT COLLATE "C" PRIMARY KEY,
    data BYTEA NOT NULL
  );
  `,
  // ---- roster control (h-roster): version 2 -------------------------------------------------------
  `
  CREATE TABLE call_items (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL,
    app_id TEXT NOT NULL,
    match_key TEXT NOT NULL,
    resource_kind TEXT NOT NULL,
    scope_key TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
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
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
  );
  -- createOrGet: one meeting per (tenant, organizer, externalId)
  CREATE UNIQUE INDEX online_meetings_external ON online_meetings (tenant_id, organizer_id, external_id) WHERE external_id IS NOT NULL;
  CREATE INDEX online_meetings_join ON online_meetings (tenant_id, join_key);
  CREATE INDEX online_meetings_join_id ON online_meetings (tenant_id, join_meeting_id);

  CREATE TABLE transcripts (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    call_id TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    meeting_id TEXT,
    created_at BIGINT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX transcripts_by_call ON transcripts (call_id, seq);
  CREATE INDEX transcripts_by_meeting ON transcripts (meeting_id, seq);
  CREATE TABLE transcript_users (
    transcript_seq BIGINT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at BIGINT NOT NULL,
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
    lease_until BIGINT NOT NULL
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
  CREATE INDEX attempts_by_outbox_seq ON delivery_attempts (outbox_seq, seq);
  DROP INDEX attempts_by_outbox;
  `,
  // A notification's body apart from its delivery state (issue 11). The state changes at every claim and
  // settle; with the body (the whole roster or call, ~1-3 KB) in the same row each change rewrote it, about
  // three 4 KiB WAL pages per request. Bodies are written once, appended in seq order, deleted with their row.
  `
  CREATE TABLE outbox_bodies (
    seq BIGINT PRIMARY KEY,
    resource_data TEXT NOT NULL
  );
  INSERT INTO outbox_bodies (seq, resource_data) SELECT seq, resource_data FROM outbox;
  ALTER TABLE outbox DROP COLUMN resource_data;
  `,
];
