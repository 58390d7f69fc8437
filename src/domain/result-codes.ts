import type { ResultInfo } from './call.js';

/**
 * Every resultInfo graph-calls puts on calls and operations, in one place. Codes come from Graph's
 * documented termination list (v1 call-delete page, spec §3.4) unless marked INFERRED; docs/fidelity.md
 * lists the choices.
 */
export const RESULT = {
  /** Operation finished (commsOperation docs, playPrompt sample). */
  operationSucceeded: { code: 200, subcode: 0, message: 'Action completed successfully.' },
  /** After DELETE /calls/{id} (spec §3.3 hang-up sequence). */
  conversationEnded: { code: 200, subcode: 5001, message: 'The conversation has ended.' },
  /** The other party of a peer-to-peer call hung up (4521, "other participant ended call (P2P)"). */
  peerHungUp: { code: 200, subcode: 4521, message: 'The call was ended by the other participant.' },
  /** The meeting was ended for everyone (5001, "conversation ended"). */
  meetingEnded: { code: 200, subcode: 5001, message: 'The conversation has ended.' },
  /** An incoming call nobody answered in time (10057, "no signalling from callee"). */
  notAnswered: { code: 408, subcode: 10057, message: 'The call was not answered in time.' },
  /** No keepAlive for 45 minutes (408/8537, "keepAlive timeout"). */
  keepAliveTimeout: { code: 408, subcode: 8537, message: 'The call was ended because the application did not send keepAlive in time.' },
  /** A redirected incoming call leaves the bot (spec §3.3: deleted, state terminated). */
  redirected: { code: 200, subcode: 7000, message: 'The call was redirected by the application.' },
  /** INFERRED: a required compliance recorder could not be reached, so Teams ends the user's call. */
  requiredRecorderUnavailable: { code: 480, subcode: 10076, message: 'The call was ended because a required compliance recorder did not join.' },
} as const satisfies Record<string, ResultInfo>;
