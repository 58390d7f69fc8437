import type { ArtifactKind } from '../domain/subscription.js';

/**
 * The subscription resource strings graph-calls serves, and the ONE place that parses them (spec
 * graph-recordings-pipeline §4.1, from the Teams recording/transcript change-notification page and the
 * subscription permission tables). Every string names an artifact kind (recordings or transcripts) and a
 * scope; the scope is reduced to a key (`meetings`, `meeting:{id}`, …) that the change publisher computes
 * for each new artifact too, so matching is one indexed lookup.
 */

export type ResourceScope = 'tenantMeetings' | 'meeting' | 'userMeetings' | 'appMeetings' | 'tenantAdhoc' | 'adhocCall' | 'userAdhoc';

export interface ParsedResource {
  kind: ArtifactKind;
  scope: ResourceScope;
  /** Meeting id, user id, Teams app id or ad hoc call id, as written (scopes that have one). */
  id: string | null;
  scopeKey: string;
  /** Normalised resource: duplicates compare on it (spec §9.1, INFERRED). */
  matchKey: string;
  /** Application permission the create needs (spec §4.1). */
  roles: readonly string[];
  /** Only on /beta (spec §4.1; ad hoc rows are absent from the v1.0 permission tables, INFERRED beta-only). */
  betaOnly: boolean;
  /** `?useResourceSpecificConsentBasedAuthorization=true` was given. */
  rsc: boolean;
}

const ROLE: Record<string, readonly string[]> = {
  meetingRecording: ['OnlineMeetingRecording.Read.All'],
  meetingTranscript: ['OnlineMeetingTranscript.Read.All'],
  adhocRecording: ['CallRecordings.Read.All'],
  adhocTranscript: ['CallTranscripts.Read.All'],
};

/** Which artifacts a scope key covers: the keys the publisher computes for one artifact (change-publisher.ts). */
export function scopeKeyOf(scope: ResourceScope, id: string | null): string {
  switch (scope) {
    case 'tenantMeetings': return 'meetings';
    case 'tenantAdhoc': return 'adhoc';
    case 'meeting': return `meeting:${id!}`;
    case 'userMeetings': return `userMeetings:${id!.toLowerCase()}`;
    case 'appMeetings': return `appMeetings:${id!.toLowerCase()}`;
    case 'adhocCall': return `adhocCall:${id!.toLowerCase()}`;
    case 'userAdhoc': return `userAdhoc:${id!.toLowerCase()}`;
  }
}

// Segment patterns: ids are one path segment; the function names match case-insensitively (Graph routes
// do), and may carry empty parentheses (`getAllRecordings()`), as OData function calls may.
const SEG = "([^/?#()']+)";
const FN = (name: string) => `${name}(?:\\(\\))?`;
const PATTERNS: Array<{ re: RegExp; scope: ResourceScope; kind: ArtifactKind; adhoc: boolean; betaOnly: boolean }> = [];
for (const [kind, fn, coll] of [['callRecording', 'getAllRecordings', 'recordings'], ['callTranscript', 'getAllTranscripts', 'transcripts']] as const) {
  const add = (src: string, scope: ResourceScope, adhoc: boolean, betaOnly: boolean) =>
    PATTERNS.push({ re: new RegExp(`^${src}$`, 'i'), scope, kind, adhoc, betaOnly });
  add(`communications/onlineMeetings/${FN(fn)}`, 'tenantMeetings', false, false);
  add(`communications/onlineMeetings/${SEG}/${coll}`, 'meeting', false, false);
  add(`communications/onlineMeetings\\('${SEG}'\\)/${coll}`, 'meeting', false, false);
  add(`users/${SEG}/onlineMeetings/${FN(fn)}`, 'userMeetings', false, false);
  add(`appCatalogs/teamsApps/${SEG}/installedToOnlineMeetings/${FN(fn)}`, 'appMeetings', false, true);
  add(`communications/adhocCalls/${FN(fn)}`, 'tenantAdhoc', true, true);
  add(`communications/adhocCalls/${SEG}/${coll}`, 'adhocCall', true, true);
  add(`users/${SEG}/adhocCalls/${FN(fn)}`, 'userAdhoc', true, true);
}

