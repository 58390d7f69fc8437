import type { Call } from './call.js';

/**
 * The one switch for updateRecordingStatus. Graph allows it only on calls that a Teams
 * compliance-recording policy invited the app to, and answers error 8506 everywhere else
 * (microsoft-graph-comms-samples #444/#489/#515). Until policy invites exist, no call qualifies.
 */
export function mayUpdateRecordingStatus(call: Call): boolean {
  return call.isComplianceRecording;
}
