import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Operation } from '../domain/call.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { operationToWire } from './call.mapper.js';
import type { GraphRouteOptions } from './calls.routes.js';
import { GraphError } from './graph-errors.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { CallParams, TranscriptionBody } from './schemas.js';
import { sendJson, versionBase } from './wire.js';

/** "Currently supporting: en-us" (call-starttranscription docs); matched case-insensitively. */
const LANGUAGES = ['en-us'];

function checkLanguage(language: string | null | undefined): void {
  if (language === undefined || language === null) return;
  if (!LANGUAGES.includes(language.toLowerCase())) {
    throw new GraphError('INVALID_BODY', `Invalid value '${language}' for property 'language': supported languages are ${LANGUAGES.join(', ')}.`);
  }
}

/** 202 + Location of the operation + the typed operation (doc samples of both actions). */
function sendOperation(request: FastifyRequest, reply: FastifyReply, op: Operation): FastifyReply {
  const base = versionBase(request, 'beta');
  reply.header('location', `${base}/communications/calls/${op.callId}/operations/${op.id}`);
  return sendJson(reply, 202, { '@odata.context': `${base}/$metadata#${op.type}`, ...operationToWire(op, 'beta') });
}

/**
 * start/stopTranscription exist only in beta (metadata: no such actions in v1.0): on v1.0 the route trie
 * answers "Resource not found for the segment". The transcript itself is another issue's.
 */
export async function transcriptionRoutes(app: FastifyInstance, { version, calls }: GraphRouteOptions): Promise<void> {
  if (version !== 'beta') return;
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const schema = { params: CallParams, body: TranscriptionBody };

  /** https://learn.microsoft.com/graph/api/call-starttranscription?view=graph-rest-beta */
  typed.post('/communications/calls/:id/startTranscription', { schema }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.startTranscription);
    checkLanguage(request.body.language);
    const op = await calls.startTranscription(p, normaliseId(request.params.id), request.body.clientContext ?? null);
    return sendOperation(request, reply, op);
  });

  /** https://learn.microsoft.com/graph/api/call-stoptranscription?view=graph-rest-beta */
  typed.post('/communications/calls/:id/stopTranscription', { schema }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.stopTranscription);
    checkLanguage(request.body.language);
    const op = await calls.stopTranscription(p, normaliseId(request.params.id), request.body.clientContext ?? null);
    return sendOperation(request, reply, op);
  });
}
