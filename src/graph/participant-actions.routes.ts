import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import type { InvitationParticipantInfo, Operation } from '../domain/call.js';
import type { RosterService } from '../domain/roster.service.js';
import type { MediaLibrary } from '../media/media-library.js';
import { holdMusicSource } from '../media/hold-music.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { operationToWire, stripOData } from './call.mapper.js';
import { enumMember } from './call-input.js';
import { GraphError } from './graph-errors.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { split } from './route-trie.js';
import {
  CallParams, ChangeScreenSharingRoleBody, ClientContextBody, InvitationParticipantInfoBody, InviteBody, MuteAllBody, ParticipantParams,
  SCREEN_SHARING_ROLES, StartHoldMusicBody,
} from './roster.schemas.js';
import { sendJson, versionBase, type GraphVersion } from './wire.js';

export interface RosterRouteOptions {
  version: GraphVersion;
  roster: RosterService;
  library: MediaLibrary;
}

const ROLE = new Map(SCREEN_SHARING_ROLES.map((r) => [r.toLowerCase(), r]));
const bad = (message: string) => new GraphError('INVALID_BODY', message);

/** The typed operation with its Location (call-mute, participant-invite, participant-startholdmusic docs). */
function sendOperation(request: FastifyRequest, reply: FastifyReply, version: GraphVersion, status: number, op: Operation): FastifyReply {
  const base = versionBase(request, version);
  reply.header('location', `${base}/communications/calls/${op.callId}/operations/${op.id}`);
  return sendJson(reply, status, { '@odata.context': `${base}/$metadata#${op.type}`, ...operationToWire(op, version) });
}

/** Wire invitationParticipantInfo -> domain: no `@odata.*`, ids normalised, an identity that names someone. */
function invitations(participants: ReadonlyArray<Static<typeof InvitationParticipantInfoBody>>): InvitationParticipantInfo[] {
  return participants.map((wire, i) => {
    const info = stripOData(wire) as unknown as InvitationParticipantInfo;
    if (Object.keys(info.identity).length === 0) throw bad(`The property 'participants[${i}].identity' must name a user, phone or guest.`);
    return {
      ...info,
      ...(info.replacesCallId ? { replacesCallId: normaliseId(info.replacesCallId) } : {}),
      ...(info.participantId ? { participantId: normaliseId(info.participantId) } : {}),
    };
  });
}

/**
 * Roster control: self mute/unmute, participants/{id}/mute, beta participants/muteAll, participants/invite,
 * DELETE participants/{id}, start/stopHoldMusic, changeScreenSharingRole and addLargeGalleryView.
 * Paths match case-insensitively, with or without `microsoft.graph.` (app.ts rewriteUrl).
 */
