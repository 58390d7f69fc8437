import { Type } from 'typebox';

/**
 * Request-body schemas (TypeBox -> JSON Schema, checked by fastify's ajv with coercion OFF, so
 * `{"clientContext":5}` is a 400, not "5"). Graph types are open: unknown members are accepted and
 * ignored, so no schema sets additionalProperties: false.
 */

const Nullable = <S extends ReturnType<typeof Type.String>>(s: S) => Type.Union([s, Type.Null()]);

/** commsOperation.clientContext: at most 256 characters (docs for every operation-returning action). */
export const ClientContext = Type.Optional(Nullable(Type.String({ maxLength: 256 })));

/** start/stopRecording: bodyless POST, `{}` and `{"clientContext":"…"}` are all accepted. */
export const RecordingActionBody = Type.Object({ clientContext: ClientContext });

export const UpdateRecordingStatusBody = Type.Object({
  // recordingStatus; matched case-insensitively by the handler, which names the allowed values.
  status: Type.String({ minLength: 1 }),
  clientContext: ClientContext,
});

// Any JSON object; typed for handlers as a string-keyed record (the schema itself is unchanged).
const OpenObject = Type.Unsafe<Record<string, unknown>>(Type.Object({}, { additionalProperties: true }));
const IdentitySet = OpenObject;

const InvitationParticipantInfo = Type.Object({ identity: IdentitySet }, { additionalProperties: true });

/** POST /communications/calls — members the spec marks required are required here. */
export const CreateCallBody = Type.Object({
  callbackUri: Type.String({ minLength: 1 }),
  requestedModalities: Type.Array(Type.String(), { minItems: 1 }),
  mediaConfig: OpenObject,
  targets: Type.Optional(Type.Array(InvitationParticipantInfo, { maxItems: 25 })),
  meetingInfo: Type.Optional(Type.Union([OpenObject, Type.Null()])),
  chatInfo: Type.Optional(Type.Union([OpenObject, Type.Null()])),
  source: Type.Optional(Type.Union([OpenObject, Type.Null()])),
  subject: Type.Optional(Nullable(Type.String())),
  tenantId: Type.Optional(Nullable(Type.String())),
  callOptions: Type.Optional(Type.Union([OpenObject, Type.Null()])),
});

export const MODALITIES = ['unknown', 'audio', 'video', 'videoBasedScreenSharing', 'data'] as const;
export const MEDIA_CONFIG_TYPES = ['serviceHostedMediaConfig', 'appHostedMediaConfig'] as const;
export const MEETING_INFO_TYPES = ['organizerMeetingInfo', 'joinMeetingIdMeetingInfo', 'tokenMeetingInfo'] as const;

/** POST /calls/{id}/answer (call-answer docs). */
export const AnswerBody = Type.Object({
  callbackUri: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
  acceptedModalities: Type.Array(Type.String(), { minItems: 1 }),
  mediaConfig: OpenObject,
  callOptions: Type.Optional(Type.Union([OpenObject, Type.Null()])),
  participantCapacity: Type.Optional(Type.Union([Type.Integer({ minimum: 0 }), Type.Null()])),
});

/** POST /calls/{id}/reject (call-reject docs). */
export const RejectBody = Type.Object({
  reason: Type.Optional(Nullable(Type.String())),
  callbackUri: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
});

/** POST /calls/{id}/redirect (call-redirect docs): 1–25 targets, timeout 15–90 s. */
export const RedirectBody = Type.Object({
  targets: Type.Array(InvitationParticipantInfo, { minItems: 1, maxItems: 25 }),
  timeout: Type.Optional(Type.Union([Type.Integer({ minimum: 15, maximum: 90 }), Type.Null()])),
  callbackUri: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
});

export const REJECT_REASONS = ['none', 'busy', 'forbidden'] as const;

// ---- route parameters (typed through the TypeBox type provider; ids stay any string, matched case-insensitively) ----

export const CallParams = Type.Object({ id: Type.String() });
export const CallChildParams = Type.Object({ id: Type.String(), childId: Type.String() });

// ---- transfer and transcription -----------------------------------------------------------------

/** invitationParticipantInfo of a transfer target (open type; the handler checks the identity). */
const TransferTarget = Type.Object({
  identity: IdentitySet,
  replacesCallId: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
  endpointType: Type.Optional(Nullable(Type.String())),
  languageId: Type.Optional(Nullable(Type.String())),
  region: Type.Optional(Nullable(Type.String())),
}, { additionalProperties: true });

/** participantInfo of the transferee (call-transfer docs: needed when transferring from a group call). */
const Transferee = Type.Object({
  identity: IdentitySet,
  participantId: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
}, { additionalProperties: true });

/** POST /calls/{id}/transfer (call-transfer docs, v1.0 and beta). */
export const TransferBody = Type.Object({
  transferTarget: TransferTarget,
  transferee: Type.Optional(Type.Union([Transferee, Type.Null()])),
  clientContext: ClientContext,
});

/** POST /calls/{id}/startTranscription and stopTranscription (beta docs: `language`, "currently en-us"). */
export const TranscriptionBody = Type.Object({
  language: Type.Optional(Nullable(Type.String())),
  clientContext: ClientContext,
});
