import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AudioRoutingGroupInput } from '../domain/roster.service.js';
import { ROUTING_MODES, type RoutingMode } from '../domain/roster.js';
import { normaliseId } from '../shared/ids.js';
import { principalOf } from './auth.hook.js';
import { enumMember } from './call-input.js';
import { PERMISSIONS, requireAnyRole } from './permissions.js';
import { audioRoutingGroupToWire, contentSharingSessionToWire } from './roster.mapper.js';
import { AudioRoutingGroupBody, CallParams, ChildParams } from './roster.schemas.js';
import type { RosterRouteOptions } from './participant-actions.routes.js';
import { sendJson, versionBase } from './wire.js';

const MODE = new Map(ROUTING_MODES.map((m) => [m.toLowerCase(), m]));

type GroupBody = { id?: string | null; routingMode?: string; sources?: string[]; receivers?: string[] };
const groupInput = (b: GroupBody | undefined): AudioRoutingGroupInput => ({
  id: b?.id ?? null,
  routingMode: b?.routingMode === undefined ? undefined : (enumMember(MODE, b.routingMode, 'routingMode') as RoutingMode),
  sources: b?.sources?.map(normaliseId),
  receivers: b?.receivers?.map(normaliseId),
});

/**
 * The call's navigations for app-hosted media: audioRoutingGroups (create, list, get, update, delete;
 * audioroutinggroup docs) and contentSharingSessions (list, get; call-list-contentsharingsessions and
 * contentsharingsession-get docs). Sessions are started by the far side (control plane).
 */
export async function appHostedMediaRoutes(scope: FastifyInstance, { version, roster }: RosterRouteOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  const groupsContext = (base: string, id: string) => `${base}/$metadata#communications/calls('${id}')/audioRoutingGroups`;

  /** https://learn.microsoft.com/graph/api/call-post-audioroutinggroups — 200 (the docs' status, not 201). */
  app.post('/communications/calls/:id/audioRoutingGroups', { schema: { params: CallParams, body: AudioRoutingGroupBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.audioRoutingGroups);
    const id = normaliseId(request.params.id);
    const group = await roster.createAudioRoutingGroup(p, id, groupInput(request.body));
    return sendJson(reply, 200, { '@odata.context': `${groupsContext(versionBase(request, version), id)}/$entity`, ...audioRoutingGroupToWire(group) });
  });

  /** https://learn.microsoft.com/graph/api/call-list-audioroutinggroups */
  app.get('/communications/calls/:id/audioRoutingGroups', { schema: { params: CallParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.audioRoutingGroups);
    const id = normaliseId(request.params.id);
    const groups = await roster.listAudioRoutingGroups(p, id);
    return sendJson(reply, 200, { '@odata.context': groupsContext(versionBase(request, version), id), value: groups.map(audioRoutingGroupToWire) });
  });

  /** https://learn.microsoft.com/graph/api/audioroutinggroup-get — group ids are the client's own: compared exactly. */
  app.get('/communications/calls/:id/audioRoutingGroups/:childId', { schema: { params: ChildParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.audioRoutingGroups);
    const id = normaliseId(request.params.id);
    const group = await roster.getAudioRoutingGroup(p, id, request.params.childId);
    return sendJson(reply, 200, { '@odata.context': `${groupsContext(versionBase(request, version), id)}/$entity`, ...audioRoutingGroupToWire(group) });
  });

  /** https://learn.microsoft.com/graph/api/audioroutinggroup-update — 200 with the updated group. */
  app.patch('/communications/calls/:id/audioRoutingGroups/:childId', { schema: { params: ChildParams, body: AudioRoutingGroupBody } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.audioRoutingGroups);
    const id = normaliseId(request.params.id);
    const group = await roster.updateAudioRoutingGroup(p, id, request.params.childId, groupInput(request.body));
    return sendJson(reply, 200, { '@odata.context': `${groupsContext(versionBase(request, version), id)}/$entity`, ...audioRoutingGroupToWire(group) });
  });

  /** https://learn.microsoft.com/graph/api/audioroutinggroup-delete — 204. */
  app.delete('/communications/calls/:id/audioRoutingGroups/:childId', { schema: { params: ChildParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.audioRoutingGroups);
    await roster.deleteAudioRoutingGroup(p, normaliseId(request.params.id), request.params.childId);
    return reply.code(204).send();
  });

  const sessionsContext = (base: string, id: string) => `${base}/$metadata#communications/calls('${id}')/contentSharingSessions`;

  /** https://learn.microsoft.com/graph/api/call-list-contentsharingsessions */
  app.get('/communications/calls/:id/contentSharingSessions', { schema: { params: CallParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.contentSharingSessions);
    const id = normaliseId(request.params.id);
    const sessions = await roster.listContentSharingSessions(p, id);
    return sendJson(reply, 200, { '@odata.context': sessionsContext(versionBase(request, version), id), value: sessions.map((s) => contentSharingSessionToWire(s, version)) });
  });

  /** https://learn.microsoft.com/graph/api/contentsharingsession-get */
  app.get('/communications/calls/:id/contentSharingSessions/:childId', { schema: { params: ChildParams } }, async (request, reply) => {
    const p = principalOf(request);
    requireAnyRole(p, PERMISSIONS.contentSharingSessions);
    const id = normaliseId(request.params.id);
    const s = await roster.getContentSharingSession(p, id, normaliseId(request.params.childId));
    return sendJson(reply, 200, { '@odata.context': `${sessionsContext(versionBase(request, version), id)}/$entity`, ...contentSharingSessionToWire(s, version) });
  });
}
