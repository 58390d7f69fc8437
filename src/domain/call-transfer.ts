import type { Call, InvitationParticipantInfo, Participant, ParticipantInfo } from './call.js';
import { assert } from './errors.js';

/** POST /calls/{id}/transfer, checked for shape by the wire layer. */
export interface TransferCommand {
  /** Whom the call goes to; `replacesCallId` makes it consultative (call-transfer docs). */
  transferTarget: InvitationParticipantInfo;
  /** Who is transferred: "only needed when transfer from a group call" (call-transfer docs, v1.0). */
  transferee: ParticipantInfo | null;
}

/**
 * The transfer preconditions Graph documents, checked before anything changes: a group call (a meeting)
 * names its transferee, who must be in the roster; a consultative transfer replaces another call, not
 * itself. Whether the consultation call is still connected is the far side's to find out (a failed
 * transfer, 500/7700, as the docs show), not a 4xx.
 */
export function assertTransferable(call: Call, roster: Participant[], cmd: TransferCommand): void {
  const replaces = cmd.transferTarget.replacesCallId;
  assert(!replaces || replaces !== call.id, 'INVALID_REQUEST',
    `Invalid value for property 'transferTarget.replacesCallId': a consultative transfer replaces another call, not the call being transferred.`);
  if (call.meetingInfo) {
    assert(cmd.transferee, 'INVALID_REQUEST', `The property 'transferee' is required to transfer from a group call.`);
  }
  if (!cmd.transferee) return;
  const wantedId = cmd.transferee.participantId?.toLowerCase();
  const wantedUser = cmd.transferee.identity.user?.id?.toLowerCase();
  const found = roster.some((p) => !p.isBot && (
    (wantedId && p.id === wantedId) || (!wantedId && wantedUser && p.info.identity.user?.id?.toLowerCase() === wantedUser)));
  assert(found, 'INVALID_REQUEST',
    `Invalid value for property 'transferee': no participant of the call matches ${wantedId ? `participantId '${wantedId}'` : `user '${wantedUser ?? ''}'`}.`);
}

/** startTranscription needs a call not being transcribed; stopTranscription one that is. */
export function assertTranscribing(call: Call, wanted: boolean): void {
  const active = call.transcription?.state === 'active';
  if (wanted) assert(active, 'NOT_TRANSCRIBING', 'The call is not being transcribed; call startTranscription first.');
  else assert(!active, 'ALREADY_TRANSCRIBING', 'The call is already being transcribed; call stopTranscription first.');
}
