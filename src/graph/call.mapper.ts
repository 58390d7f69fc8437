import type {
  Call, IdentitySet, InvitationParticipantInfo, Operation, Participant, ParticipantInfo, Recording, ResultInfo, TypedValue,
} from '../domain/call.js';
import type { NotificationRenderer } from '../domain/ports.js';
import { forVersion } from './version-filter.js';
import type { GraphVersion } from './wire.js';
import { mediaOperationMembers, toneInfoToWire } from './media-actions.mapper.js';

/**
 * Domain <-> wire for calls, participants and operations. This is the only place `@odata.type` is added
 * to what we send, or removed from what we receive.
 */

const T = (name: string) => `#microsoft.graph.${name}`;

// ---- wire -> domain -----------------------------------------------------------------------------

/**
 * Deep copy without `@odata.*` annotations (domain values never hold them). Iterative, with its own
 * stack, so no nesting depth can overflow the call stack (the body parser limits depth as well).
 */
export function stripOData<V>(value: V): V {
  const copy = (v: unknown): unknown => (Array.isArray(v) ? new Array<unknown>(v.length) : v && typeof v === 'object' ? {} : v);
  const root = copy(value);
  const work: Array<[from: unknown, to: unknown]> = root !== value ? [[value, root]] : [];
  for (let item = work.pop(); item; item = work.pop()) {
    const [from, to] = item;
    if (Array.isArray(from)) {
      const out = to as unknown[];
      from.forEach((v, i) => { out[i] = copy(v); if (out[i] !== v) work.push([v, out[i]]); });
    } else {
      const out = to as Record<string, unknown>;
      for (const [k, v] of Object.entries(from as Record<string, unknown>)) {
        if (k.startsWith('@odata.')) continue;
        const c = copy(v);
        // defineProperty: a "__proto__" member stays a plain member, as JSON.parse made it.
        Object.defineProperty(out, k, { value: c, enumerable: true, writable: true, configurable: true });
        if (c !== v) work.push([v, c]);
      }
    }
  }
  return root as V;
}

