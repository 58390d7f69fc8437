import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CallStore } from '../domain/ports.js';
import { artifactFunction, functionParams } from '../graph/artifact-functions.js';
import { principalOf } from '../graph/auth.hook.js';
import { recordingKind } from '../graph/call-recordings.routes.js';
import { GraphError } from '../graph/graph-errors.js';
import { PERMISSIONS, requireAnyRole } from '../graph/permissions.js';
import { sendJson, versionBase, type GraphVersion } from '../graph/wire.js';
import { isGuid } from '../shared/ids.js';
import { transcriptKind } from '../transcripts/transcripts.routes.js';
import { parseJoinUrl } from './join-url.js';
import { meetingToWire } from './meeting.mapper.js';
import { CreateOnlineMeetingBody, CreateOrGetOnlineMeetingBody, type OnlineMeetingBody } from './meeting.schemas.js';
import type { MeetingService } from './meeting.service.js';

export interface MeetingsRoutesOptions {
  version: GraphVersion;
  store: CallStore;
  meetings: MeetingService;
}

type UserParams = { userId: string };
type SegmentParams = { userId: string; meetingId: string };

/** `{userId}` of the onlineMeeting APIs is the user's Entra object id (application-post-onlinemeetings docs). */
function organizerOf(userId: string): string {
  if (!isGuid(userId)) throw new GraphError('INVALID_REQUEST', `Invalid user id '${userId}': expected the organizer's Entra object id (a GUID).`);
  return userId.toLowerCase();
}

/** The `$filter` forms onlinemeeting-get documents: `JoinWebUrl eq '…'` and `joinMeetingIdSettings/joinMeetingId eq '…'`. */
function meetingFilter(request: FastifyRequest): { joinWebUrl: string } | { joinMeetingId: string } {
  const f = (request.query as Record<string, string | undefined>).$filter;
  if (f === undefined) throw new GraphError('INVALID_REQUEST', `Listing online meetings needs $filter: "JoinWebUrl eq '{joinWebUrl}'" or "joinMeetingIdSettings/joinMeetingId eq '{joinMeetingId}'".`);
  const byUrl = /^\s*JoinWebUrl\s+eq\s+'(.*)'\s*$/i.exec(f);
  if (byUrl) {
    if (!parseJoinUrl(byUrl[1]!)) throw new GraphError('INVALID_REQUEST', `Invalid JoinWebUrl '${byUrl[1]}': expected a Teams meeting join link (https://…/l/meetup-join/{threadId}/{messageId}?context={…}).`);
    return { joinWebUrl: byUrl[1]! };
  }
  const byId = /^\s*joinMeetingIdSettings\/joinMeetingId\s+eq\s+'([^']*)'\s*$/i.exec(f);
  if (byId) return { joinMeetingId: byId[1]! };
  throw new GraphError('INVALID_REQUEST', `Invalid $filter '${f}': supported are "JoinWebUrl eq '…'" and "joinMeetingIdSettings/joinMeetingId eq '…'".`);
}

const isArtifactFunction = (segment: string) => functionParams(segment, 'getAllRecordings') !== null || functionParams(segment, 'getAllTranscripts') !== null;
const DELTA = /^(?:microsoft\.graph\.)?delta(?:\(\))?$/i;

/**
 * onlineMeeting create, createOrGet, get and `$filter` lookup (application-post-onlinemeetings,
 * onlinemeeting-createorget, onlinemeeting-get docs), and the bound functions that share the
 * `/users/{id}/onlineMeetings/{segment}` and `/users/{id}/adhocCalls/{segment}` paths: getAllRecordings,
 * getAllTranscripts, each with `/delta`. The tenant-level `/communications/onlineMeetings/getAll*` and
 * `/communications/adhocCalls[/getAll*]` answer 404 "Requested API is not supported", as real v1.0 does:
 * they are subscription resources, not readable collections (spec §0.7).
 */
