import type { OnlineMeeting } from '../domain/meeting.js';
import { identitySetToWire } from '../graph/call.mapper.js';
import type { GraphVersion } from '../graph/wire.js';

const T = (name: string) => `#microsoft.graph.${name}`;
const iso = (ms: number) => new Date(ms).toISOString();

/** Unused meeting ids of Teams meetings expire; graph-calls says 60 days after the end (INFERRED, fidelity.md). */
const EXPIRY_AFTER_END_MS = 60 * 24 * 3600_000;

/** What a bot joins with: the meeting's chatInfo (onlinemeeting resource; graph-calls-api §2.4). */
export function meetingChatInfo(m: OnlineMeeting): Record<string, unknown> {
  return { '@odata.type': T('chatInfo'), threadId: m.threadId, messageId: '0', replyChainMessageId: null };
}

/**
 * Graph `onlineMeeting` (onlinemeeting resource docs, the members a pipeline uses, spec §6.3). Beta adds the
 * deprecated `joinUrl` (= joinWebUrl) and the producers/contributors participant lists.
 */
export function meetingToWire(m: OnlineMeeting, version: GraphVersion): Record<string, unknown> {
  const participant = (identity: OnlineMeeting['organizer'], role: string | null, upn: string | null) =>
    ({ '@odata.type': T('meetingParticipantInfo'), upn, role, identity: identitySetToWire(identity) });
  const body: Record<string, unknown> = {
    '@odata.type': T('onlineMeeting'),
    id: m.id,
    creationDateTime: iso(m.createdAt),
    startDateTime: iso(m.startAt),
    endDateTime: iso(m.endAt),
    expiryDateTime: iso(m.endAt + EXPIRY_AFTER_END_MS),
    subject: m.subject,
    externalId: m.externalId,
    joinWebUrl: m.joinWebUrl,
    videoTeleconferenceId: null,
    isBroadcast: false,
    isEntryExitAnnounced: true,
    allowedPresenters: 'everyone',
    allowMeetingChat: 'enabled',
    allowTeamworkReactions: true,
    allowRecording: m.allowRecording,
    allowTranscription: m.allowTranscription,
    recordAutomatically: m.recordAutomatically,
    meetingTemplateId: null,
    joinMeetingIdSettings: {
      '@odata.type': T('joinMeetingIdSettings'), isPasscodeRequired: m.isPasscodeRequired, joinMeetingId: m.joinMeetingId, passcode: m.passcode,
    },
    chatInfo: meetingChatInfo(m),
    lobbyBypassSettings: { '@odata.type': T('lobbyBypassSettings'), scope: 'organization', isDialInBypassEnabled: false },
    joinInformation: {
      '@odata.type': T('itemBody'), contentType: 'html',
      content: `data:text/html,${encodeURIComponent(`<a href="${m.joinWebUrl}">Join the meeting now</a>`)}`,
    },
    participants: {
      '@odata.type': T('meetingParticipants'),
      organizer: participant(m.organizer, 'presenter', null),
      attendees: m.attendees.map((a) => participant(a.identity, a.role, a.upn)),
      ...(version === 'beta' ? { producers: [], contributors: [] } : {}),
    },
  };
  if (version === 'beta') body.joinUrl = m.joinWebUrl;
  return body;
}