/** `{"@odata.type":"#microsoft.graph.serviceHostedMediaConfig", ...}` -> `{type:'serviceHostedMediaConfig', props}`. */
export function toTypedValue(wire: Record<string, unknown>, fallbackType: string): TypedValue {
  const t = wire['@odata.type'];
  const type = typeof t === 'string' ? t.replace(/^#?microsoft\.graph\./i, '') : fallbackType;
  return { type, props: stripOData(wire) };
}

// ---- domain -> wire -----------------------------------------------------------------------------

const typed = (v: TypedValue | null) => (v ? { '@odata.type': T(v.type), ...v.props } : null);

export function identitySetToWire(set: IdentitySet | null | undefined): Record<string, unknown> | null {
  if (!set) return null;
  const out: Record<string, unknown> = { '@odata.type': T('identitySet') };
  for (const [k, v] of Object.entries(set)) out[k] = v ? { '@odata.type': T('identity'), ...v } : null;
  return out;
}

function participantInfoToWire(info: ParticipantInfo | null): Record<string, unknown> | null {
  if (!info) return null;
  return { '@odata.type': T('participantInfo'), ...info, identity: identitySetToWire(info.identity) };
}

function invitationToWire(t: InvitationParticipantInfo): Record<string, unknown> {
  return { '@odata.type': T('invitationParticipantInfo'), ...t, identity: identitySetToWire(t.identity) };
}

export function resultInfoToWire(r: ResultInfo | null): Record<string, unknown> | null {
  return r ? { '@odata.type': T('resultInfo'), code: r.code, subcode: r.subcode, message: r.message } : null;
}

/** The beta shape; for v1.0, forVersion drops what only beta has (version-filter.ts). */
export function callToWire(c: Call, version: GraphVersion): Record<string, unknown> {
  const body: Record<string, unknown> = {
    '@odata.type': T('call'),
    id: c.id,
    state: c.state,
    direction: c.direction,
    callbackUri: c.callbackUri,
    callChainId: c.callChainId,
    subject: c.subject,
    myParticipantId: c.myParticipantId,
    tenantId: c.tenantId,
    requestedModalities: c.requestedModalities,
    mediaConfig: typed(c.mediaConfig),
    meetingInfo: typed(c.meetingInfo),
    chatInfo: c.chatInfo ? { '@odata.type': T('chatInfo'), ...c.chatInfo } : null,
    callOptions: typed(c.callOptions),
    source: participantInfoToWire(c.source),
    targets: c.targets.map(invitationToWire),
    resultInfo: resultInfoToWire(c.resultInfo),
    callRoutes: [],
    incomingContext: c.incomingContext ? { '@odata.type': T('incomingContext'), ...c.incomingContext } : null,
    mediaState: null,
    toneInfo: toneInfoToWire(c),
    transcription: c.transcription
      ? { '@odata.type': T('callTranscriptionInfo'), state: c.transcription.state, lastModifiedDateTime: new Date(c.transcription.lastModifiedAt).toISOString() }
      : null,
  };
  // Open-type members Teams adds (policy invites carry applicationMetadata).
  Object.assign(body, c.extras);
  body.activeModalities = c.state === 'established' ? c.requestedModalities : [];
  body.answeredBy = null;
  body.meetingCapability = null;
  body.ringingTimeoutInSeconds = null;
  body.routingPolicies = [];
  body.terminationReason = c.terminationReason;
  return forVersion(body, version);
}

export function participantToWire(p: Participant, version: GraphVersion = 'beta'): Record<string, unknown> {
  return forVersion({
    '@odata.type': T('participant'),
    id: p.id,
    info: participantInfoToWire(p.info),
    isInLobby: p.isInLobby,
    isMuted: p.isMuted,
    mediaStreams: [{ '@odata.type': T('mediaStream'), mediaType: 'audio', direction: 'sendReceive', label: 'main-audio', sourceId: String(p.seq + 1), serverMuted: false },
      // call-changescreensharingrole docs: a sharer sends a videoBasedScreenSharing stream (sendOnly).
      ...(p.screenSharingRole === 'sharer'
        ? [{ '@odata.type': T('mediaStream'), mediaType: 'videoBasedScreenSharing', direction: 'sendOnly', label: 'applicationsharing-video', sourceId: String(p.seq + 1), serverMuted: false }]
        : [])],
    metadata: null,
    recordingInfo: p.recordingInfo
      ? { '@odata.type': T('recordingInfo'), recordingStatus: p.recordingInfo.recordingStatus, initiator: identitySetToWire(p.recordingInfo.initiator) }
      : null,
    removedState: null,
    restrictedExperience: null,
    rosterSequenceNumber: p.seq,
  }, version);
}

/** Operation status goes out in Graph's lowercase wire form (docs and webhooks), not the CSDL's PascalCase. */
export function operationToWire(op: Operation, version: GraphVersion = 'beta'): Record<string, unknown> {
  return forVersion({
    '@odata.type': T(op.type),
    id: op.id,
    clientContext: op.clientContext,
    status: op.status,
    resultInfo: resultInfoToWire(op.resultInfo),
    // inviteParticipantsOperation: invitationParticipantInfo[]; muteParticipantsOperation (beta): participant ids.
    ...(op.participants ? { participants: op.participants.map((x) => (typeof x === 'string' ? x : invitationToWire(x))) } : {}),
    ...mediaOperationMembers(op, version),
  }, version);
}

/** Graph `callRecording` (callrecording resource docs). `contentUrl` is where its bytes are served. */
export function recordingToWire(r: Recording, contentUrl: string): Record<string, unknown> {
  return {
    '@odata.type': T('callRecording'),
    id: r.id,
    callId: r.callId,
    meetingId: r.meetingId,
    contentCorrelationId: r.contentCorrelationId,
    createdDateTime: new Date(r.createdAt).toISOString(),
    endDateTime: new Date(r.endedAt).toISOString(),
    meetingOrganizer: identitySetToWire(r.meetingOrganizer),
    recordingContentUrl: contentUrl,
  };
}

/**
 * resourceData of commsNotifications, with `@odata.id` as real notifications carry, in the Graph version
 * the bot drives the call through (Call.apiVersion: the create or answer request's; beta until then).
 */
export const notificationRenderer: NotificationRenderer = {
  call: (c) => ({ ...callToWire(c, c.apiVersion ?? 'beta'), '@odata.id': `/communications/calls/${c.id}`, '@odata.etag': `W/"${c.version}"` }),
  participants: (ps, c) => ps.map((p) => participantToWire(p, c?.apiVersion ?? 'beta')),
  operation: (op, c) => ({ ...operationToWire(op, c?.apiVersion ?? 'beta'), '@odata.id': `/communications/calls/${op.callId}/operations/${op.id}` }),
  // No host is known when a job renders: the content URL is relative to the Graph version root.
  recording: (r, path) => ({ ...recordingToWire(r, `${path}/content`), '@odata.id': path }),
};