/** Why a resource string is refused, in Graph's words where Graph has some; null when it parses. */
export type ResourceProblem = { problem: string };

/**
 * Parses a subscription `resource`. A leading `/` and the query are not part of the match (Graph echoes
 * the string as sent, spec §1.3); the only query option understood is the RSC switch.
 */
export function parseResource(resource: string): ParsedResource | ResourceProblem {
  const q = resource.indexOf('?');
  const path = (q >= 0 ? resource.slice(0, q) : resource).replace(/^\/+/, '').replace(/\/+$/, '');
  const query = new URLSearchParams(q >= 0 ? resource.slice(q + 1) : '');
  for (const key of query.keys()) {
    if (key.toLowerCase() !== 'useresourcespecificconsentbasedauthorization') {
      return { problem: `The query option '${key}' is not supported on resource '${resource}'.` };
    }
  }
  const rsc = [...query.entries()].some(([k, v]) => k.toLowerCase() === 'useresourcespecificconsentbasedauthorization' && v.toLowerCase() === 'true');
  for (const p of PATTERNS) {
    const m = p.re.exec(path);
    if (!m) continue;
    const id = m[1] ?? null;
    const roleKey = `${p.adhoc ? 'adhoc' : 'meeting'}${p.kind === 'callRecording' ? 'Recording' : 'Transcript'}`;
    return {
      kind: p.kind, scope: p.scope, id, scopeKey: scopeKeyOf(p.scope, id), roles: ROLE[roleKey]!, betaOnly: p.betaOnly, rsc,
      // Meeting ids are case-sensitive base64; every other part compares case-insensitively.
      matchKey: `${p.kind}|${scopeKeyOf(p.scope, id)}`,
    };
  }
  return { problem: `The resource '${resource}' is not supported for change notifications by this service. Supported: communications/onlineMeetings/getAllRecordings, communications/onlineMeetings/{onlineMeetingId}/recordings, users/{userId}/onlineMeetings/getAllRecordings, their transcript twins, and (beta) appCatalogs/teamsApps/{appId}/installedToOnlineMeetings/getAll*, communications/adhocCalls/getAll*, communications/adhocCalls/{callId}/recordings|transcripts, users/{userId}/adhocCalls/getAll*.` };
}

export function isProblem(p: ParsedResource | ResourceProblem): p is ResourceProblem {
  return 'problem' in p;
}

/** What the publisher knows of a new artifact, to compute the scope keys that cover it. */
export interface ArtifactScope {
  /** Online meeting id (meeting artifacts) or null (ad hoc calls). */
  meetingId: string | null;
  organizerId: string | null;
  /** The call's id: the ad hoc call's id in graph-calls (recordingPath in domain/call-effects.ts). */
  callId: string;
  /** Users in the call (ad hoc: "calls the user recorded / transcribed" is taken as "was in", fidelity.md). */
  userIds: readonly string[];
  /** Apps whose bots were in the meeting ("installed to the meeting", fidelity.md). */
  appIds: readonly string[];
}

/** Every scope key whose subscriptions announce this artifact. */
export function scopeKeysFor(a: ArtifactScope): string[] {
  if (a.meetingId) {
    return [
      scopeKeyOf('tenantMeetings', null), scopeKeyOf('meeting', a.meetingId),
      ...(a.organizerId ? [scopeKeyOf('userMeetings', a.organizerId)] : []),
      ...a.appIds.map((id) => scopeKeyOf('appMeetings', id)),
    ];
  }
  return [scopeKeyOf('tenantAdhoc', null), scopeKeyOf('adhocCall', a.callId), ...a.userIds.map((u) => scopeKeyOf('userAdhoc', u))];
}
