import type { OnlineMeeting, Transcript } from '../../domain/meeting.js';
import type { RecordingRole } from '../../domain/ports.js';
import { stmt, type Sql } from './sql.js';
import { joinUrlKey } from '../../meetings/join-url.js';

/**
 * Statements for online meetings and transcripts, written once for both engines (as call-repository.ts).
 * Rows keep the resource as JSON in `data`; columns exist for the lookups Graph offers: by id, by
 * (organizer, externalId) for createOrGet, by join URL and join meeting id for `$filter`, and the
 * keyset listings of transcripts by meeting, call and user.
 */
const Q = {
  getMeeting: stmt('getOnlineMeeting', 'SELECT data FROM online_meetings WHERE id = ?'),
  meetingByExternal: stmt('onlineMeetingByExternal', 'SELECT data FROM online_meetings WHERE tenant_id = ? AND organizer_id = ? AND external_id = ?'),
  meetingsByJoinKey: stmt('onlineMeetingsByJoinKey', 'SELECT data FROM online_meetings WHERE tenant_id = ? AND join_key = ? ORDER BY created_at LIMIT 10'),
  meetingsByJoinId: stmt('onlineMeetingsByJoinId', 'SELECT data FROM online_meetings WHERE tenant_id = ? AND join_meeting_id = ? ORDER BY created_at LIMIT 10'),
  // A racing createOrGet with the same externalId inserts nothing (the partial unique index), and reads the winner's.
  insertMeeting: stmt('insertOnlineMeeting', `INSERT INTO online_meetings (id, tenant_id, organizer_id, external_id, join_key, join_meeting_id, created_at, data)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, organizer_id, external_id) WHERE external_id IS NOT NULL DO NOTHING`),
  updateMeeting: stmt('updateOnlineMeeting', 'UPDATE online_meetings SET data = ? WHERE id = ?'),
  insertTranscript: stmt('insertTranscript', 'INSERT INTO transcripts (id, call_id, tenant_id, meeting_id, created_at, data) VALUES (?, ?, ?, ?, ?, ?) RETURNING seq'),
  insertTranscriptUser: stmt('insertTranscriptUser', 'INSERT INTO transcript_users (transcript_seq, user_id, role, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING'),
  getTranscript: stmt('getTranscript', 'SELECT data FROM transcripts WHERE id = ?'),
  transcriptHasUser: stmt('transcriptHasUser', `SELECT 1 AS one FROM transcripts t JOIN transcript_users u ON u.transcript_seq = t.seq
    WHERE t.id = ? AND u.user_id = ? AND u.role = ?`),
  transcriptsByMeeting: stmt('transcriptsByMeeting', 'SELECT seq, data FROM transcripts WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  transcriptsByCall: stmt('transcriptsByCall', 'SELECT seq, data FROM transcripts WHERE call_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
  transcriptsByUser: stmt('transcriptsByUser', `SELECT t.seq, t.data FROM transcript_users u JOIN transcripts t ON t.seq = u.transcript_seq
    WHERE u.user_id = ? AND u.role = ? AND u.created_at >= ? AND u.created_at <= ? AND u.transcript_seq > ? ORDER BY u.transcript_seq LIMIT ?`),
};

/** Tables clearCalls empties besides the call tables: transcripts belong to calls; meetings outlive them. */
export const TRANSCRIPT_TABLES = ['transcripts', 'transcript_users'] as const;

const data = <T>(row: { data: string }): T => JSON.parse(row.data) as T;
const withSeq = <T>(row: { seq: number; data: string }): T & { seq: number } => ({ ...(JSON.parse(row.data) as T), seq: Number(row.seq) });

export const meetingReads = {
  async getOnlineMeeting(sql: Sql, id: string): Promise<OnlineMeeting | undefined> {
    const row = await sql.get<{ data: string }>(Q.getMeeting, [id]);
    return row ? data<OnlineMeeting>(row) : undefined;
  },
  async onlineMeetingByExternalId(sql: Sql, tenantId: string, organizerId: string, externalId: string): Promise<OnlineMeeting | undefined> {
    const row = await sql.get<{ data: string }>(Q.meetingByExternal, [tenantId, organizerId.toLowerCase(), externalId]);
    return row ? data<OnlineMeeting>(row) : undefined;
  },
  async onlineMeetingsByJoinKey(sql: Sql, tenantId: string, joinKey: string): Promise<OnlineMeeting[]> {
    return (await sql.all<{ data: string }>(Q.meetingsByJoinKey, [tenantId, joinKey])).map(data<OnlineMeeting>);
  },
  async onlineMeetingsByJoinMeetingId(sql: Sql, tenantId: string, joinMeetingId: string): Promise<OnlineMeeting[]> {
    return (await sql.all<{ data: string }>(Q.meetingsByJoinId, [tenantId, joinMeetingId])).map(data<OnlineMeeting>);
  },
  async getTranscript(sql: Sql, id: string): Promise<Transcript | undefined> {
    const row = await sql.get<{ data: string }>(Q.getTranscript, [id]);
    return row ? data<Transcript>(row) : undefined;
  },
  async transcriptHasUser(sql: Sql, id: string, userId: string, role: RecordingRole): Promise<boolean> {
    return (await sql.get(Q.transcriptHasUser, [id, userId.toLowerCase(), role])) !== undefined;
  },
  async transcriptsByMeeting(sql: Sql, meetingId: string, afterSeq: number, limit: number): Promise<Array<Transcript & { seq: number }>> {
    return (await sql.all<{ seq: number; data: string }>(Q.transcriptsByMeeting, [meetingId, afterSeq, limit])).map(withSeq<Transcript>);
  },
  async transcriptsByCall(sql: Sql, callId: string, afterSeq: number, limit: number): Promise<Array<Transcript & { seq: number }>> {
    return (await sql.all<{ seq: number; data: string }>(Q.transcriptsByCall, [callId, afterSeq, limit])).map(withSeq<Transcript>);
  },
  async transcriptsByUser(sql: Sql, f: { userId: string; role: RecordingRole; from: number; to: number; afterSeq: number; limit: number }): Promise<Array<Transcript & { seq: number }>> {
    return (await sql.all<{ seq: number; data: string }>(Q.transcriptsByUser, [f.userId.toLowerCase(), f.role, f.from, f.to, f.afterSeq, f.limit])).map(withSeq<Transcript>);
  },
};

export const meetingWrites = {
  async insertOnlineMeeting(sql: Sql, m: OnlineMeeting): Promise<boolean> {
    const changed = await sql.run(Q.insertMeeting, [m.id, m.tenantId, m.organizerId.toLowerCase(), m.externalId, joinUrlKey(m.joinWebUrl), m.joinMeetingId, m.createdAt, JSON.stringify(m)]);
    return changed === 1;
  },
  async updateOnlineMeeting(sql: Sql, m: OnlineMeeting): Promise<void> {
    await sql.run(Q.updateMeeting, [JSON.stringify(m), m.id]);
  },
  async insertTranscript(sql: Sql, t: Transcript, users: Array<{ userId: string; role: RecordingRole }>): Promise<void> {
    const row = await sql.get<{ seq: number }>(Q.insertTranscript, [t.id, t.callId, t.tenantId, t.meetingId, t.createdAt, JSON.stringify(t)]);
    for (const u of users) await sql.run(Q.insertTranscriptUser, [Number(row!.seq), u.userId.toLowerCase(), u.role, t.createdAt]);
  },
};
