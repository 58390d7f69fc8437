import type { ResultInfo } from './call.js';

/**
 * Every resultInfo graph-calls puts on calls and operations, in one place. Termination codes and their
 * messages follow the "Call end reason codes" table of the beta call-delete page where it covers the case;
 * entries marked INFERRED are ours (docs/fidelity.md lists them, with why).
 */
export const RESULT = {
  /** Operation finished (commsOperation docs, playPrompt sample). */
  operationSucceeded: { code: 200, subcode: 0, message: 'Action completed successfully.' },
  /** After DELETE /calls/{id} (call-delete sample, 5001). */
  conversationEnded: { code: 200, subcode: 5001, message: 'The conversation has ended.' },
  /** The other party of a peer-to-peer call hung up (table: 4521). */
  peerHungUp: { code: 200, subcode: 4521, message: 'Call ended by the other participant in peer-to-peer call.' },
  /** The meeting was ended for everyone (table: 5001). */
  meetingEnded: { code: 200, subcode: 5001, message: 'The conversation has ended.' },
  /** Nobody answered in time: an incoming call the bot left ringing, an outgoing call the callee never answered (table: 10057). */
  notAnswered: { code: 408, subcode: 10057, message: 'Call timed out due to no signaling from callee endpoints.' },
  /** No keepAlive for 45 minutes (table: 8537). */
  keepAliveTimeout: { code: 408, subcode: 8537, message: 'Keep Alive timeout, cleaned up inactive call.' },
  /** A redirected incoming call leaves the bot (table: 7000, "ended by bot"). */
  redirected: { code: 200, subcode: 7000, message: 'The conversation has ended by bot.' },
  /**
   * A policy invite the recorder did not answer in time: real recorder traffic shows the invite ending with
   * 408/8544 "Callee could not be reached." (MicrosoftDocs/msteams-docs #9159).
   */
  recorderUnreachable: { code: 408, subcode: 8544, message: 'Callee could not be reached.' },
  /** INFERRED code: a required compliance recorder could not be reached, so Teams ends the user's call (table text of 10076). */
  requiredRecorderUnavailable: { code: 480, subcode: 10076, message: 'Callee could not be reached.' },
  /** The bot waited in the meeting lobby until the lobby timed out (table: 5855). */
  lobbyTimeout: { code: 200, subcode: 5855, message: 'Participant waiting in lobby was removed from the conversation after lobby inactivity timeout.' },
  /** call-transfer docs, "transfer completed" sample: code 0 there (the call-delete table lists 7015 under 200). */
  transferCompleted: { code: 0, subcode: 7015, message: 'GracefulTransferCompleted' },
  /** call-transfer docs, "transfer failed" sample (blind transfer): 500/7000; the message is INFERRED. */
  transferFailed: { code: 500, subcode: 7000, message: 'The transfer failed: the transfer target did not accept the call.' },
  /** call-transfer docs, consultative "transfer failed" sample: 500/7700; the message is INFERRED. */
  consultativeTransferFailed: { code: 500, subcode: 7700, message: 'The consultative transfer failed: the call it replaces is not connected.' },
  /** INFERRED (undocumented): the callee declined an outgoing call (SIP 603 Decline). */
  declined: { code: 603, subcode: 0, message: 'The call was declined by the callee.' },
  /** INFERRED (undocumented): the callee was busy (SIP 486 Busy Here). */
  busy: { code: 486, subcode: 0, message: 'The callee is busy.' },
} as const satisfies Record<string, ResultInfo>;

/**
 * resultInfo of media operations. Graph documents 200/0 (completed), 400/8508 (cancelled) and 200/8515
 * (max record duration); the others are INFERRED from the same media platform's codes in Azure
 * Communication Services (8510 initial silence, 8536 file could not be downloaded).
 */
export const MEDIA_RESULT = {
  completed: RESULT.operationSucceeded,
  cancelled: { code: 400, subcode: 8508, message: 'Action failed, the operation was cancelled.' },
  maxRecordDurationReached: { code: 200, subcode: 8515, message: 'Action completed, max record duration reached.' },
  initialSilenceTimeout: { code: 400, subcode: 8510, message: 'Action failed, initial silence timeout reached.' },
  fileNotDownloaded: { code: 400, subcode: 8536, message: 'Action failed, file could not be downloaded.' },
} as const satisfies Record<string, ResultInfo>;

/** resultInfo values for roster operations Graph does not document; the successes use RESULT.operationSucceeded. */
export const ROSTER_RESULT = {
  /** INFERRED: an invitation cancelled by DELETE participants/{id} before it was answered (SIP 487 Request Terminated). */
  invitationCanceled: { code: 487, subcode: 0, message: 'The invitation was canceled by the application.' },
  /**
   * INFERRED: the call an invitee left to join (invitationParticipantInfo.replacesCallId) ends once they are
   * added; 18503 is the documented "other peer-to-peer participant left" end reason.
   */
  replacedByInvite: { code: 200, subcode: 18503, message: 'The other participant left the call to join another call.' },
} as const satisfies Record<string, ResultInfo>;
