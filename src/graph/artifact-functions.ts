import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/call.js';
import type { RecordingRole } from '../domain/ports.js';
import { principalOf } from './auth.hook.js';
import { GraphError } from './graph-errors.js';
import { MAX_PAGE_SIZE, pageParams } from './paging.js';
import { requireAnyRole } from './permissions.js';
import { sendJson, versionBase, type GraphVersion } from './wire.js';

/** What recordings and transcripts share: the members their listings are filtered and linked by. */
export interface ArtifactRow {
  id: string;
  callId: string;
  meetingId: string | null;
  tenantId: string;
  seq: number;
}

export type ArtifactCollection = 'onlineMeetings' | 'adhocCalls';

/** One kind of call artifact (callRecording, callTranscript): its names, roles, listings and wire form. */
export interface ArtifactKind<T extends ArtifactRow> {
  type: 'callRecording' | 'callTranscript';
  fn: 'getAllRecordings' | 'getAllTranscripts';
  nav: 'recordings' | 'transcripts';
  roles: Record<ArtifactCollection, readonly string[]>;
  byUser(f: { userId: string; role: RecordingRole; from: number; to: number; afterSeq: number; limit: number }): Promise<T[]>;
  byMeeting(meetingId: string, afterSeq: number, limit: number): Promise<T[]>;
  /** The item in wire form; `itemBase` is the collection URL its content URL hangs under. */
  toWire(row: T, itemBase: string): Record<string, unknown>;
}

/**
 * `name(key='v',key2=2026-01-01T00:00:00Z)` -> {key: 'v', key2: '2026-…'}; null when the segment is not
 * `name(...)` (or bare `name`). `segment` is a route parameter, which the router has already
 * percent-decoded: decoding it again would turn `%25` into a lone `%` and throw.
 */
export function functionParams(segment: string, name: string): Record<string, string> | null {
  const m = new RegExp(`^(?:microsoft\\.graph\\.)?${name}(?:\\((.*)\\))?$`, 'i').exec(segment);
  if (!m) return null;
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const part of (m[1] ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new GraphError('INVALID_REQUEST', `Invalid function parameter '${part}' in '${name}'.`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim().replace(/^'(.*)'$/, '$1');
  }
  return out;
}

/**
 * OData parameter aliases, as the SDKs' builders send them: `getAllRecordings(startDateTime=@startDateTime)?@startDateTime=…`.
 * A missing alias is Graph's 400 "Missing the parameter alias '@startDateTime' in the request query string." (spec §5.6).
 */
function resolveAliases(request: FastifyRequest, params: Record<string, string>): void {
  const q = request.query as Record<string, string | undefined>;
  for (const [k, v] of Object.entries(params)) {
    if (!v.startsWith('@')) continue;
    const given = q[v];
    if (given === undefined) throw new GraphError('INVALID_REQUEST', `Missing the parameter alias '${v}' in the request query string.`);
    params[k] = given.trim().replace(/^'(.*)'$/, '$1');
  }
}

function dateParam(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new GraphError('INVALID_REQUEST', `Invalid value '${v}' for parameter '${name}': expected a DateTimeOffset.`);
  return t;
}

/** `$filter=MeetingOrganizer/User/Id eq '…'` (getAllRecordings docs; the older beta `MeetingOrganizerId eq`). */
function organizerFilter(request: FastifyRequest): string | undefined {
  const f = (request.query as Record<string, string | undefined>).$filter;
  if (f === undefined) return undefined;
  const m = /^\s*(?:MeetingOrganizer\/User\/Id|MeetingOrganizerId)\s+eq\s+'([^']*)'\s*$/i.exec(f);
  if (!m) throw new GraphError('INVALID_REQUEST', `Invalid $filter '${f}': only "MeetingOrganizer/User/Id eq '{id}'" is supported here.`);
  return m[1];
}

// ---- delta tokens ------------------------------------------------------------------------------------

interface DeltaState { a: number; t: number }

const encodeToken = (s: DeltaState) => Buffer.from(JSON.stringify(s), 'utf8').toString('base64url');

function decodeToken(raw: string, param: string): DeltaState {
  try {
    const s = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as DeltaState;
    if (Number.isInteger(s.a) && s.a >= 0 && Number.isInteger(s.t) && s.t >= 1 && s.t <= MAX_PAGE_SIZE) return s;
  } catch { /* answered below */ }
  throw new GraphError('INVALID_REQUEST', `Invalid value for query parameter ${param}: the token is not one this service issued.`);
}

/**
 * Where a delta round starts: a `$deltatoken` (changes since that round) or a `$skiptoken` (the next page
 * of this round) — both spellings the docs print (`$deltaToken`, `$skipToken`) are accepted — or, with
 * neither, the start of a full sync. Tokens carry the position and the page size, so every query option
 * of the first call holds for the whole round (callrecording-delta docs).
 */
