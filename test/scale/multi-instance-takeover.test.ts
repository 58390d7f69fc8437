import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { fetchDevToken } from '../support/graph-http.js';
import { p2pCallBody } from '../support/harness.js';
import { callRow, cleanUp, isEstablished, ok, onCleanup, outboxAll, pidOf, receiverFor, setUp, until, withLogs } from './multi-instance-support.js';

/**
 * Several graph-calls processes on one PostgreSQL database act as ONE service (design.md §5): work a
 * SIGKILLed instance had claimed (a delivery, a job) is taken over once its lease expires. Beside
 * multi-instance.test.ts (a file of its own so the runner runs the two side by side). Real processes
 * (src/main.ts), a real bot webhook that verifies every notification token.
 */

after(cleanUp);

describe('several instances on one PostgreSQL database act as one service', () => {
  afterEach(cleanUp);

  test('work claimed by a SIGKILLed instance is taken over once its lease expires', { timeout: 120_000 }, withLogs(async (t) => {
    // The far side answers after 800 ms: time to hold the new call's row before its answer job runs.
    const { db, nodes } = await setUp(['A', 'B', 'C'], ['--answer-delay-ms', '800', '--delivery-timeout-ms', '30000']);
    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    onCleanup(() => sql.end());
    const live = new Set(nodes);
    const byPid = (pid: number) => nodes.find((n) => n.pid === pid);

    // A webhook that never answers the first request it gets: its sender holds that claim until it dies.
    let release!: () => void;
    const released = new Promise<void>((r) => { release = r; });
    onCleanup(async () => release());
    const bot = await receiverFor(nodes[0]!.url, async (_q, n) => {
      if (n === 1) await released;
      return { status: 202 };
    });
    const token = await fetchDevToken(nodes[0]!.url);

    // 1. A delivery.
    const first = await ok(nodes[1]!.url, 'POST', '/beta/communications/calls', { token, body: p2pCallBody({ callbackUri: bot.callbackUri }) });
    const stalled = await until(async () => bot.requests[0], 'the first notification to reach the bot', 10_000, 20);
    const { rows: [claim] } = await sql.query('SELECT lease_owner FROM outbox WHERE message_id = $1', [stalled.messageId]);
    const holder = byPid(pidOf(claim?.lease_owner ?? null));
    assert.ok(holder, `the stalled notification is claimed by one of the instances (${claim?.lease_owner})`);
    await holder.kill();
    live.delete(holder);
    t.diagnostic(`delivery: killed ${holder.name}, which held ${stalled.messageId}`);
    const again = await until(async () => bot.requests.find((q, i) => i > 0 && q.messageId === stalled.messageId), 'another instance to deliver the stalled notification', 20_000, 50);
    assert.equal(again.status, 202);
    const survivor = () => [...live][0]!;
    const rows = await until(async () => {
      const mine = callRow(await outboxAll(survivor().url), first.id);
      return mine.some((r) => isEstablished(r, first.id)) && mine.every((r) => r.state === 'delivered') ? mine : null;
    }, 'the first call\'s notifications to be delivered', 20_000, 100);
    const firsts = [...new Set(bot.requests.filter((q) => rows.some((r) => r.messageId === q.messageId)).map((q) => q.messageId))];
    assert.deepEqual(firsts, rows.map((r) => r.messageId), 'the call\'s notifications arrived in commit order');

    // 2. A job: hold the new call's row so the instance that claims its answer job blocks inside the
    // job's transaction; kill that instance, let go of the row, and the other one must run the job.
    const second = await ok(survivor().url, 'POST', '/beta/communications/calls', { token, body: p2pCallBody({ callbackUri: bot.callbackUri }) });
    await sql.query('BEGIN');
    try {
      await sql.query('SELECT id FROM calls WHERE id = $1 FOR UPDATE', [second.id]);
      const job = await until(async () => {
        const { rows: [j] } = await sql.query("SELECT id, lease_owner FROM jobs WHERE call_id = $1 AND kind = 'answerCall'", [second.id]);
        if (!j?.lease_owner) return null;
        // Claimed, and its transaction waits for the row this test holds.
        const { rows: waiting } = await sql.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
        return waiting.length > 0 ? j : null;
      }, 'an instance to claim the answer job and block on the call row', 15_000, 25);
      const jobHolder = byPid(pidOf(job.lease_owner));
      assert.ok(jobHolder && live.has(jobHolder), `the answer job is claimed by a live instance (${job.lease_owner})`);
      await jobHolder.kill();
      live.delete(jobHolder);
      t.diagnostic(`job: killed ${jobHolder.name}, which held answer job ${job.id}`);
    } finally {
      await sql.query('ROLLBACK');
    }
    assert.equal(live.size, 1);
    const established = await until(async () => {
      const r = await ok(survivor().url, 'GET', `/beta/communications/calls/${second.id}`, { token });
      return r.state === 'established' ? r : null;
    }, `the survivor (${survivor().name}) to run the answer job`, 20_000, 100);
    assert.equal(established.id, second.id);
    const { rows: leftover } = await sql.query("SELECT id FROM jobs WHERE call_id = $1 AND kind = 'answerCall'", [second.id]);
    assert.deepEqual(leftover, [], 'the answer job is gone (it ran)');
    const mine = await until(async () => {
      const m = callRow(await outboxAll(survivor().url), second.id);
      return m.some((r) => isEstablished(r, second.id)) && m.every((r) => r.state === 'delivered') ? m : null;
    }, 'the second call\'s notifications to be delivered', 20_000, 100);
    assert.equal(mine.filter((r) => isEstablished(r, second.id)).length, 1, 'established exactly once');
  }));
});
