import type { AudioSource, InvitationParticipantInfo } from './call.js';

/**
 * What a call holds besides its roster and operations, in Graph's vocabulary: the navigations
 * `audioRoutingGroups` and `contentSharingSessions` (call resource docs), and invitations the far side has
 * not answered yet (participant-invite / participant-delete docs). All are stored as call items
 * (ports.ts `CallItems`), keyed by call and id.
 */

/** Graph `audioRoutingGroup` (audioroutinggroup resource docs). */
export interface AudioRoutingGroup {
  id: string;
  callId: string;
  routingMode: RoutingMode;
  sources: string[];
  receivers: string[];
}

export type RoutingMode = 'oneToOne' | 'multicast';
export const ROUTING_MODES: readonly RoutingMode[] = ['oneToOne', 'multicast'];

/** Graph `contentSharingSession`: someone on the far side shares their screen (started through the control plane). */
export interface ContentSharingSession {
  id: string;
  callId: string;
  /** beta only: the participant who presents. */
  presenterParticipantId: string | null;
  startedAt: number;
}

/** An invited participant who has not answered yet: not in the roster, cancellable with DELETE participants/{id}. */
export interface PendingInvitation {
  /** The participant id the invitee will have in the roster (participantId of the invitation, or one we assign). */
  id: string;
  callId: string;
  operationId: string;
  info: InvitationParticipantInfo;
  invitedAt: number;
}

export type CallItemKind = 'audioRoutingGroup' | 'contentSharingSession' | 'invitation';
export interface CallItemTypes {
  audioRoutingGroup: AudioRoutingGroup;
  contentSharingSession: ContentSharingSession;
  invitation: PendingInvitation;
}
export type CallItem<K extends CallItemKind = CallItemKind> = CallItemTypes[K];

/**
 * Where Graph is silent about roster control, graph-calls decides here, in one place; docs/fidelity.md
 * ("Roster control") lists each choice.
 */
export const ROSTER_RULES = {
  /** INFERRED: Graph documents no limit; a call's routing groups are bounded so storage cannot grow without bound. */
  maxAudioRoutingGroups: 64,
  /** participant-invite docs: "Inviting up to 5 participants is supported" (multiple-invite example). */
  maxInvitees: 5,
  /** INFERRED: content-sharing sessions a call keeps (the oldest ended ones are not kept: sessions end when sharing stops). */
  maxContentSharingSessions: 16,
  /**
   * INFERRED: Graph plays its own hold music; ours is a steady 523.25 Hz tone (C5) at a quiet level, on the
   * held participant's track of the recording, in place of what they send.
   */
  holdMusic: { type: 'tone', frequencyHz: 523.25, amplitude: 0.2 } as AudioSource,
} as const;

