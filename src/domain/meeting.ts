import type { IdentitySet } from './call.js';

/**
 * Graph `onlineMeeting` (onlinemeeting resource docs), as graph-calls keeps it. The id, the chat thread
 * and the join URL are made together (meetings/join-url.ts) so a bot that parses the join URL into
 * chatInfo + organizerMeetingInfo joins a call whose recordings and transcripts carry this id.
 */
export interface OnlineMeeting {
  id: string;
  tenantId: string;
  /** The organizer's user id (the `{userId}` of `POST /users/{userId}/onlineMeetings`), lowercase. */
  organizerId: string;
  /** The app that created it. */
  appId: string;
  externalId: string | null;
  subject: string | null;
  startAt: number;
  endAt: number;
  createdAt: number;
  threadId: string;
  joinWebUrl: string;
  joinMeetingId: string;
  passcode: string | null;
  isPasscodeRequired: boolean;
  /** `participants.organizer.identity` (display name when the creator gave one) and attendees as sent. */
  organizer: IdentitySet;
  attendees: Array<{ identity: IdentitySet; role: string | null; upn: string | null }>;
  allowRecording: boolean;
  allowTranscription: boolean;
  recordAutomatically: boolean;
  /** Control-plane setting (not a Graph member): the meeting transcribes every call that joins it. */
  autoTranscription: boolean;
}

/** One utterance of a transcript: what a speech source said, cued to the transcription's start. */
export interface TranscriptCue {
  /** Milliseconds from the start of the transcription. */
  startMs: number;
  endMs: number;
  /** The speaker as Teams names them (display name of the participant's identity). */
  speaker: string;
  text: string;
}

/** Graph `callTranscript`, with its cues (the content is rendered from them on request). */
export interface Transcript {
  id: string;
  callId: string;
  tenantId: string;
  meetingId: string | null;
  meetingOrganizer: IdentitySet | null;
  contentCorrelationId: string;
  /** When transcription started and ended (the call's clock). */
  createdAt: number;
  endedAt: number;
  /** One uuid per file: the cue ids are `{cueGroupId}/{n}-0`, as real Teams files number them. */
  cueGroupId: string;
  language: string;
  cues: TranscriptCue[];
}
