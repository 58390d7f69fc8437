import type { Principal } from '../domain/call.js';
import { DomainError } from '../domain/errors.js';

/**
 * Application permissions per operation, from the Graph permission tables (spec §1.1; least privileged
 * first). Graph checks the Calls.* roles when a call is created or answered; follow-up reads accept any
 * Calls.* role the app holds. Role names compare case-insensitively (the docs spell some `…asGuest…`).
 */
export const PERMISSIONS = {
  createPeerToPeerCall: ['Calls.Initiate.All', 'Calls.InitiateGroupCall.All'],
  joinMeeting: ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'],
  readCall: ['Calls.Initiate.All', 'Calls.AccessMedia.All', 'Calls.InitiateGroupCall.All', 'Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'],
  startRecording: ['Calls.JoinGroupCall.All'],
  stopRecording: ['Calls.JoinGroupCall.All'],
  updateRecordingStatus: ['Calls.AccessMedia.All', 'Calls.JoinGroupCall.All'],
  answer: ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All', 'Calls.AccessMedia.All'],
  redirect: ['Calls.Initiate.All'],
  transfer: ['Calls.Initiate.All'],
  startTranscription: ['Calls.JoinGroupCall.All'],
  stopTranscription: ['Calls.JoinGroupCall.All'],
  meetingRecordings: ['OnlineMeetingRecording.Read.All'],
  adhocCallRecordings: ['CallRecordings.Read.All'],
  // Roster control (spec §1.1 rows 16-24, 28, 29 and the audioRoutingGroup pages). Pages that say the check
  // happens when the call is created ("None" / "no additional permission check") accept any Calls.* role.
  muteSelf: ['Calls.Initiate.All', 'Calls.AccessMedia.All', 'Calls.InitiateGroupCall.All', 'Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'],
  muteParticipant: ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All', 'Calls.Initiate.All', 'Calls.InitiateGroupCall.All', 'Calls.AccessMedia.All'],
  holdMusic: ['Calls.JoinGroupCallAsGuest.All', 'Calls.JoinGroupCall.All', 'Calls.Initiate.All', 'Calls.InitiateGroupCall.All', 'Calls.AccessMedia.All'],
  inviteParticipants: ['Calls.InitiateGroupCall.All'],
  deleteParticipant: ['Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All'],
  changeScreenSharingRole: ['Calls.AccessMedia.All'],
  addLargeGalleryView: ['Calls.JoinGroupCallAsGuest.All', 'Calls.JoinGroupCall.All', 'Calls.InitiateGroupCall.All'],
  audioRoutingGroups: ['Calls.JoinGroupCall.All', 'Calls.InitiateGroupCall.All'],
  contentSharingSessions: ['Calls.AccessMedia.All', 'Calls.JoinGroupCall.All', 'Calls.JoinGroupCallAsGuest.All', 'Calls.Initiate.All', 'Calls.InitiateGroupCall.All'],
  // Service-hosted media (call-playprompt, call-record, call-subscribetotone, call-cancelmediaprocessing, call-senddtmftones).
  playPrompt: ['Calls.Initiate.All', 'Calls.AccessMedia.All'],
  recordResponse: ['Calls.AccessMedia.All'],
  subscribeToTone: ['Calls.AccessMedia.All'],
  cancelMediaProcessing: ['Calls.Initiate.All', 'Calls.AccessMedia.All'],
  sendDtmfTones: ['Calls.AccessMedia.All'],
  // onlineMeeting and callTranscript permission tables (onlinemeeting-get, application-post-onlinemeetings, calltranscript-get).
  createOnlineMeeting: ['OnlineMeetings.ReadWrite.All'],
  readOnlineMeeting: ['OnlineMeetings.Read.All', 'OnlineMeetings.ReadWrite.All'],
  meetingTranscripts: ['OnlineMeetingTranscript.Read.All'],
  adhocCallTranscripts: ['CallTranscripts.Read.All'],
} as const satisfies Record<string, readonly string[]>;

export function requireAnyRole(p: Principal, accepted: readonly string[]): void {
  const held = new Set(p.roles.map((r) => r.toLowerCase()));
  if (accepted.some((r) => held.has(r.toLowerCase()))) return;
  throw new DomainError('MISSING_ROLE',
    `Insufficient privileges to complete the operation. The application needs one of these application permissions: ${accepted.join(', ')}.`);
}
