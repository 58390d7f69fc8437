import { Type } from 'typebox';

/**
 * Bodies of `POST /users/{id}/onlineMeetings` and `…/onlineMeetings/createOrGet` (application-post-onlinemeetings,
 * onlinemeeting-createorget docs). Graph types are open: unknown members are accepted and ignored.
 */
const OpenObject = Type.Object({}, { additionalProperties: true });
const NullableString = Type.Optional(Type.Union([Type.String(), Type.Null()]));
const NullableBoolean = Type.Optional(Type.Union([Type.Boolean(), Type.Null()]));

const MeetingParticipantInfo = Type.Object({
  identity: Type.Optional(OpenObject),
  upn: NullableString,
  role: NullableString,
}, { additionalProperties: true });

const MeetingParticipants = Type.Object({
  organizer: Type.Optional(Type.Union([MeetingParticipantInfo, Type.Null()])),
  attendees: Type.Optional(Type.Union([Type.Array(MeetingParticipantInfo, { maxItems: 1000 }), Type.Null()])),
}, { additionalProperties: true });

const members = {
  subject: Type.Optional(Type.Union([Type.String({ maxLength: 4096 }), Type.Null()])),
  startDateTime: NullableString,
  endDateTime: NullableString,
  participants: Type.Optional(Type.Union([MeetingParticipants, Type.Null()])),
  joinMeetingIdSettings: Type.Optional(Type.Union([Type.Object({ isPasscodeRequired: NullableBoolean }, { additionalProperties: true }), Type.Null()])),
  allowRecording: NullableBoolean,
  allowTranscription: NullableBoolean,
  recordAutomatically: NullableBoolean,
};

export const CreateOnlineMeetingBody = Type.Object({ ...members, externalId: NullableString }, { additionalProperties: true });

/** createOrGet: externalId is required (onlinemeeting-createorget docs). */
export const CreateOrGetOnlineMeetingBody = Type.Object({ ...members, externalId: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: true });

export type OnlineMeetingBody = {
  subject?: string | null; startDateTime?: string | null; endDateTime?: string | null; externalId?: string | null;
  participants?: { organizer?: { identity?: Record<string, unknown>; upn?: string | null; role?: string | null } | null;
    attendees?: Array<{ identity?: Record<string, unknown>; upn?: string | null; role?: string | null }> | null } | null;
  joinMeetingIdSettings?: { isPasscodeRequired?: boolean | null } | null;
  allowRecording?: boolean | null; allowTranscription?: boolean | null; recordAutomatically?: boolean | null;
};
