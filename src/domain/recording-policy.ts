import type { Call } from './call.js';

/**
 * The one switch for updateRecordingStatus. Graph allows it only on calls that a Teams
 * compliance-recording policy invited the app to, and answers error 8506 everywhere else
 * (microsoft-graph-comms-samples #444/#489/#515). Policy invites set the flag (far-side.service.ts).
 */
export function mayUpdateRecordingStatus(call: Call): boolean {
  return call.isComplianceRecording;
}

/**
 * A Teams compliance-recording policy, reduced to what a bot can observe: which users are recorded, by
 * which recorder app, and whether recording is required (a required recorder that does not answer the
 * invite ends the user's call).
 */
export interface CompliancePolicy {
  id: string;
  name: string;
  /** Entra object ids of the recorded users (compared case-insensitively). */
  userIds: string[];
  /** Client id of the recording bot. */
  recorderAppId: string;
  required: boolean;
}

/** Checks a policy document (file or control plane); returns every problem. */
export function policyProblems(v: unknown, at: string): string[] {
  if (typeof v !== 'object' || v === null) return [`${at}: expected an object`];
  const p = v as Record<string, unknown>;
  const out: string[] = [];
  if (typeof p.id !== 'string' || !p.id) out.push(`${at}.id: expected a non-empty string`);
  if (!Array.isArray(p.userIds) || p.userIds.length === 0 || !p.userIds.every((u) => typeof u === 'string' && u)) out.push(`${at}.userIds: expected a non-empty array of user ids`);
  if (typeof p.recorderAppId !== 'string' || !p.recorderAppId) out.push(`${at}.recorderAppId: expected the recorder app's client id`);
  if (p.required !== undefined && typeof p.required !== 'boolean') out.push(`${at}.required: expected a boolean`);
  if (p.name !== undefined && typeof p.name !== 'string') out.push(`${at}.name: expected a string`);
  return out;
}

export function toPolicy(v: Record<string, unknown>): CompliancePolicy {
  return {
    id: v.id as string,
    name: (v.name as string | undefined) ?? (v.id as string),
    userIds: (v.userIds as string[]).map((u) => u.toLowerCase()),
    recorderAppId: (v.recorderAppId as string).toLowerCase(),
    required: (v.required as boolean | undefined) ?? false,
  };
}
