import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../domain/call.js';
import type { Transcript } from '../domain/meeting.js';
import type { CallStore } from '../domain/ports.js';
import { principalOf } from '../graph/auth.hook.js';
import { identitySetToWire } from '../graph/call.mapper.js';
import { sendArtifactPage, type ArtifactKind } from '../graph/artifact-functions.js';
import { GraphError } from '../graph/graph-errors.js';
import { PERMISSIONS, requireAnyRole } from '../graph/permissions.js';
import { sendJson, versionBase, type GraphVersion } from '../graph/wire.js';
import { toMetadataVtt, toPlainTranscript, toVtt } from './vtt.js';

export interface TranscriptsRoutesOptions {
  version: GraphVersion;
  store: CallStore;
}

type Params = Record<string, string>;
type Row = Transcript & { seq: number };

const T = (name: string) => `#microsoft.graph.${name}`;

/** Graph `callTranscript` (calltranscript resource docs). */
export function transcriptToWire(t: Transcript, contentUrl: string): Record<string, unknown> {
  return {
    '@odata.type': T('callTranscript'),
    id: t.id,
    callId: t.callId,
    meetingId: t.meetingId,
    contentCorrelationId: t.contentCorrelationId,
    createdDateTime: new Date(t.createdAt).toISOString(),
    endDateTime: new Date(t.endedAt).toISOString(),
    meetingOrganizer: identitySetToWire(t.meetingOrganizer),
    transcriptContentUrl: contentUrl,
  };
}

export function transcriptKind(store: CallStore): ArtifactKind<Row> {
  return {
    type: 'callTranscript', fn: 'getAllTranscripts', nav: 'transcripts',
    roles: { onlineMeetings: PERMISSIONS.meetingTranscripts, adhocCalls: PERMISSIONS.adhocCallTranscripts },
    byUser: (f) => store.transcriptsByUser(f),
    byMeeting: (id, after, limit) => store.transcriptsByMeeting(id, after, limit),
    toWire: (t, itemBase) => transcriptToWire(t, `${itemBase}/${t.id}/content`),
  };
}

export const VTT = 'text/vtt';
export const PLAIN_TRANSCRIPT = 'application/vnd.microsoft.graph.transcript+text';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/**
 * Which rendering a content request asks for (calltranscript-get docs, spec §5.4; the one place this is decided):
 * - `$format=text/vtt`, or `Accept: text/vtt`, or no preference: WebVTT with speakers.
 * - `Accept: application/vnd.microsoft.graph.transcript+text` (header only, not `$format`): timings and text.
 * - docx (deprecated 2023-05-31) and any other concrete `$format`/Accept: 400 "Invalid format '…' specified."
 * - An Accept that also allows anything (`*∕*`, `application/octet-stream` as Kiota sends it with
 *   `application/json`): WebVTT. Real Graph refused Kiota's Accept with a 400 in 2024; whether it still
 *   does is unknown, and answering it lets the SDK download transcripts (docs/fidelity.md).
 */
export function transcriptFormat(request: FastifyRequest): typeof VTT | typeof PLAIN_TRANSCRIPT {
  const q = request.query as Record<string, string | undefined>;
  const format = q.$format ?? q.format;
  if (format !== undefined) {
    if (format.trim().toLowerCase() === VTT) return VTT;
    throw new GraphError('INVALID_FORMAT', `Invalid format '${format}' specified.`);
  }
  const accept = request.headers.accept;
  if (!accept || !accept.trim()) return VTT;
  const types = accept.split(',').map((x) => x.split(';')[0]!.trim().toLowerCase()).filter(Boolean);
  if (types.includes(PLAIN_TRANSCRIPT)) return PLAIN_TRANSCRIPT;
  if (types.some((t) => t === VTT || t === 'text/*' || t === '*/*' || t === 'application/octet-stream')) return VTT;
  if (types.includes(DOCX)) throw new GraphError('INVALID_FORMAT', `Invalid format '${accept}' specified: docx transcripts are no longer offered; ask for text/vtt.`);
  throw new GraphError('INVALID_FORMAT', `Invalid format '${accept}' specified.`);
}

const notFound = () => new GraphError('NOT_FOUND_ITEM', 'The transcript was not found.');

/**
 * Transcripts where Graph lists them (calltranscript-get, onlinemeeting-list-transcripts docs): under online
 * meetings (`/users/{id}/onlineMeetings/{id}` and `/communications/onlineMeetings/{id}`) and under users'
 * ad hoc calls, each with `/{id}`, `/{id}/content`, `/{id}/metadataContent`, and `transcripts/delta()`.
 * getAllTranscripts is dispatched from meetings/meetings.routes.ts.
 */
