import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { compose } from '../../src/compose.js';
import { DEV_APP, p2pCallBody, poolSigningKey, tempDataDir, testConfig, waitFor, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { fakeSpeech } from '../pipeline/pipeline-support.js';
import { RetentionSweeper } from '../../src/retention/retention-sweeper.js';
import { PostgresEngine } from '../../src/storage/postgres/engine.js';
import { newCall, newParticipant } from '../support/factories.js';

/**
 * --retention end to end, on both engines, on the virtual clock: ended calls past the retention are gone
 * with every row of every table that belongs to them (counted through SQL, table by table, so a table
 * added later without a place in the sweep fails here), while active calls, recently ended calls and
 * calls whose notifications are still pending keep every row; and the sweep ran in several batches.
 */

const DAY = 86_400_000;
const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
const BATCH = 2;

/** Counts rows through the engine's own SQL, on a connection of the test's. */
interface Sql {
  /** Tables with a call_id column, and every table in the schema. */
  tables(): Promise<{ keyed: string[]; all: string[] }>;
  count(sql: string, params: unknown[]): Promise<number>;
  close(): Promise<void>;
}

function sqliteCounter(file: string): Sql {
  const db = new Database(file, { readonly: true });
  return {
    async tables() {
      const all = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
      const keyed = all.filter((t) => (db.prepare(`PRAGMA table_info(${t})`).all() as Array<{ name: string }>).some((c) => c.name === 'call_id'));
      return { keyed, all };
    },
    async count(sql, params) {
      return Number((db.prepare(sql.replace(/\$\d+/g, '?')).get(...params) as { n: number }).n);
    },
    async close() { db.close(); },
  };
}

async function pgCounter(url: string): Promise<Sql> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return {
    async tables() {
      const all = (await c.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1")).rows.map((r) => r.t);
      const keyed = (await c.query<{ t: string }>("SELECT table_name AS t FROM information_schema.columns WHERE table_schema = 'public' AND column_name = 'call_id' ORDER BY 1")).rows.map((r) => r.t);
      return { keyed, all };
    },
    async count(sql, params) {
      return Number((await c.query(sql, params)).rows[0].n);
    },
    async close() { await c.end(); },
  };
}

/** Every row that belongs to call `id`, per table: by call_id, and through its recordings, transcripts and operations. */
async function rowsOf(sql: Sql, id: string): Promise<Record<string, number>> {
  const { keyed } = await sql.tables();
  const out: Record<string, number> = { calls: await sql.count('SELECT COUNT(*) AS n FROM calls WHERE id = $1', [id]) };
  for (const t of keyed) out[t] = await sql.count(`SELECT COUNT(*) AS n FROM ${t} WHERE call_id = $1`, [id]);
  out.recording_users = await sql.count('SELECT COUNT(*) AS n FROM recording_users WHERE recording_seq IN (SELECT seq FROM recordings WHERE call_id = $1)', [id]);
  out.recording_content = await sql.count('SELECT COUNT(*) AS n FROM recording_content WHERE recording_id IN (SELECT id FROM recordings WHERE call_id = $1)', [id]);
  out.transcript_users = await sql.count('SELECT COUNT(*) AS n FROM transcript_users WHERE transcript_seq IN (SELECT seq FROM transcripts WHERE call_id = $1)', [id]);
  return out;
}

const total = (rows: Record<string, number>) => Object.values(rows).reduce((a, b) => a + b, 0);

for (const engine of ['sqlite', 'postgres'] as const) describe(`--retention on the virtual clock (${engine})`, () => {
  let h: Harness;
  let db: TestDatabase | null = null;
  let data: ReturnType<typeof tempDataDir> | null = null;
  let sql: Sql;
  let bot: Server;
  let botUrl: string;

  before(async () => {
    // The bot answers every notification at once, so ended calls have nothing pending.
    bot = createServer((req, res) => { req.resume(); req.on('end', () => res.writeHead(202).end()); });
    await new Promise<void>((r) => bot.listen(0, '127.0.0.1', r));
    botUrl = `http://127.0.0.1:${(bot.address() as AddressInfo).port}/callback`;
    db = engine === 'postgres' ? await createTestDatabase() : null;
    data = engine === 'sqlite' ? tempDataDir() : null;
    const comp = await compose(testConfig({
      clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500, retentionBatch: BATCH,
      ...(db ? { db: db.url } : { inMemory: false, dataDir: data!.dir }),
      // Calls without keepAlive end after three days (their expiry job holds an ended call until it ran);
      // a failed delivery waits a month to retry.
      keepAliveTimeoutMs: 3 * DAY, deliveryRetryBaseMs: 30 * DAY, deliveryRetryMaxMs: 30 * DAY,
    }), { speech: fakeSpeech, newSigningKey: poolSigningKey });
    comp.start();
    const { accessToken } = await comp.tokens.issue(DEV_APP);
    h = { comp, token: accessToken, auth: `Bearer ${accessToken}`, close: () => comp.close() };
    sql = db ? await pgCounter(db.url) : sqliteCounter(join(data!.dir, 'graph-calls.db'));
  });
  after(async () => {
    await sql?.close();
    await h?.close();
    await db?.drop();
    data?.cleanup();
    await new Promise((r) => bot.close(r));
  });

  const advance = async (ms: number) => assert.equal((await call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false })).status, 200);
  const pendingOf = (id: string) => sql.count("SELECT COUNT(*) AS n FROM outbox WHERE call_id = $1 AND state = 'pending'", [id]);
  const liveJobsOf = (id: string) => sql.count('SELECT COUNT(*) AS n FROM jobs WHERE call_id = $1 AND dead_at IS NULL', [id]);

  async function established(callbackUri: string): Promise<string> {
    const created = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody({ callbackUri }) });
    assert.equal(created.status, 201, created.raw);
    await advance(1000);
    assert.equal((await h.comp.store.getCall(created.body.id))?.state, 'established');
    return created.body.id as string;
  }

  async function hangUp(ids: string[]): Promise<void> {
    for (const id of ids) assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${id}`)).status, 204);
    await advance(2000);
    for (const id of ids) assert.equal((await h.comp.store.getCall(id))?.state, 'terminated');
  }

  /** Deliveries run in real time: waits until the calls have no notification pending. */
  const delivered = (ids: string[]) => waitFor(async () => {
    for (const id of ids) if ((await pendingOf(id)) > 0) return false;
    return true;
  }, 'deliveries of the calls', 10_000);

  test('ended calls past the retention are deleted with every row, in several batches; active, recent and busy calls keep theirs', async () => {
    // Day 0: a recorded call with a joined participant, and four more calls; all end. One more ends whose
    // bot is down: its notifications wait for a retry a month away.
    const old = await established(botUrl);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${old}/startRecording`)).status, 202);
    await advance(600);
    const carol = await call(h, 'POST', `/_emulator/calls/${old}/participants`, { body: { displayName: 'Carol' }, auth: false });
    assert.equal(carol.status, 201, carol.raw);
    const tone = await call(h, 'POST', `/_emulator/calls/${old}/participants/${carol.body.id}/audio`, { body: { type: 'tone', frequencyHz: 440 }, auth: false });
    assert.equal(tone.status, 200, tone.raw);
    const sharing = await call(h, 'POST', `/_emulator/calls/${old}/contentSharingSessions`, { body: { participantId: carol.body.id }, auth: false });
    assert.equal(sharing.status, 201, sharing.raw);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${old}/stopRecording`)).status, 202);
    await advance(600);
    const more = [await established(botUrl), await established(botUrl), await established(botUrl), await established(botUrl)];
    const expired = [old, ...more];
    await hangUp(expired);
    await delivered(expired);
    const pending = await established('http://127.0.0.1:9/callback');
    await hangUp([pending]);
    await waitFor(async () => (await h.comp.store.listDeliveryAttempts({ callId: pending, limit: 1 })).length > 0, 'a failed delivery attempt');
    assert.ok((await pendingOf(pending)) > 0, 'its notifications are pending');

    // Day 6: one call ends, two stay up.
    await advance(6 * DAY);
    const recent = await established(botUrl);
    await hangUp([recent]);
    const active = [await established(botUrl), await established(botUrl)];
    await delivered([recent, ...active]);
    for (const id of expired) assert.equal(await liveJobsOf(id), 0, 'the keep-alive expiry of the day-0 calls has run');
    assert.ok((await liveJobsOf(recent)) > 0, 'the recent call still has its keep-alive expiry to run');

    const oldRows = await rowsOf(sql, old);
    for (const t of ['calls', 'call_items', 'participants', 'operations', 'recording_segments', 'media_events', 'recordings', 'recording_users', 'recording_content', 'outbox', 'delivery_attempts']) {
      assert.ok(oldRows[t]! > 0, `the recorded call has rows in ${t} before the sweep: ${JSON.stringify(oldRows)}`);
    }
    const recording = (await h.comp.store.recordingsByCall(old, 0, 10))[0]!;
    const recordings = await call(h, 'GET', `/v1.0/users/${ALICE}/adhocCalls/${old}/recordings`);
    assert.deepEqual(recordings.body.value.map((r: { id: string }) => r.id), [recording.id], recordings.raw);
    assert.equal((await call(h, 'GET', `/_emulator/calls/${old}/timeline`, { auth: false })).status, 200);
    await h.comp.journal.flush();
    assert.ok((await rowsOf(sql, old)).request_journal! > 0, 'its requests are journalled');
    const kept = [recent, ...active, pending];
    const keptBefore = await Promise.all(kept.map((id) => rowsOf(sql, id)));
    const sweptBefore = { ...h.comp.retention.totals };

    // Day 7 and an hour: the day-0 calls are past the retention, the day-6 call is not. The advance
    // returns once the sweep it started is done.
    await advance(DAY + 3_600_000);

    for (const id of expired) {
      const rows = await rowsOf(sql, id);
      assert.equal(total(rows), 0, `no row of ${id === old ? 'the recorded call' : 'an expired call'} is left: ${JSON.stringify(rows)}`);
    }
    assert.equal(await sql.count('SELECT COUNT(*) AS n FROM recording_content WHERE recording_id = $1', [recording.id]), 0);
    for (const [i, id] of kept.entries()) {
      // Journals are trimmed by age whatever call they are of: the busy call's day-0 attempt was a week old.
      const { request_journal: _, delivery_attempts: attempts, ...now } = await rowsOf(sql, id);
      const { request_journal: __, delivery_attempts: attemptsBefore, ...then } = keptBefore[i]!;
      assert.deepEqual(now, then, `call ${i} is untouched`);
      assert.equal(attempts, id === pending ? 0 : attemptsBefore, `call ${i}: delivery attempts older than the retention are trimmed, newer ones kept`);
      assert.ok(await h.comp.store.getCall(id), 'kept');
    }
    const swept = h.comp.retention.totals;
    assert.equal(swept.calls - sweptBefore.calls, expired.length);
    assert.ok(swept.callBatches - sweptBefore.callBatches >= Math.ceil(expired.length / BATCH), `${expired.length} calls in batches of ${BATCH}: ${JSON.stringify(swept)}`);

    // What a client sees: the call and its recording are gone.
    const got = await call(h, 'GET', `/beta/communications/calls/${old}`);
    assert.equal(got.status, 404, got.raw);
    assert.equal(got.body.error.code, '8522');
    assert.deepEqual((await call(h, 'GET', `/v1.0/users/${ALICE}/adhocCalls/${old}/recordings`)).body.value, []);
    assert.equal((await call(h, 'GET', `/v1.0/users/${ALICE}/adhocCalls/${old}/recordings/${recording.id}/content`)).status, 404);
    assert.equal((await call(h, 'GET', `/_emulator/calls/${old}/timeline`, { auth: false })).status, 404);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${active[0]}`)).body.state, 'established');

    // A second sweep finds nothing more to do; the recent call goes once its own week has passed. The
    // active calls ended on day 9 (no keepAlive), so they stay; the busy call still waits.
    assert.equal((await h.comp.retention.sweep()).calls, 0);
    await advance(7 * DAY);
    assert.equal(total(await rowsOf(sql, recent)), 0);
    for (const id of active) assert.equal((await h.comp.store.getCall(id))?.state, 'terminated');
    assert.ok(await h.comp.store.getCall(pending), 'still waiting for its notifications');
  });
});

