import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import type { Operation } from '../domain/call.js';
import { DTMF_DEFAULT_GAP_MS, RECORD_LIMITS, toneOf, type Tone } from '../domain/media-actions.js';
import type { MediaActionsService, RecordCommand } from '../domain/media-actions.service.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { operationToWire } from './call.mapper.js';
import { GraphError } from './graph-errors.js';
import { mediaOperationMembers } from './media-actions.mapper.js';
import { CallIdParams, MediaActionBody, PlayPromptBody, recordBody, SendDtmfTonesBody } from './media-actions.schemas.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { origin, sendJson, versionBase, type GraphVersion } from './wire.js';

export interface MediaActionsRouteOptions {
  version: GraphVersion;
  media: MediaActionsService;
}

const bad = (message: string) => new GraphError('INVALID_BODY', message);
type Prompts = Static<typeof PlayPromptBody>['prompts'];

/** 200 + Location of the operation + the typed operation, with the members `version` has (metadata). */
function sendOperation(request: FastifyRequest, reply: FastifyReply, version: GraphVersion, op: Operation): FastifyReply {
  const base = versionBase(request, version);
  // operationToWire keeps only the members (and media members) `version` has (version-filter.ts).
  const body: Record<string, unknown> = { '@odata.context': `${base}/$metadata#${op.type}`, ...operationToWire(op, version) };
  reply.header('location', `${base}/communications/calls/${op.callId}/operations/${op.id}`);
  return sendJson(reply, 200, body);
}

/** prompts[]: each a mediaPrompt (the only concrete prompt type); beta's mediaPrompt.loop repeats it that many times. */
function promptsOf(prompts: Prompts | null | undefined, version: GraphVersion): Array<{ uri: string; repeat: number }> {
  return (prompts ?? []).map((p, i) => {
    const t = p['@odata.type'];
    if (t !== undefined && t.replace(/^#?microsoft\.graph\./i, '').toLowerCase() !== 'mediaprompt') {
      throw bad(`Invalid value '${t}' for property 'prompts[${i}].@odata.type': expected #microsoft.graph.mediaPrompt.`);
    }
    return { uri: p.mediaInfo.uri, repeat: version === 'beta' && typeof p.loop === 'number' ? Math.max(1, p.loop) : 1 };
  });
}

function tonesOf(values: readonly string[], member: string): Tone[] {
  return values.map((v, i) => {
    const tone = toneOf(v);
    if (!tone) throw bad(`Invalid value '${v}' for property '${member}[${i}]': expected a tone (tone0-tone9, star, pound, a-d, flash).`);
    return tone;
  });
}

/**
 * The service-hosted media actions (call-playprompt, call-record, call-cancelmediaprocessing,
 * call-subscribetotone, call-senddtmftones docs), each 200 + the typed operation + Location. `record`
 * and playPrompt's `loop` are beta only: on v1.0 the path answers "Resource not found for the segment"
 * (route trie) and `loop` is an unknown member, ignored.
 */
export async function mediaActionsRoutes(scope: FastifyInstance, { version, media }: MediaActionsRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  /** https://learn.microsoft.com/graph/api/call-playprompt */
  app.post('/communications/calls/:id/playPrompt', { schema: { params: CallIdParams, body: PlayPromptBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.playPrompt);
    const op = await media.playPrompt(p, normaliseId(request.params.id), {
      prompts: promptsOf(request.body.prompts, version),
      loop: version === 'beta' && request.body.loop === true,
      clientContext: request.body.clientContext ?? null,
      origin: origin(request),
    });
    return sendOperation(request, reply, version, op);
  });

  const maxRecordSeconds = version === 'beta' ? RECORD_LIMITS.betaMaxRecordDurationSeconds : RECORD_LIMITS.maxSeconds;
  const RecordBody = recordBody(maxRecordSeconds);
  const recordCommand = (request: FastifyRequest, b: Static<typeof RecordBody>): RecordCommand => {
    const seconds = (v: number | null | undefined) => (v ?? RECORD_LIMITS.defaultSeconds) * 1000;
    return {
      prompts: promptsOf(b.prompts, version),
      bargeInAllowed: b.bargeInAllowed ?? false,
      initialSilenceTimeoutMs: seconds(b.initialSilenceTimeoutInSeconds),
      maxSilenceTimeoutMs: seconds(b.maxSilenceTimeoutInSeconds),
      maxRecordDurationMs: seconds(b.maxRecordDurationInSeconds),
      playBeep: b.playBeep ?? true,
      // A stop tone that names no key (the beta sample lists "11") is kept and never matches.
      stopTones: (b.stopTones ?? []).map((t) => toneOf(t) ?? t),
      clientContext: b.clientContext ?? null,
      origin: origin(request),
    };
  };

  /** https://learn.microsoft.com/graph/api/call-record (recordResponse, v1.0 and beta) */
  app.post('/communications/calls/:id/recordResponse', { schema: { params: CallIdParams, body: RecordBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.recordResponse);
    const op = await media.record(p, normaliseId(request.params.id), recordCommand(request, request.body), 'recordResponse');
    return sendOperation(request, reply, version, op);
  });

  if (version === 'beta') {
    /** beta call-record (`record`): the same operation as recordResponse. */
    app.post('/communications/calls/:id/record', { schema: { params: CallIdParams, body: RecordBody } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.recordResponse);
      const op = await media.record(p, normaliseId(request.params.id), recordCommand(request, request.body), 'record');
      return sendOperation(request, reply, version, op);
    });
  }

  /** https://learn.microsoft.com/graph/api/call-cancelmediaprocessing */
  app.post('/communications/calls/:id/cancelMediaProcessing', { schema: { params: CallIdParams, body: MediaActionBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.cancelMediaProcessing);
    const op = await media.cancelMediaProcessing(p, normaliseId(request.params.id), request.body.clientContext ?? null);
    return sendOperation(request, reply, version, op);
  });

  /** https://learn.microsoft.com/graph/api/call-subscribetotone */
  app.post('/communications/calls/:id/subscribeToTone', { schema: { params: CallIdParams, body: MediaActionBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.subscribeToTone);
    const op = await media.subscribeToTone(p, normaliseId(request.params.id), request.body.clientContext ?? null);
    return sendOperation(request, reply, version, op);
  });

  /** https://learn.microsoft.com/graph/api/call-senddtmftones */
  app.post('/communications/calls/:id/sendDtmfTones', { schema: { params: CallIdParams, body: SendDtmfTonesBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.sendDtmfTones);
    const op = await media.sendDtmfTones(p, normaliseId(request.params.id), {
      tones: tonesOf(request.body.tones, 'tones'),
      delayBetweenTonesMs: request.body.delayBetweenTonesMs ?? DTMF_DEFAULT_GAP_MS,
      clientContext: request.body.clientContext ?? null,
    });
    return sendOperation(request, reply, version, op);
  });
}