function deltaStart(request: FastifyRequest): DeltaState {
  const q = request.query as Record<string, string | undefined>;
  const pick = (...names: string[]) => { for (const n of names) if (q[n] !== undefined) return [n, q[n]!] as const; return undefined; };
  const token = pick('$deltatoken', '$deltaToken', 'deltatoken', 'deltaToken') ?? pick('$skiptoken', '$skipToken', 'skiptoken', 'skipToken');
  if (token) return decodeToken(token[1], token[0]);
  return { a: 0, t: pageParams(request).top };
}

/**
 * One page of artifacts: `@odata.nextLink` while more rows follow. With `delta`, the last page of a round
 * carries `@odata.deltaLink` instead, whose token is the last row *read* (filtered-out rows included), so
 * the next round returns only what was stored after it.
 */
export async function sendArtifactPage<T extends ArtifactRow>(request: FastifyRequest, reply: FastifyReply, o: {
  version: GraphVersion; kind: ArtifactKind<T>; listUrl: string; delta: boolean;
  read(afterSeq: number, limit: number): Promise<T[]>; keep(row: T): boolean; itemBase(row: T): string;
}): Promise<FastifyReply> {
  const start = o.delta ? deltaStart(request) : (() => { const { top, after } = pageParams(request); return { a: after, t: top }; })();
  const rows = await o.read(start.a, start.t + 1);
  const page = rows.slice(0, start.t);
  const body: Record<string, unknown> = {
    '@odata.context': `${versionBase(request, o.version)}/$metadata#Collection(microsoft.graph.${o.kind.type})`,
    value: page.filter(o.keep).map((r) => o.kind.toWire(r, o.itemBase(r))),
  };
  const last = page.at(-1)?.seq ?? start.a;
  if (o.delta) {
    const url = `${o.listUrl}/delta`;
    if (rows.length > start.t) body['@odata.nextLink'] = `${url}?$skiptoken=${encodeToken({ a: last, t: start.t })}`;
    else body['@odata.deltaLink'] = `${url}?$deltatoken=${encodeToken({ a: last, t: start.t })}`;
  } else if (rows.length > start.t) {
    body['@odata.nextLink'] = `${o.listUrl}?$top=${start.t}&$skiptoken=${Buffer.from(String(last), 'utf8').toString('base64url')}`;
  }
  return sendJson(reply, 200, body);
}

/**
 * `GET /users/{id}/onlineMeetings/getAllRecordings(meetingOrganizerUserId=…,startDateTime=…,endDateTime=…)`
 * and the transcript and ad hoc twins (`userId=`), with or without `/delta` (onlinemeeting-getallrecordings,
 * adhoccall-getallrecordings, callrecording-delta docs). The organizer comes from the parameter, else from
 * `$filter=MeetingOrganizer/User/Id eq '…'`, else it is the user in the path (docs/fidelity.md).
 * Returns false when `segment` is not this kind's function.
 */
export async function artifactFunction<T extends ArtifactRow>(request: FastifyRequest, reply: FastifyReply, o: {
  version: GraphVersion; kind: ArtifactKind<T>; collection: ArtifactCollection; userId: string; segment: string; delta: boolean;
}): Promise<FastifyReply | false> {
  const params = functionParams(o.segment, o.kind.fn);
  if (!params) return false;
  resolveAliases(request, params);
  const p: Principal = principalOf(request);
  requireAnyRole(p, o.kind.roles[o.collection]);
  const meetings = o.collection === 'onlineMeetings';
  const who = (meetings ? params.meetingOrganizerUserId : params.userId) ?? organizerFilter(request) ?? o.userId;
  const from = dateParam(params.startDateTime, 'startDateTime') ?? 0;
  const to = dateParam(params.endDateTime, 'endDateTime') ?? Number.MAX_SAFE_INTEGER;
  const base = versionBase(request, o.version);
  return sendArtifactPage(request, reply, {
    version: o.version, kind: o.kind, delta: o.delta,
    listUrl: `${base}/users/${o.userId}/${o.collection}/${o.segment}`,
    read: (afterSeq, limit) => o.kind.byUser({ userId: who, role: meetings ? 'organizer' : 'participant', from, to, afterSeq, limit }),
    keep: (r) => r.tenantId === p.tenantId && (meetings ? r.meetingId !== null : r.meetingId === null),
    itemBase: (r) => meetings ? `${base}/users/${who}/onlineMeetings/${r.meetingId}/${o.kind.nav}` : `${base}/users/${who}/adhocCalls/${r.callId}/${o.kind.nav}`,
  });
}