export async function participantActionsRoutes(scope: FastifyInstance, { version, roster, library }: RosterRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();

  /** https://learn.microsoft.com/graph/api/call-mute — 200 + completed muteParticipantOperation. */
  app.post('/communications/calls/:id/mute', { schema: { params: CallParams, body: ClientContextBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.muteSelf);
    const op = await roster.muteSelf(p, normaliseId(request.params.id), true, request.body?.clientContext ?? null);
    return sendOperation(request, reply, version, 200, op);
  });

  /** https://learn.microsoft.com/graph/api/call-unmute — 200 + completed unmuteParticipantOperation. */
  app.post('/communications/calls/:id/unmute', { schema: { params: CallParams, body: ClientContextBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.muteSelf);
    const op = await roster.muteSelf(p, normaliseId(request.params.id), false, request.body?.clientContext ?? null);
    return sendOperation(request, reply, version, 200, op);
  });

  /** https://learn.microsoft.com/graph/api/participant-mute — 200 + completed muteParticipantOperation. */
  app.post('/communications/calls/:id/participants/:childId/mute', { schema: { params: ParticipantParams, body: ClientContextBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.muteParticipant);
    const op = await roster.muteParticipant(p, normaliseId(request.params.id), normaliseId(request.params.childId), request.body?.clientContext ?? null);
    return sendOperation(request, reply, version, 200, op);
  });

  if (version === 'beta') {
    // muteAll (and muteParticipantsOperation) exist only in beta; on v1.0 the route trie answers "Resource not found for the segment".
    /** https://learn.microsoft.com/graph/api/participant-muteall?view=graph-rest-beta — 200. */
    app.post('/communications/calls/:id/participants/muteAll', { schema: { params: CallParams, body: MuteAllBody } }, async (request, reply) => {
      const p = principalOf(request);
      requireAnyRole(p, PERMISSIONS.muteParticipant);
      const ids = (request.body?.participants ?? []).map((x) => normaliseId(x));
      const op = await roster.muteAll(p, normaliseId(request.params.id), ids, request.body?.clientContext ?? null);
      return sendOperation(request, reply, version, 200, op);
    });
  } else {
    // On v1.0 `participants/muteAll` would otherwise route as participants/{id} (a 405): answer as Graph does
    // for an action the version lacks, naming the segment as the client spelled it.
    app.post('/communications/calls/:id/participants/muteAll', async (request) => {
      const segment = split(request.originalUrl).find((s) => /^(microsoft\.graph\.)?muteall$/i.test(s)) ?? 'muteAll';
      throw new GraphError('UNKNOWN_SEGMENT', `Resource not found for the segment '${segment}'.`);
    });
  }

  /** https://learn.microsoft.com/graph/api/participant-invite — 200 + running inviteParticipantsOperation + Location. */
  app.post('/communications/calls/:id/participants/invite', { schema: { params: CallParams, body: InviteBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.inviteParticipants);
    const op = await roster.invite(p, normaliseId(request.params.id), {
      participants: invitations(request.body.participants),
      clientContext: request.body.clientContext ?? null,
    });
    return sendOperation(request, reply, version, 200, op);
  });

  /** https://learn.microsoft.com/graph/api/participant-delete — 204; also cancels an invitation not yet answered. */
  app.delete('/communications/calls/:id/participants/:childId', { schema: { params: ParticipantParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.deleteParticipant);
    await roster.removeParticipant(p, normaliseId(request.params.id), normaliseId(request.params.childId));
    return reply.code(204).send();
  });

  /** https://learn.microsoft.com/graph/api/participant-startholdmusic — 202 + running startHoldMusicOperation. */
  app.post('/communications/calls/:id/participants/:childId/startHoldMusic', { schema: { params: ParticipantParams, body: StartHoldMusicBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.holdMusic);
    const uri = request.body?.customPrompt?.mediaInfo.uri;
    const music = uri === undefined ? null : await holdMusicSource(uri, library);
    if (uri !== undefined && !music) {
      throw bad(`Invalid value for property 'customPrompt.mediaInfo.uri': '${uri}' names no clip of the media library (upload it with POST /_emulator/media and use …/_emulator/media/{mediaId}).`);
    }
    const op = await roster.startHoldMusic(p, normaliseId(request.params.id), normaliseId(request.params.childId), music, request.body?.clientContext ?? null);
    return sendOperation(request, reply, version, 202, op);
  });

  /** https://learn.microsoft.com/graph/api/participant-stopholdmusic — 202 + running stopHoldMusicOperation. */
  app.post('/communications/calls/:id/participants/:childId/stopHoldMusic', { schema: { params: ParticipantParams, body: ClientContextBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.holdMusic);
    const op = await roster.stopHoldMusic(p, normaliseId(request.params.id), normaliseId(request.params.childId), request.body?.clientContext ?? null);
    return sendOperation(request, reply, version, 202, op);
  });

  /** https://learn.microsoft.com/graph/api/call-changescreensharingrole — 202, no body; a roster update follows. */
  app.post('/communications/calls/:id/changeScreenSharingRole', { schema: { params: CallParams, body: ChangeScreenSharingRoleBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.changeScreenSharingRole);
    const role = enumMember(ROLE, request.body.role, 'role') as 'viewer' | 'sharer';
    await roster.changeScreenSharingRole(p, normaliseId(request.params.id), role);
    return reply.code(202).send();
  });

  /** https://learn.microsoft.com/graph/api/call-addlargegalleryview — 202 + running addLargeGalleryViewOperation. */
  app.post('/communications/calls/:id/addLargeGalleryView', { schema: { params: CallParams, body: ClientContextBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.addLargeGalleryView);
    const op = await roster.addLargeGalleryView(p, normaliseId(request.params.id), request.body?.clientContext ?? null);
    return sendOperation(request, reply, version, 202, op);
  });
}
