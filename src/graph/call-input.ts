import type { Principal } from '../domain/call.js';
import type { CreateCallCommand } from '../domain/call.service.js';
import type { CallbackPolicy } from '../domain/callback-uri.js';
import { GraphError } from './graph-errors.js';
import { stripOData, toTypedValue } from './call.mapper.js';
import { MEDIA_CONFIG_TYPES, MEETING_INFO_TYPES, MODALITIES } from './schemas.js';

const bad = (message: string) => new GraphError('INVALID_BODY', message);
const lowerSet = (xs: readonly string[]) => new Map(xs.map((x) => [x.toLowerCase(), x]));
const MODALITY = lowerSet(MODALITIES);
const MEDIA = lowerSet(MEDIA_CONFIG_TYPES);
const MEETING = lowerSet(MEETING_INFO_TYPES);

/** Graph's enum members, matched case-insensitively (docs capitalise some; samples send lowercase). */
export function enumMember(map: Map<string, string>, value: string, member: string): string {
  const hit = map.get(value.toLowerCase());
  if (!hit) throw bad(`Invalid value '${value}' for property '${member}': expected one of ${[...map.values()].join(', ')}.`);
  return hit;
}

function typeName(v: Record<string, unknown>, member: string, allowed: Map<string, string>): string {
  const t = v['@odata.type'];
  if (typeof t !== 'string') throw bad(`The property '${member}' must carry '@odata.type' (one of ${[...allowed.values()].map((x) => `#microsoft.graph.${x}`).join(', ')}).`);
  return enumMember(allowed, t.replace(/^#?microsoft\.graph\./i, ''), `${member}.@odata.type`);
}

/** A callbackUri member, checked by the one rule (domain/callback-uri.ts, with --allow-callback-hosts). */
export function checkedCallbackUri(value: unknown, callbacks: CallbackPolicy, member = 'callbackUri'): string | null {
  if (value === undefined || value === null) return null;
  const problem = callbacks.uriProblem(value as string);
  if (problem) throw bad(`Invalid value for property '${member}': ${problem}.`);
  return value as string;
}

/** mediaConfig with its concrete type (serviceHostedMediaConfig | appHostedMediaConfig). */
export function mediaConfigOf(media: Record<string, unknown>) {
  return { ...toTypedValue(media, 'serviceHostedMediaConfig'), type: typeName(media, 'mediaConfig', MEDIA) };
}

export function modalitiesOf(values: string[], member: string): string[] {
  return values.map((m) => enumMember(MODALITY, m, member));
}

/**
 * POST /communications/calls body (already schema-checked) -> command. The rules Graph documents:
 * a callbackUri, a mediaConfig of a concrete type, requested modalities, and either targets
 * (peer-to-peer) or a meeting (meetingInfo, plus chatInfo unless joining by meeting id).
 */
export function toCreateCallCommand(body: Record<string, unknown>, p: Principal, callbacks: CallbackPolicy): CreateCallCommand {
  const callbackUri = checkedCallbackUri(body.callbackUri, callbacks)!;
  const requestedModalities = modalitiesOf(body.requestedModalities as string[], 'requestedModalities');
  const mediaConfig = mediaConfigOf(body.mediaConfig as Record<string, unknown>);

  const targets = (body.targets as Array<Record<string, unknown>> | undefined) ?? [];
  const meetingWire = (body.meetingInfo as Record<string, unknown> | null | undefined) ?? null;
  if (targets.length === 0 && !meetingWire) throw bad(`The request must name 'targets' (a peer-to-peer call) or 'meetingInfo' (a meeting join).`);
  if (targets.length > 0 && meetingWire) throw bad(`The request must name either 'targets' or 'meetingInfo', not both.`);
  targets.forEach((t, i) => {
    const identity = t.identity as Record<string, unknown> | undefined;
    if (!identity || Object.keys(stripOData(identity)).length === 0) throw bad(`The property 'targets[${i}].identity' must name a user, application or phone.`);
  });
  let meetingInfo = null;
  if (meetingWire) {
    meetingInfo = { ...toTypedValue(meetingWire, 'organizerMeetingInfo'), type: typeName(meetingWire, 'meetingInfo', MEETING) };
    if (meetingInfo.type === 'joinMeetingIdMeetingInfo' && typeof meetingInfo.props.joinMeetingId !== 'string') throw bad(`The required property 'meetingInfo.joinMeetingId' is missing.`);
    if (meetingInfo.type === 'tokenMeetingInfo' && typeof meetingInfo.props.token !== 'string') throw bad(`The required property 'meetingInfo.token' is missing.`);
    if (meetingInfo.type === 'organizerMeetingInfo' && typeof meetingInfo.props.organizer !== 'object') throw bad(`The required property 'meetingInfo.organizer' is missing.`);
    if (meetingInfo.type !== 'joinMeetingIdMeetingInfo' && !body.chatInfo) throw bad(`The required property 'chatInfo' is missing: a meeting join needs chatInfo with the meeting's threadId.`);
  }
  const tenantId = body.tenantId as string | null | undefined;
  if (tenantId && tenantId.toLowerCase() !== p.tenantId) throw bad(`Invalid value for property 'tenantId': it must be the caller's tenant '${p.tenantId}'.`);
  const callOptions = body.callOptions as Record<string, unknown> | null | undefined;
  return {
    callbackUri,
    subject: (body.subject as string | null | undefined) ?? null,
    requestedModalities,
    mediaConfig,
    meetingInfo,
    chatInfo: body.chatInfo ? stripOData(body.chatInfo as Record<string, unknown>) : null,
    targets: stripOData(targets) as unknown as CreateCallCommand['targets'],
    source: body.source ? (stripOData(body.source) as unknown as CreateCallCommand['source']) : null,
    callOptions: callOptions ? toTypedValue(callOptions, 'outgoingCallOptions') : null,
  };
}
