import type { AudioRoutingGroup, ContentSharingSession } from '../domain/roster.js';
import type { GraphVersion } from './wire.js';

/** Domain -> wire for the call's app-hosted-media navigations (audioroutinggroup / contentsharingsession resource docs). */

export function audioRoutingGroupToWire(g: AudioRoutingGroup): Record<string, unknown> {
  return { '@odata.type': '#microsoft.graph.audioRoutingGroup', id: g.id, routingMode: g.routingMode, sources: g.sources, receivers: g.receivers };
}

/** v1.0's contentSharingSession has only `id`; beta adds presenterParticipantId (and pngOfCurrentSlide, which we have no slide for). */
export function contentSharingSessionToWire(s: ContentSharingSession, version: GraphVersion): Record<string, unknown> {
  const body: Record<string, unknown> = { '@odata.type': '#microsoft.graph.contentSharingSession', id: s.id };
  if (version === 'beta') {
    body.presenterParticipantId = s.presenterParticipantId;
    body.pngOfCurrentSlide = null;
  }
  return body;
}
