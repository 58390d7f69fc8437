import type { CallState, RecordingStatus } from './call.js';
import { assert } from './errors.js';

/**
 * Call states and the transitions between them (beta `callState`). The simulator and the API both move
 * calls only through `transition`, so no code path can reach a state Graph would not.
 */
const CALL_TRANSITIONS: Readonly<Record<CallState, readonly CallState[]>> = {
  incoming: ['establishing', 'redirecting', 'terminated'],
  establishing: ['established', 'terminating', 'terminated'],
  ringing: ['established', 'terminating', 'terminated'],
  // `terminated` straight from a live state: the far side hung up (Graph sends only `deleted`).
  established: ['hold', 'transferring', 'terminating', 'terminated'],
  hold: ['established', 'terminating', 'terminated'],
  transferring: ['transferAccepted', 'established', 'terminating', 'terminated'],
  transferAccepted: ['terminating', 'terminated'],
  redirecting: ['terminated'],
  terminating: ['terminated'],
  terminated: [],
};

export function canTransition(from: CallState, to: CallState): boolean {
  return CALL_TRANSITIONS[from].includes(to);
}

/** Throws an internal error on an impossible transition: callers check preconditions first. */
export function transition(from: CallState, to: CallState): CallState {
  if (!canTransition(from, to)) throw new Error(`illegal call transition ${from} -> ${to}`);
  return to;
}

/** Calls that are over from the bot's point of view: actions answer CALL_NOT_FOUND / CALL_ENDED. */
export const isEnded = (s: CallState): boolean => s === 'terminating' || s === 'terminated';

/** Graph lets media actions (recording) run only on an established call. */
export function assertEstablished(state: CallState, action: string): void {
  assert(state !== 'terminated', 'CALL_NOT_FOUND');
  assert(state !== 'terminating', 'CALL_ENDED', `Action '${action}' is not allowed: the call is terminating.`);
  assert(state === 'established', 'CALL_NOT_ESTABLISHED',
    `Action '${action}' is not allowed while the call is in state '${state}'; wait for 'established'.`);
}

/**
 * Recording: startRecording opens a segment (notRecording|failed -> recording), stopRecording closes it
 * (recording -> notRecording). updateRecordingStatus (compliance calls) may set any reported status.
 */
export function startRecording(active: boolean): true {
  assert(!active, 'ALREADY_RECORDING', 'The call is already being recorded; call stopRecording first.');
  return true;
}

export function stopRecording(active: boolean): false {
  assert(active, 'NOT_RECORDING', 'The call is not being recorded; call startRecording first.');
  return false;
}

export const REPORTABLE_RECORDING_STATUSES: readonly RecordingStatus[] = ['notRecording', 'recording', 'failed'];
