import type { Call, IdentitySet, Participant } from './call.js';

/**
 * Graph's onlineMeeting id is base64 (here base64url, so it is always path-safe) of `1*{organizerUserId}*0**{chatThreadId}` (as real ids decode);
 * graph-calls builds it the same way from the call's meetingInfo and chatInfo, so the id a bot derives
 * from Teams-style data and the one in recording URLs agree.
 */
export function onlineMeetingId(organizerUserId: string, threadId: string): string {
  return Buffer.from(`1*${organizerUserId}*0**${threadId}`, 'utf8').toString('base64url');
}

/** The meeting's organizer (a user identity), from meetingInfo or else the roster's first user. */
export function meetingOrganizer(call: Call, roster: Participant[]): IdentitySet | null {
  if (!call.meetingInfo) return null;
  const fromInfo = call.meetingInfo.props.organizer as IdentitySet | undefined;
  if (fromInfo?.user?.id) return fromInfo;
  return roster.find((p) => !p.isBot && p.info.identity.user?.id)?.info.identity ?? null;
}

/** The onlineMeeting id of a meeting call, or null for ad hoc (peer-to-peer, incoming) calls. */
export function meetingIdOf(call: Call, roster: Participant[]): string | null {
  const organizer = meetingOrganizer(call, roster);
  if (!call.meetingInfo || !organizer?.user?.id) return null;
  const thread = typeof call.chatInfo?.threadId === 'string' ? call.chatInfo.threadId
    : `19:meeting_${String(call.meetingInfo.props.joinMeetingId ?? call.id)}@thread.v2`;
  return onlineMeetingId(String(organizer.user.id), thread);
}
