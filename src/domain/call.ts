/**
 * The call aggregate and its parts, in Graph's vocabulary (beta `call`, `participant`, `commsOperation`).
 * Nothing here carries `@odata.*` keys: the wire mappers in graph/ add them. Polymorphic Graph values
 * (mediaConfig, meetingInfo) keep their concrete type name in a `type` field.
 */

// Media actions (domain/media-actions.ts) add their own members to the unions below.
import type { CallMediaState, MediaJobKind, MediaOperationState, MediaOperationType } from './media-actions.js';

export type CallState =
  | 'incoming' | 'establishing' | 'ringing' | 'established' | 'hold' | 'transferring'
  | 'transferAccepted' | 'redirecting' | 'terminating' | 'terminated';

export type RecordingStatus = 'unknown' | 'notRecording' | 'recording' | 'failed';
export type OperationStatus = 'notStarted' | 'running' | 'completed' | 'failed';
export type OperationType = 'startRecordingOperation' | 'stopRecordingOperation' | 'updateRecordingStatusOperation'
  | 'startTranscriptionOperation' | 'stopTranscriptionOperation'
  // Roster control (domain/roster.service.ts).
  | 'muteParticipantOperation' | 'unmuteParticipantOperation' | 'muteParticipantsOperation' | 'inviteParticipantsOperation'
  | 'startHoldMusicOperation' | 'stopHoldMusicOperation' | 'addLargeGalleryViewOperation'
  | MediaOperationType;

/** Graph `identity` (open type: tenantId etc. may ride along). */
export interface Identity {
  id?: string | null;
  displayName?: string | null;
  tenantId?: string | null;
  [extra: string]: unknown;
}

/** Graph `identitySet` / `communicationsIdentitySet`: keys are `user`, `application`, `phone`, … */
export type IdentitySet = Record<string, Identity | null | undefined>;

export interface ParticipantInfo {
  identity: IdentitySet;
  endpointType?: string | null;
  region?: string | null;
  languageId?: string | null;
  countryCode?: string | null;
  participantId?: string | null;
}

export interface InvitationParticipantInfo {
  identity: IdentitySet;
  hidden?: boolean | null;
  participantId?: string | null;
  removeFromDefaultAudioRoutingGroup?: boolean | null;
  replacesCallId?: string | null;
  endpointType?: string | null;
}

/** A value whose Graph type is abstract: `type` holds the concrete type name without namespace. */
export interface TypedValue {
  type: string;
  props: Record<string, unknown>;
}

export interface ResultInfo {
  code: number;
  subcode: number;
  message: string;
}

export interface Call {
  id: string;
  tenantId: string;
  /** The app (client id) that owns the call; only it may see or act on it. */
  appId: string;
  /** Optimistic-concurrency version: bumped by every committed change. */
  version: number;
  state: CallState;
  direction: 'incoming' | 'outgoing';
  callbackUri: string;
  subject: string | null;
  requestedModalities: string[];
  mediaConfig: TypedValue;
  meetingInfo: TypedValue | null;
  chatInfo: Record<string, unknown> | null;
  targets: InvitationParticipantInfo[];
  source: ParticipantInfo | null;
  callOptions: TypedValue | null;
  myParticipantId: string;
  callChainId: string;
  resultInfo: ResultInfo | null;
  terminationReason: string | null;
  /** True only for calls a compliance-recording policy invited the app to (see domain/recording-policy.ts). */
  isComplianceRecording: boolean;
  /** For a policy invite: the user's call being recorded, and the policy behind the invite. */
  observedCallId: string | null;
  policyId: string | null;
  /** Graph `incomingContext` of incoming calls. */
  incomingContext: Record<string, unknown> | null;
  /** Open-type members Teams adds to some incoming calls (policy invites: `applicationMetadata`). */
  extras: Record<string, unknown>;
  /** Last keepAlive (or when the call became established): Graph ends calls silent for 45 minutes. */
  keepAliveAt?: number;
  /** Whether a recording segment is open right now. */
  recordingActive: boolean;
  /** Service-hosted media: the prompt/record queue and tone subscription (domain/media-actions.ts). */
  media?: CallMediaState;
  createdAt: number;
  updatedAt: number;
  /** The Graph version the bot drives the call through (create/answer); absent = beta. Notifications render in it. */
  apiVersion?: 'v1.0' | 'beta';
  /** Beta `callTranscriptionInfo` (startTranscription/stopTranscription); absent = never started. */
  transcription?: CallTranscription | null;
  /** A transfer under way (state transferring/transferAccepted). */
  transfer?: TransferInProgress | null;
  /** Meeting joins: the far side holds the bot in the lobby until admitted (control plane). */
  inLobby?: boolean;
}

export type CallTranscriptionState = 'notStarted' | 'active' | 'inactive';
export interface CallTranscription {
  state: CallTranscriptionState;
  lastModifiedAt: number;
}

/** call-transfer docs: blind (no replacesCallId) or consultative (replacesCallId names the consultation call). */
export interface TransferInProgress {
  target: InvitationParticipantInfo;
  transferee: ParticipantInfo | null;
  replacesCallId: string | null;
}

export interface RecordingInfo {
  recordingStatus: RecordingStatus;
  initiator: IdentitySet | null;
}

