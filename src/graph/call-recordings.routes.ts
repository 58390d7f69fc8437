import { Readable } from 'node:stream';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Principal, Recording } from '../domain/call.js';
import type { CallStore } from '../domain/ports.js';
import { principalOf } from './auth.hook.js';
import { recordingToWire } from './call.mapper.js';
import { GRAPH_ERRORS, GraphError, sendGraphError } from './graph-errors.js';
import { nextLink, pageParams } from './paging.js';
import { sendArtifactPage, type ArtifactKind } from './artifact-functions.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { sendJson, versionBase, type GraphVersion } from './wire.js';

export interface CallRecordingsRoutesOptions {
  version: GraphVersion;
  store: CallStore;
}

// Route parameters, typed through the TypeBox provider; ids stay any string (matched as the routes did before).
const MeetingParams = Type.Object({ userId: Type.Optional(Type.String()), meetingId: Type.String() });
const MeetingRecordingParams = Type.Object({ userId: Type.Optional(Type.String()), meetingId: Type.String(), recordingId: Type.String() });
const AdhocParams = Type.Object({ userId: Type.String(), callId: Type.String() });
const AdhocRecordingParams = Type.Object({ userId: Type.String(), callId: Type.String(), recordingId: Type.String() });
const FunctionParams = Type.Object({ userId: Type.String(), fn: Type.String() });
type MeetingKey = { userId?: string; meetingId: string };
type AdhocKey = { userId: string; callId: string };
const notFound = () => new GraphError('NOT_FOUND_ITEM', 'The recording was not found.');

/** Apps read recordings tenant-wide (application permission); another tenant's are simply not found. */
function visible(r: Recording | undefined, p: Principal, check: (r: Recording) => boolean): Recording {
  if (!r || r.tenantId !== p.tenantId || !check(r)) throw notFound();
  return r;
}

async function visibleAsync(r: Recording | undefined, p: Principal, check: (r: Recording) => Promise<boolean>): Promise<Recording> {
  if (!r || r.tenantId !== p.tenantId || !(await check(r))) throw notFound();
  return r;
}

async function filterAsync<T>(rows: T[], keep: (row: T) => Promise<boolean>): Promise<T[]> {
  const out: T[] = [];
  for (const row of rows) if (await keep(row)) out.push(row);
  return out;
}

/**
 * Finished recordings where Graph lists them (spec §2.6): under online meetings (beta
 * /communications/onlineMeetings, and /users/{id}/onlineMeetings) and under users' ad hoc calls, each
 * with `/{id}` and `/{id}/content`, plus the getAllRecordings functions.
 */
