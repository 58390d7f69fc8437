import type { Lease } from '../../domain/ports.js';
import { stmt, type Sql, type Stmt } from './sql.js';

/**
 * Statements of the cleanup of history past `--retention` (retention/retention-sweeper.ts), written once
 * for both engines. Each batch is one short transaction: claim (or renew) the sweep's lease, pick the
 * calls, delete them with every row that belongs to them. The ids of a batch travel as one JSON array, as lease renewals do.
 */

/** `col` is one of the batch's ids: SQLite reads the JSON array with json_each, PostgreSQL as an array (an index scan per id). */
function byIds(name: string, sql: string): Stmt {
  return stmt(name, sql.replaceAll(':ids', '(SELECT value FROM json_each(?))'), sql.replaceAll(' IN :ids', ' = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)))'));
}

/** The key `media/record-response.ts` stores a recordResponse operation's bytes under, in the config store's blobs. */
const RECORDED_RESPONSE_PREFIX = 'recordResponse:';

/** A batch's calls' notifications: what their attempts and bodies are found by (neither has an index by call). */
const CALLS_NOTIFICATIONS = '(SELECT seq FROM outbox WHERE call_id IN :ids)';
/**
 * Settled change and lifecycle notifications (subscription lanes) past the cut-off, oldest first, ordered to
 * the row: one trim deletes their bodies and then them with this same selection, so both pick the same rows.
 */
const SETTLED_LANES = "(SELECT seq FROM outbox WHERE kind != 'call' AND state != 'pending' AND settled_at <= ? ORDER BY settled_at, seq LIMIT ?)";

const Q = {
  // The sweep's lease: taken when free or expired (real time), renewed by its holder with every batch. On
  // PostgreSQL two instances claiming at once queue on the row; the second finds it held and changes nothing.
  claim: stmt('retentionClaim', `INSERT INTO leases (name, lease_owner, lease_until) VALUES ('retention', ?, ?)
    ON CONFLICT (name) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
    WHERE leases.lease_owner = excluded.lease_owner OR leases.lease_until <= ?`),
  release: stmt('retentionRelease', "UPDATE leases SET lease_until = 0 WHERE name = 'retention' AND lease_owner = ?"),
  // The oldest ended calls first, from the partial index on ended calls. A call with a pending (or leased)
  // notification or a live job waits until that work is delivered, has run or has gone dead. On PostgreSQL
  // the rows are locked, and rows another transaction holds are skipped: a request that is still changing
  // one of them wins, and the call is looked at again in the next sweep.
  expired: stmt('retentionExpiredCalls', `SELECT c.id FROM calls c WHERE c.state = 'terminated' AND c.updated_at <= ?
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.call_id = c.id AND o.state = 'pending')
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.call_id = c.id AND j.dead_at IS NULL)
    ORDER BY c.updated_at LIMIT ?`, `SELECT c.id FROM calls c WHERE c.state = 'terminated' AND c.updated_at <= $1
      AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.call_id = c.id AND o.state = 'pending')
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.call_id = c.id AND j.dead_at IS NULL)
    ORDER BY c.updated_at LIMIT $2 FOR UPDATE OF c SKIP LOCKED`),
  // Rows keyed through another row go first, while that row is still there to find them by.
  deletes: [
    byIds('retentionDeleteResponses', `DELETE FROM blobs WHERE key IN (SELECT '${RECORDED_RESPONSE_PREFIX}' || id FROM operations WHERE call_id IN :ids)`),
    byIds('retentionDeleteRecordingUsers', 'DELETE FROM recording_users WHERE recording_seq IN (SELECT seq FROM recordings WHERE call_id IN :ids)'),
    byIds('retentionDeleteRecordingContent', 'DELETE FROM recording_content WHERE recording_id IN (SELECT id FROM recordings WHERE call_id IN :ids)'),
    byIds('retentionDeleteTranscriptUsers', 'DELETE FROM transcript_users WHERE transcript_seq IN (SELECT seq FROM transcripts WHERE call_id IN :ids)'),
    // Attempts have no index by call (issue 11), nor have bodies: both are found through the call's outbox rows.
    byIds('retentionDeleteAttempts', `DELETE FROM delivery_attempts WHERE outbox_seq IN ${CALLS_NOTIFICATIONS}`),
    byIds('retentionDeleteOutboxBodies', `DELETE FROM outbox_bodies WHERE seq IN ${CALLS_NOTIFICATIONS}`),
    ...['participants', 'operations', 'recording_segments', 'media_events', 'recordings', 'transcripts', 'call_items', 'outbox', 'jobs', 'request_journal']
      .map((t) => byIds(`retentionDelete_${t}`, `DELETE FROM ${t} WHERE call_id IN :ids`)),
    byIds('retentionDeleteCalls', 'DELETE FROM calls WHERE id IN :ids'),
  ],
  // Journals are appended in time order, so their oldest rows by sequence are their oldest by time: a trim
  // looks at the first `limit` rows only and deletes those that are old enough, whatever the history holds.
  trimAttempts: stmt('retentionTrimAttempts', 'DELETE FROM delivery_attempts WHERE seq IN (SELECT h.seq FROM (SELECT seq, at FROM delivery_attempts ORDER BY seq LIMIT ?) h WHERE h.at <= ?)'),
  trimJournal: stmt('retentionTrimJournal', 'DELETE FROM request_journal WHERE seq IN (SELECT h.seq FROM (SELECT seq, at FROM request_journal ORDER BY seq LIMIT ?) h WHERE h.at <= ?)'),
  // Change and lifecycle notifications belong to subscriptions, not calls: the settled ones go by age.
  trimLaneBodies: stmt('retentionTrimLaneBodies', `DELETE FROM outbox_bodies WHERE seq IN ${SETTLED_LANES}`),
  trimLanes: stmt('retentionTrimLanes', `DELETE FROM outbox WHERE seq IN ${SETTLED_LANES}`),
};

export const retentionWrites = {
  claimSweep: async (sql: Sql, lease: Lease) => (await sql.run(Q.claim, [lease.owner, lease.until, lease.now])) === 1,
  releaseSweep: async (sql: Sql, owner: string) => { await sql.run(Q.release, [owner]); },

  async deleteEndedCalls(sql: Sql, endedBy: number, limit: number): Promise<string[]> {
    const ids = (await sql.all<{ id: string }>(Q.expired, [endedBy, limit])).map((r) => r.id);
    if (ids.length === 0) return ids;
    const json = JSON.stringify(ids);
    for (const q of Q.deletes) await sql.run(q, [json]);
    return ids;
  },

  trimDeliveryAttempts: (sql: Sql, before: number, limit: number) => sql.run(Q.trimAttempts, [limit, before]),
  trimJournal: (sql: Sql, before: number, limit: number) => sql.run(Q.trimJournal, [limit, before]),
  async trimSettledLanes(sql: Sql, before: number, limit: number): Promise<number> {
    await sql.run(Q.trimLaneBodies, [before, limit]);
    return sql.run(Q.trimLanes, [before, limit]);
  },
};