export async function meetingsRoutes(app: FastifyInstance, o: MeetingsRoutesOptions): Promise<void> {
  const base = (r: FastifyRequest) => versionBase(r, o.version);
  const kinds = [recordingKind(o.store), transcriptKind(o.store)];
  const entity = (request: FastifyRequest, userId: string) => `${base(request)}/$metadata#users('${userId}')/onlineMeetings/$entity`;

  /** https://learn.microsoft.com/graph/api/application-post-onlinemeetings */
  app.post('/users/:userId/onlineMeetings', { schema: { body: CreateOnlineMeetingBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.createOnlineMeeting);
    const { userId } = request.params as UserParams;
    const m = await o.meetings.create(p, organizerOf(userId), request.body as OnlineMeetingBody);
    return sendJson(reply, 201, { '@odata.context': entity(request, userId), ...meetingToWire(m, o.version) });
  });

  /** https://learn.microsoft.com/graph/api/onlinemeeting-createorget — 201 when created, 200 when it existed. */
  app.post('/users/:userId/onlineMeetings/createOrGet', { schema: { body: CreateOrGetOnlineMeetingBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.createOnlineMeeting);
    const { userId } = request.params as UserParams;
    const { meeting, created } = await o.meetings.createOrGet(p, organizerOf(userId), request.body as OnlineMeetingBody & { externalId: string });
    return sendJson(reply, created ? 201 : 200, { '@odata.context': entity(request, userId), ...meetingToWire(meeting, o.version) });
  });

  /** https://learn.microsoft.com/graph/api/onlinemeeting-get — `?$filter=JoinWebUrl eq '…'`: a one-element collection. */
  app.get('/users/:userId/onlineMeetings', async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readOnlineMeeting);
    const { userId } = request.params as UserParams;
    const f = meetingFilter(request);
    const found = 'joinWebUrl' in f ? await o.meetings.findByJoinUrl(p, userId, f.joinWebUrl) : await o.meetings.findByJoinMeetingId(p, userId, f.joinMeetingId);
    return sendJson(reply, 200, { '@odata.context': `${base(request)}/$metadata#users('${userId}')/onlineMeetings`, value: found.map((m) => meetingToWire(m, o.version)) });
  });

  const artifacts = async (request: FastifyRequest, reply: FastifyReply, collection: 'onlineMeetings' | 'adhocCalls', delta: boolean) => {
    const { userId, meetingId: segment } = request.params as SegmentParams;
    for (const kind of kinds) {
      const done = await artifactFunction(request, reply, { version: o.version, kind: kind as never, collection, userId, segment, delta });
      if (done) return done;
    }
    return null;
  };
  const unknownSegment = (segment: string) => new GraphError('UNKNOWN_SEGMENT', `Resource not found for the segment '${segment}'.`);

  /** A meeting by id (onlinemeeting-get), or getAllRecordings/getAllTranscripts(…). */
  app.get('/users/:userId/onlineMeetings/:meetingId', async (request, reply) => {
    const done = await artifacts(request, reply, 'onlineMeetings', false);
    if (done) return done;
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readOnlineMeeting);
    const { userId, meetingId } = request.params as SegmentParams;
    const m = await o.meetings.get(p, userId, meetingId);
    return sendJson(reply, 200, { '@odata.context': entity(request, userId), ...meetingToWire(m, o.version) });
  });

  /** getAllRecordings(…)/delta and getAllTranscripts(…)/delta (callrecording-delta, calltranscript-delta docs). */
  const deltaOf = (collection: 'onlineMeetings' | 'adhocCalls') => async (request: FastifyRequest, reply: FastifyReply) => {
    const { meetingId: segment, fn } = request.params as SegmentParams & { fn: string };
    if (!DELTA.test(fn)) throw unknownSegment(fn);
    const done = await artifacts(request, reply, collection, true);
    if (done) return done;
    throw unknownSegment(segment);
  };
  app.get('/users/:userId/onlineMeetings/:meetingId/:fn', deltaOf('onlineMeetings'));

  /** adhoccall-getallrecordings / getalltranscripts: there is no GET of one ad hoc call. */
  app.get('/users/:userId/adhocCalls/:meetingId', async (request, reply) => {
    const done = await artifacts(request, reply, 'adhocCalls', false);
    if (done) return done;
    throw unknownSegment((request.params as SegmentParams).meetingId);
  });
  app.get('/users/:userId/adhocCalls/:meetingId/:fn', deltaOf('adhocCalls'));

  // ---- /communications: what Graph serves there for apps ---------------------------------------------
  const notSupported = () => new GraphError('API_NOT_SUPPORTED');
  if (o.version === 'beta') {
    /**
     * The 2020-deprecated app form of create (beta application-post-onlinemeetings history): the organizer is
     * `participants.organizer.identity.user.id`, since no user is in the path.
     */
    app.post('/communications/onlineMeetings', { schema: { body: CreateOnlineMeetingBody } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.createOnlineMeeting);
      const body = request.body as OnlineMeetingBody;
      const organizer = body.participants?.organizer?.identity?.user as { id?: unknown } | undefined;
      if (typeof organizer?.id !== 'string') throw new GraphError('INVALID_BODY', `The required property 'participants.organizer.identity.user.id' is missing: it names the meeting's organizer.`);
      const m = await o.meetings.create(p, organizerOf(organizer.id), body);
      return sendJson(reply, 201, { '@odata.context': `${base(request)}/$metadata#communications/onlineMeetings/$entity`, ...meetingToWire(m, o.version) });
    });
  }
  /** `GET /communications/onlineMeetings?$filter=JoinWebUrl eq '…'`: an app-token lookup across the tenant. */
  app.get('/communications/onlineMeetings', async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readOnlineMeeting);
    const f = meetingFilter(request);
    const key = 'joinWebUrl' in f ? parseJoinUrl(f.joinWebUrl)!.organizerId : null;
    const found = 'joinWebUrl' in f ? await o.meetings.findByJoinUrl(p, key!, f.joinWebUrl) : (await o.store.onlineMeetingsByJoinMeetingId(p.tenantId, f.joinMeetingId));
    return sendJson(reply, 200, { '@odata.context': `${base(request)}/$metadata#communications/onlineMeetings`, value: found.map((m) => meetingToWire(m, o.version)) });
  });
  app.get('/communications/onlineMeetings/:meetingId', async (request, reply) => {
    const { meetingId } = request.params as SegmentParams;
    if (isArtifactFunction(meetingId)) throw notSupported();
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.readOnlineMeeting);
    const m = await o.store.getOnlineMeeting(meetingId);
    const shown = m && m.tenantId === p.tenantId ? m : null;
    if (!shown) throw new GraphError('NOT_FOUND_ITEM', `The online meeting '${meetingId}' was not found.`);
    return sendJson(reply, 200, { '@odata.context': `${base(request)}/$metadata#communications/onlineMeetings/$entity`, ...meetingToWire(shown, o.version) });
  });
  app.get('/communications/onlineMeetings/:meetingId/:fn', async (request) => {
    const { meetingId, fn } = request.params as SegmentParams & { fn: string };
    if (isArtifactFunction(meetingId) && DELTA.test(fn)) throw notSupported();
    throw unknownSegment(fn);
  });
  app.get('/communications/adhocCalls', async () => { throw notSupported(); });
  app.get('/communications/adhocCalls/:meetingId', async () => { throw notSupported(); });
  app.get('/communications/adhocCalls/:meetingId/:fn', async () => { throw notSupported(); });
}
