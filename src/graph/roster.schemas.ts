import { Type } from 'typebox';
import { ClientContext } from './schemas.js';

/**
 * Request schemas of roster control and the app-hosted-media navigations (participant-invite, -mute,
 * -muteall, -startholdmusic, call-changescreensharingrole, audioroutinggroup docs). As in schemas.ts:
 * coercion is off, unknown members are accepted and ignored.
 */

const Nullable = <S extends ReturnType<typeof Type.String>>(s: S) => Type.Union([s, Type.Null()]);
const OpenObject = Type.Object({}, { additionalProperties: true });

export const CallParams = Type.Object({ id: Type.String() });
// Named as in calls.routes.ts (participants/:childId), so the router sees one parameter name at that place.
export const ParticipantParams = Type.Object({ id: Type.String(), childId: Type.String() });
export const ChildParams = Type.Object({ id: Type.String(), childId: Type.String() });

/** mute, unmute, participants/{id}/mute, stopHoldMusic, addLargeGalleryView. */
export const ClientContextBody = Type.Object({ clientContext: ClientContext });

export const InvitationParticipantInfoBody = Type.Object({
  identity: OpenObject,
  replacesCallId: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
  participantId: Type.Optional(Nullable(Type.String({ minLength: 1 }))),
  hidden: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  removeFromDefaultAudioRoutingGroup: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
  endpointType: Type.Optional(Nullable(Type.String())),
}, { additionalProperties: true });

export const InviteBody = Type.Object({
  participants: Type.Array(InvitationParticipantInfoBody, { minItems: 1 }),
  clientContext: ClientContext,
});

/** muteAll (beta): participant ids; the doc sample sends [""]. */
export const MuteAllBody = Type.Object({
  participants: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
  clientContext: ClientContext,
});

/** startHoldMusic: an optional mediaPrompt whose mediaInfo.uri names the music. */
export const StartHoldMusicBody = Type.Object({
  customPrompt: Type.Optional(Type.Union([Type.Object({
    mediaInfo: Type.Object({ uri: Type.String({ minLength: 1 }) }, { additionalProperties: true }),
  }, { additionalProperties: true }), Type.Null()])),
  clientContext: ClientContext,
});

/** changeScreenSharingRole: `role` is required (viewer | sharer), matched case-insensitively by the handler. */
export const ChangeScreenSharingRoleBody = Type.Object({ role: Type.String({ minLength: 1 }) });

const ParticipantIds = Type.Array(Type.String({ minLength: 1 }), { maxItems: 100 });
export const AudioRoutingGroupBody = Type.Object({
  id: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 128 }))),
  routingMode: Type.Optional(Type.String({ minLength: 1 })),
  sources: Type.Optional(ParticipantIds),
  receivers: Type.Optional(ParticipantIds),
}, { additionalProperties: true });

export const SCREEN_SHARING_ROLES = ['viewer', 'sharer'] as const;
