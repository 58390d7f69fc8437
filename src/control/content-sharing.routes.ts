import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { contentSharingSessionToWire } from '../graph/roster.mapper.js';
import { normaliseId } from '../shared/ids.js';
import type { InviteesSimulator } from '../simulator/invitees.js';

export interface ContentSharingRoutesOptions {
  invitees: InviteesSimulator;
}

const CallParams = Type.Object({ id: Type.String() });
const SessionParams = Type.Object({ id: Type.String(), sessionId: Type.String() });
const StartBody = Type.Object({ participantId: Type.String({ minLength: 1 }) });

/**
 * The far side shares its screen (docs/control-plane.md): a participant starts a content-sharing session
 * the bot sees under /communications/calls/{id}/contentSharingSessions, and ends it.
 */
export async function contentSharingRoutes(scope: FastifyInstance, o: ContentSharingRoutesOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  app.post('/_emulator/calls/:id/contentSharingSessions', { schema: { params: CallParams, body: StartBody } }, async (request, reply) => {
    const session = await o.invitees.startContentSharing(normaliseId(request.params.id), normaliseId(request.body.participantId));
    return reply.code(201).send(contentSharingSessionToWire(session, 'beta'));
  });

  app.delete('/_emulator/calls/:id/contentSharingSessions/:sessionId', { schema: { params: SessionParams } }, async (request, reply) => {
    await o.invitees.endContentSharing(normaliseId(request.params.id), normaliseId(request.params.sessionId));
    return reply.code(204).send();
  });
}
