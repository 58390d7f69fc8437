/**
 * Domain errors are typed codes with no HTTP knowledge. The one table that maps them to Graph's
 * status codes and error codes is graph/graph-errors.ts.
 */
export type DomainErrorCode =
  | 'CALL_NOT_FOUND'
  | 'OPERATION_NOT_FOUND'
  | 'PARTICIPANT_NOT_FOUND'
  | 'CALL_NOT_ESTABLISHED'
  | 'CALL_NOT_INCOMING'
  | 'UNKNOWN_APP'
  | 'CALL_ENDED'
  | 'ALREADY_RECORDING'
  | 'NOT_RECORDING'
  | 'NOT_COMPLIANCE_RECORDING_CALL'
  | 'CONCURRENT_UPDATE'
  | 'MISSING_ROLE'
  | 'INVALID_REQUEST'
  | 'ALREADY_TRANSCRIBING'
  | 'NOT_TRANSCRIBING'
  | 'CALL_NOT_IN_LOBBY'
  // Roster control (domain/roster.service.ts).
  | 'PARTICIPANT_ON_HOLD'
  | 'PARTICIPANT_NOT_ON_HOLD'
  | 'NOT_APP_HOSTED_MEDIA'
  | 'AUDIO_ROUTING_GROUP_NOT_FOUND'
  | 'AUDIO_ROUTING_GROUP_EXISTS'
  | 'CONTENT_SHARING_SESSION_NOT_FOUND'
  | 'NOT_SERVICE_HOSTED_MEDIA'
  | 'MEETING_NOT_FOUND';

export class DomainError extends Error {
  constructor(readonly code: DomainErrorCode, message?: string, readonly detail: Record<string, string> = {}) {
    super(message ?? code);
    this.name = 'DomainError';
  }
}

/** Handler/service precondition: throws the typed error when `cond` is false. */
export function assert(cond: unknown, code: DomainErrorCode, message?: string, detail?: Record<string, string>): asserts cond {
  if (!cond) throw new DomainError(code, message, detail);
}