export interface Participant {
  id: string;
  callId: string;
  /** Roster order. */
  seq: number;
  info: ParticipantInfo;
  isMuted: boolean;
  isInLobby: boolean;
  isBot: boolean;
  recordingInfo: RecordingInfo | null;
  joinedAt: number;
  leftAt: number | null;
  /** startHoldMusic: the participant hears hold music; `previous` is what they sent before (restored by stopHoldMusic). */
  onHold?: { previous: AudioSource } | null;
  /** changeScreenSharingRole (the bot only): a sharer sends a videoBasedScreenSharing stream. */
  screenSharingRole?: 'viewer' | 'sharer' | null;
}

export interface Operation {
  id: string;
  callId: string;
  type: OperationType;
  status: OperationStatus;
  clientContext: string | null;
  resultInfo: ResultInfo | null;
  createdAt: number;
  completedAt: number | null;
  /** inviteParticipantsOperation: the invitations; muteParticipantsOperation (beta): participant ids. */
  participants?: InvitationParticipantInfo[] | string[];
  /** Media actions only (playPrompt, record, sendDtmfTones): their request and progress (domain/media-actions.ts). */
  media?: MediaOperationState;
}

/** One start/stop pair: the span a later issue renders into a recording file. */
export interface RecordingSegment {
  id: string;
  callId: string;
  startedAt: number;
  endedAt: number | null;
  startOperationId: string | null;
  stopOperationId: string | null;
}

export type ChangeType = 'created' | 'updated' | 'deleted';

/** A notification as committed to the outbox; `resourceData` is already in wire form. */
export interface OutboxNotification {
  seq: number;
  callId: string;
  /** Stable across retries (X-Microsoft-Skype-Message-ID), so bots can deduplicate. */
  messageId: string;
  changeType: ChangeType;
  resourceUrl: string;
  resourceData: unknown;
  callbackUri: string;
  createdAt: number;
  state: DeliveryState;
  attempts: number;
  nextAttemptAt: number;
  /**
   * What the row carries: a call's commsNotification (`call`, the default), or a change / lifecycle
   * notification of a subscription (src/subscriptions/), whose `callId` is the subscription's lane.
   */
  kind?: NotificationKind;
}

export type NotificationKind = 'call' | 'change' | 'lifecycle';

/** pending: not yet delivered; delivered: a 2xx came back; dead: retries exhausted or a final 4xx. */
export type DeliveryState = 'pending' | 'delivered' | 'dead';
export type NewNotification = Omit<OutboxNotification, 'seq' | 'state' | 'attempts' | 'nextAttemptAt'>;

export type DeliveryOutcome = 'delivered' | 'retry' | 'redirected' | 'dead' | 'rejected' | 'dropped';

/** One attempt to deliver one notification: the delivery journal. */
export interface DeliveryAttempt {
  seq: number;
  notificationSeq: number;
  callId: string;
  messageId: string;
  attempt: number;
  at: number;
  url: string;
  status: number | null;
  latencyMs: number | null;
  error: string | null;
  outcome: DeliveryOutcome;
}

/** What a participant sends: silence, a tone, or a clip (an uploaded WAV or synthesised speech). */
export type AudioSource =
  | { type: 'silence' }
  | { type: 'tone'; frequencyHz: number; amplitude: number }
  | { type: 'clip'; mediaId: string; amplitude: number; loop: boolean };

/** One change on a call's media timeline: a participant's source from `at` on, or their mute state. */
export interface MediaEvent {
  callId: string;
  participantId: string;
  at: number;
  kind: 'source' | 'mute' | 'tone';
  source?: AudioSource;
  muted?: boolean;
  /** kind 'tone': the DTMF key pressed at `at` (Graph `tone` member, e.g. tone1, pound). */
  tone?: string;
}

/** A finished recording: Graph's `callRecording`, plus where its bytes are. */
export interface Recording {
  id: string;
  callId: string;
  segmentId: string;
  tenantId: string;
  /** Online meeting id (meeting calls) or null (ad hoc calls). */
  meetingId: string | null;
  meetingOrganizer: IdentitySet | null;
  contentCorrelationId: string;
  createdAt: number;
  endedAt: number;
  /** The file's name, `<id>.<wav|mp3>`; its bytes are stored with the recording in the database. */
  file: string;
  contentType: string;
  sizeBytes: number;
  etag: string;
  sampleRate: number;
  channels: number;
  sampleCount: number;
}

/** Durable far-side work: answering, completing operations, finishing a hang-up. */
export type JobKind = 'answerCall' | 'completeOperation' | 'finishTermination' | 'incomingTimeout' | 'renderRecordings' | 'keepAliveExpiry'
  | 'farSideHangUp' | 'lobbyTimeout' | 'transferOutcome' | 'finishTransfer'
  // Invited participants answer (simulator/invitees.ts).
  | 'answerInvite'
  | MediaJobKind
  // Subscriptions (src/subscriptions/): reauthorizationRequired before expiry, and the expiry itself.
  | 'subscriptionLifecycle' | 'subscriptionExpiry'
  | 'renderTranscripts';
export interface Job {
  /** Assigned by the store. */
  id: number;
  callId: string;
  kind: JobKind;
  dueAt: number;
  payload: Record<string, string>;
  /** Failed runs so far (set on claimed jobs). */
  attempts?: number;
}

/** Who is calling: from a verified app-only access token. */
export interface Principal {
  tenantId: string;
  appId: string;
  roles: readonly string[];
}