describe('--retention with two instances on one PostgreSQL database', () => {
  test('sweeping at the same time, one holds the lease for its whole sweep and deletes every expired call once; the other waits', async () => {
    const db = await createTestDatabase();
    const [a, b] = [await PostgresEngine.open({ url: db.url, poolSize: 4 }), await PostgresEngine.open({ url: db.url, poolSize: 4 })];
    try {
      const now = 400 * DAY;
      const calls = Array.from({ length: 60 }, (_, i) => newCall({ state: 'terminated', updatedAt: DAY + i }));
      const live = newCall({ state: 'established', updatedAt: DAY });
      await a.calls.write(async (tx) => {
        for (const c of [...calls, live]) {
          await tx.insertCall(c);
          await tx.upsertParticipant(newParticipant(c.id));
        }
      });
      const sweeper = (s: typeof a, owner: string) => new RetentionSweeper({ owner, leaseMs: 10_000, store: s.calls, clock: { now: () => now, setTimer: () => () => undefined }, retentionMs: 7 * DAY, batchCalls: 4, pauseMs: 0, onError: assert.fail });
      const [sa, sb] = [sweeper(a, 'a'), sweeper(b, 'b')];
      // Each instance sweeps until nothing is left: a sweep that finds the other's lease stops at once, and is asked again.
      const until = async (s: RetentionSweeper) => { while ((await s.sweep()).busy || (await a.calls.getCall(calls.at(-1)!.id))) await new Promise((r) => setTimeout(r, 1)); };
      await Promise.all([until(sa), until(sb)]);
      assert.equal(sa.totals.calls + sb.totals.calls, calls.length, `each call deleted once: ${JSON.stringify([sa.totals, sb.totals])}`);
      assert.ok([sa.totals.calls, sb.totals.calls].includes(calls.length), `one instance swept them all: ${JSON.stringify([sa.totals, sb.totals])}`);
      assert.ok(sa.totals.busy + sb.totals.busy > 0, 'the other found the sweep held');
      for (const c of calls) assert.equal(await a.calls.getCall(c.id), undefined);
      assert.ok(await a.calls.getCall(live.id));
      assert.equal((await a.calls.listParticipants(live.id)).length, 1);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});
