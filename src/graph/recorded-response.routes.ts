import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { CallStore, ConfigStore } from '../domain/ports.js';
import { recordedResponseKey, tokenMatches } from '../media/record-response.js';
import { normaliseId } from '../shared/ids.js';
import { GraphError } from './graph-errors.js';
import { useGraphWire } from './graph-wire.plugin.js';

export interface RecordedResponseRoutesOptions {
  store: CallStore;
  blobs: ConfigStore;
}

const Params = Type.Object({ callId: Type.String({ minLength: 1 }), file: Type.String({ minLength: 1 }) });

/**
 * GET recordingLocation: the WAV a recordResponse/record captured (call-record docs, example 2): the
 * bearer token is the operation's recordingAccessToken, not a Graph token; the body is
 * application/octet-stream as the docs show. Without the right token: 401, and nothing says whether the
 * recording exists. Served outside /v1.0 and /beta, as Graph's file location is.
 */
export async function recordedResponseRoutes(scope: FastifyInstance, o: RecordedResponseRoutesOptions): Promise<void> {
  useGraphWire(scope);
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  app.get('/_media/recordResponses/:callId/:file', { schema: { params: Params } }, async (request, reply) => {
    const operationId = normaliseId(request.params.file.replace(/\.wav$/i, ''));
    const header = request.headers.authorization ?? '';
    const presented = /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : '';
    const op = presented ? await o.store.getOperation(normaliseId(request.params.callId), operationId) : undefined;
    if (!op || op.type !== 'recordOperation' || !tokenMatches(op, presented)) {
      throw new GraphError('INVALID_AUTHENTICATION_TOKEN', presented
        ? 'Access token validation failure: the token is not this recording\'s recordingAccessToken.'
        : 'Access token is empty: send the recordOperation\'s recordingAccessToken as "Authorization: Bearer <token>".',
      { 'www-authenticate': 'Bearer realm="graph-calls", error="invalid_token"' });
    }
    const bytes = await o.blobs.getBlob(recordedResponseKey(op.id));
    if (!bytes) throw new GraphError('NOT_FOUND_ITEM', 'The recording is no longer available.');
    return reply.code(200).type('application/octet-stream').header('content-length', bytes.length).send(bytes);
  });
}