export async function callRecordingsRoutes(plain: FastifyInstance, o: CallRecordingsRoutesOptions): Promise<void> {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  const base = (r: FastifyRequest) => versionBase(r, o.version);

  const page = (request: FastifyRequest, reply: FastifyReply, listUrl: string, rows: Array<Recording & { seq: number }>, top: number, itemBase: (r: Recording) => string) => {
    const body: Record<string, unknown> = {
      '@odata.context': `${base(request)}/$metadata#Collection(microsoft.graph.callRecording)`,
      value: rows.slice(0, top).map((r) => recordingToWire(r, `${itemBase(r)}/${r.id}/content`)),
    };
    if (rows.length > top) body['@odata.nextLink'] = nextLink(listUrl, top, rows[top - 1]!.seq);
    return sendJson(reply, 200, body);
  };

  const one = (request: FastifyRequest, reply: FastifyReply, r: Recording, itemBase: string) =>
    sendJson(reply, 200, { '@odata.context': `${base(request)}/$metadata#callRecording/$entity`, ...recordingToWire(r, `${itemBase}/${r.id}/content`) });

  /** Bytes with Range (206/416) and conditional requests (ETag, If-None-Match -> 304). */
  const content = (request: FastifyRequest, reply: FastifyReply, r: Recording) => {
    reply.header('etag', r.etag).header('accept-ranges', 'bytes').header('content-type', r.contentType);
    const inm = request.headers['if-none-match'];
    if (inm && inm.split(',').map((x) => x.trim()).some((t) => t === r.etag || t === '*' || t === `W/${r.etag}`)) return reply.code(304).send();
    const size = r.sizeBytes;
    const range = request.headers.range;
    const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null;
    if (range && m && (m[1] || m[2])) {
      let start: number, end: number;
      if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = size - 1; } else { start = Number(m[1]); end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1; }
      if (start >= size || start > end) {
        const e = GRAPH_ERRORS.RANGE_NOT_SATISFIABLE;
        reply.header('content-range', `bytes */${size}`);
        return sendGraphError(request, reply, e.status, e.code, `The range '${range}' cannot be satisfied: the recording has ${size} bytes.`);
      }
      reply.code(206).header('content-range', `bytes ${start}-${end}/${size}`).header('content-length', String(end - start + 1));
      return reply.send(Readable.from(o.store.readRecordingContent(r.id, start, end)));
    }
    reply.code(200).header('content-length', String(size));
    return reply.send(Readable.from(o.store.readRecordingContent(r.id, 0, size - 1)));
  };

  // ---- online meetings ---------------------------------------------------------------------------
  const meeting = (prefix: string, userScoped: boolean) => {
    const itemBase = (request: FastifyRequest, k: MeetingKey) => `${base(request)}${prefix.replace(':userId', k.userId ?? '')}/${k.meetingId}/recordings`;
    const inMeeting = ({ meetingId, userId }: MeetingKey) =>
      (r: Recording) => r.meetingId === meetingId && (!userScoped || r.meetingOrganizer?.user?.id?.toString().toLowerCase() === (userId ?? '').toLowerCase());
    app.get(`${prefix}/:meetingId/recordings`, { schema: { params: MeetingParams } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.meetingRecordings);
      const { top, after } = pageParams(request);
      const check = inMeeting(request.params);
      const rows = (await o.store.recordingsByMeeting(request.params.meetingId, after, top + 1))
        .filter((r) => r.tenantId === p.tenantId && check(r));
      return page(request, reply, itemBase(request, request.params), rows, top, () => itemBase(request, request.params));
    });
    /** `recordings/delta()` bound to the collection (CSDL; undocumented): the meeting's recordings in delta rounds. */
    const delta = async (request: FastifyRequest<{ Params: MeetingKey }>, reply: FastifyReply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.meetingRecordings);
      const check = inMeeting(request.params);
      return sendArtifactPage(request, reply, {
        version: o.version, kind: recordingKind(o.store), delta: true, listUrl: itemBase(request, request.params),
        read: (after, limit) => o.store.recordingsByMeeting(request.params.meetingId, after, limit),
        keep: (r) => r.tenantId === p.tenantId && check(r), itemBase: () => itemBase(request, request.params),
      });
    };
    app.get(`${prefix}/:meetingId/recordings/delta()`, { schema: { params: MeetingParams } }, delta);
    app.get(`${prefix}/:meetingId/recordings/delta`, { schema: { params: MeetingParams } }, delta);
    app.get(`${prefix}/:meetingId/recordings/:recordingId`, { schema: { params: MeetingRecordingParams } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.meetingRecordings);
      return one(request, reply, visible(await o.store.getRecording(request.params.recordingId), p, inMeeting(request.params)), itemBase(request, request.params));
    });
    app.get(`${prefix}/:meetingId/recordings/:recordingId/content`, { schema: { params: MeetingRecordingParams } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.meetingRecordings);
      return content(request, reply, visible(await o.store.getRecording(request.params.recordingId), p, inMeeting(request.params)));
    });
  };
  // The CSDL (both versions) and the SDKs route /communications/onlineMeetings/{id}/recordings; the docs print
  // only the /users/{id} forms (spec §5.3). Served on v1.0 and beta alike (docs/fidelity.md).
  meeting('/communications/onlineMeetings', false);
  meeting('/users/:userId/onlineMeetings', true);

  // ---- ad hoc calls -------------------------------------------------------------------------------
  const adhocBase = (request: FastifyRequest, { userId, callId }: AdhocKey) => `${base(request)}/users/${userId}/adhocCalls/${callId}/recordings`;
  // An ad hoc call's recordings are listed under each user who took part (an indexed lookup per recording).
  const participantOf = ({ userId, callId }: AdhocKey) =>
    async (r: Recording) => r.callId === callId.toLowerCase() && r.meetingId === null && o.store.recordingHasUser(r.id, userId, 'participant');
  app.get('/users/:userId/adhocCalls/:callId/recordings', { schema: { params: AdhocParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.adhocCallRecordings);
    const { top, after } = pageParams(request);
    const check = participantOf(request.params);
    const rows = await filterAsync(await o.store.recordingsByCall(request.params.callId.toLowerCase(), after, top + 1),
      async (r) => r.tenantId === p.tenantId && (await check(r)));
    return page(request, reply, adhocBase(request, request.params), rows, top, () => adhocBase(request, request.params));
  });
  app.get('/users/:userId/adhocCalls/:callId/recordings/:recordingId', { schema: { params: AdhocRecordingParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.adhocCallRecordings);
    return one(request, reply, await visibleAsync(await o.store.getRecording(request.params.recordingId), p, participantOf(request.params)), adhocBase(request, request.params));
  });
  app.get('/users/:userId/adhocCalls/:callId/recordings/:recordingId/content', { schema: { params: AdhocRecordingParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.adhocCallRecordings);
    return content(request, reply, await visibleAsync(await o.store.getRecording(request.params.recordingId), p, participantOf(request.params)));
  });

  // getAllRecordings (and its delta) shares the `/users/{id}/onlineMeetings/{segment}` path with the meeting
  // itself: meetings/meetings.routes.ts dispatches it to artifactFunction with recordingKind.
}

/** callRecording as an artifact kind: the roles, listings and wire form getAllRecordings and delta use. */
export function recordingKind(store: CallStore): ArtifactKind<Recording & { seq: number }> {
  return {
    type: 'callRecording', fn: 'getAllRecordings', nav: 'recordings',
    roles: { onlineMeetings: PERMISSIONS.meetingRecordings, adhocCalls: PERMISSIONS.adhocCallRecordings },
    byUser: (f) => store.recordingsByUser(f),
    byMeeting: (id, after, limit) => store.recordingsByMeeting(id, after, limit),
    toWire: (r, itemBase) => recordingToWire(r, `${itemBase}/${r.id}/content`),
  };
}