export async function transcriptsRoutes(app: FastifyInstance, o: TranscriptsRoutesOptions): Promise<void> {
  const base = (r: FastifyRequest) => versionBase(r, o.version);
  const kind = transcriptKind(o.store);

  const one = (request: FastifyRequest, reply: FastifyReply, t: Transcript, itemBase: string) =>
    sendJson(reply, 200, { '@odata.context': `${base(request)}/$metadata#callTranscript/$entity`, ...transcriptToWire(t, `${itemBase}/${t.id}/content`) });

  const content = (request: FastifyRequest, reply: FastifyReply, t: Transcript) => {
    const format = transcriptFormat(request);
    return reply.code(200).type(format).send(format === VTT ? toVtt(t) : toPlainTranscript(t));
  };
  const metadata = (_request: FastifyRequest, reply: FastifyReply, t: Transcript) => reply.code(200).type(VTT).send(toMetadataVtt(t));

  /** Registers list, delta, get, content and metadataContent under `collection` (a URL pattern). */
  const routes = (collection: string, roles: readonly string[], itemBase: (r: FastifyRequest) => string,
    read: (r: FastifyRequest, after: number, limit: number) => Promise<Row[]>, check: (r: FastifyRequest, p: Principal) => (t: Transcript) => Promise<boolean>) => {
    const pre = (request: FastifyRequest) => { const p = principalOf(request); requireAnyRole(p, roles); return p; };
    const item = async (request: FastifyRequest, p: Principal) => {
      const t = await o.store.getTranscript((request.params as Params).transcriptId!);
      if (!t || t.tenantId !== p.tenantId || !(await check(request, p)(t))) throw notFound();
      return t;
    };
    const list = (delta: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
      const p = pre(request);
      const keep = check(request, p);
      // The check may look a row up (ad hoc: is the user in the call), so it runs as the page is read.
      const visible = new Set<string>();
      return sendArtifactPage(request, reply, {
        version: o.version, kind, delta, listUrl: itemBase(request), itemBase: () => itemBase(request),
        read: async (after, limit) => {
          const got = await read(request, after, limit);
          for (const t of got) if (t.tenantId === p.tenantId && (await keep(t))) visible.add(t.id);
          return got;
        },
        keep: (t) => visible.has(t.id),
      });
    };
    app.get(collection, list(false));
    app.get(`${collection}/delta()`, list(true));
    app.get(`${collection}/delta`, list(true));
    app.get(`${collection}/:transcriptId`, async (request, reply) => one(request, reply, await item(request, pre(request)), itemBase(request)));
    app.get(`${collection}/:transcriptId/content`, async (request, reply) => content(request, reply, await item(request, pre(request))));
    app.get(`${collection}/:transcriptId/metadataContent`, async (request, reply) => metadata(request, reply, await item(request, pre(request))));
  };

  // ---- online meetings ---------------------------------------------------------------------------
  const meeting = (prefix: string, userScoped: boolean) => {
    const itemBase = (r: FastifyRequest) => `${base(r)}${prefix.replace(':userId', (r.params as Params).userId ?? '')}/${(r.params as Params).meetingId}/transcripts`;
    routes(`${prefix}/:meetingId/transcripts`, PERMISSIONS.meetingTranscripts, itemBase,
      (r, after, limit) => o.store.transcriptsByMeeting((r.params as Params).meetingId!, after, limit),
      (r) => async (t) => t.meetingId === (r.params as Params).meetingId
        && (!userScoped || String(t.meetingOrganizer?.user?.id ?? '').toLowerCase() === (r.params as Params).userId!.toLowerCase()));
  };
  meeting('/communications/onlineMeetings', false);
  meeting('/users/:userId/onlineMeetings', true);

  // ---- ad hoc calls: listed under each user who took part ------------------------------------------
  routes('/users/:userId/adhocCalls/:callId/transcripts', PERMISSIONS.adhocCallTranscripts,
    (r) => `${base(r)}/users/${(r.params as Params).userId}/adhocCalls/${(r.params as Params).callId}/transcripts`,
    (r, after, limit) => o.store.transcriptsByCall((r.params as Params).callId!.toLowerCase(), after, limit),
    (r) => async (t) => t.meetingId === null && t.callId === (r.params as Params).callId!.toLowerCase()
      && o.store.transcriptHasUser(t.id, (r.params as Params).userId!, 'participant'));
}
