import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainErrorCode } from '../domain/errors.js';
import { addGraphHeaders, JSON_CONTENT_TYPE, requestIds } from './wire.js';

/**
 * The error catalogue: every Graph error graph-calls emits, with its status, code and default message.
 * Codes are spelled as Graph spells them (comms service numeric strings such as "8522", OData codes
 * such as "BadRequest"). Where Graph's exact answer is undocumented the entry says so, and
 * docs/fidelity.md lists the decision.
 */
export const GRAPH_ERRORS = {
  // Seen in real traffic: "Code: 8522, Call not found." (comms-samples #173/#191). Status 404 per keepAlive doc.
  CALL_NOT_FOUND: { status: 404, code: '8522', message: 'Call not found.' },
  OPERATION_NOT_FOUND: { status: 404, code: 'itemNotFound', message: 'Operation not found.' },
  PARTICIPANT_NOT_FOUND: { status: 404, code: 'itemNotFound', message: 'Participant not found.' },
  // Undocumented for start/stopRecording: we answer 409 Conflict for state preconditions (fidelity.md).
  CALL_NOT_ESTABLISHED: { status: 409, code: 'Conflict', message: 'The call is not established.' },
  CALL_ENDED: { status: 409, code: 'Conflict', message: 'The call is terminating.' },
  CALL_NOT_INCOMING: { status: 409, code: 'Conflict', message: 'The call is not an unanswered incoming call.' },
  UNKNOWN_APP: { status: 400, code: 'BadRequest', message: 'No such app is registered.' },
  ALREADY_RECORDING: { status: 409, code: 'Conflict', message: 'The call is already being recorded.' },
  NOT_RECORDING: { status: 409, code: 'Conflict', message: 'The call is not being recorded.' },
  CONCURRENT_UPDATE: { status: 409, code: 'Conflict', message: 'The call was changed by another request; retry.' },
  // Seen in real traffic (comms-samples #444/#489/#515); status undocumented, 403 chosen (fidelity.md).
  NOT_COMPLIANCE_RECORDING_CALL: { status: 403, code: '8506', message: 'API call not allowed for non-Compliance Recording call' },
  MISSING_ROLE: { status: 403, code: 'accessDenied', message: 'The application does not have the permission this operation requires.' },
  INVALID_REQUEST: { status: 400, code: 'BadRequest', message: 'The request is invalid.' },
  // Undocumented for start/stopTranscription: the same 409 as the recording preconditions (fidelity.md).
  ALREADY_TRANSCRIBING: { status: 409, code: 'Conflict', message: 'The call is already being transcribed.' },
  NOT_TRANSCRIBING: { status: 409, code: 'Conflict', message: 'The call is not being transcribed.' },
  CALL_NOT_IN_LOBBY: { status: 409, code: 'Conflict', message: 'The call is not waiting in a meeting lobby.' },
  // The media action docs: supported only for calls created with serviceHostedMediaConfig; Graph's code is undocumented (fidelity.md).
  NOT_SERVICE_HOSTED_MEDIA: { status: 400, code: 'BadRequest', message: 'This action is supported only for calls that use serviceHostedMediaConfig.' },
  // Wire-level errors (no domain counterpart).
  UNKNOWN_SEGMENT: { status: 400, code: 'BadRequest', message: 'Resource not found for the segment.' },
  METHOD_NOT_ALLOWED: { status: 405, code: 'BadRequest', message: 'The HTTP method is not allowed on this resource.' },
  INVALID_JSON: { status: 400, code: 'BadRequest', message: 'Invalid JSON in the request body.' },
  INVALID_BODY: { status: 400, code: 'BadRequest', message: 'The request body is invalid.' },
  // Graph's JSON reader has a nesting quota too (its value is undocumented); ours is in graph-wire.plugin.ts.
  JSON_TOO_DEEP: { status: 400, code: 'BadRequest', message: 'The request body is nested too deeply.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, code: 'BadRequest', message: 'The request body must be application/json.' },
  PAYLOAD_TOO_LARGE: { status: 413, code: 'RequestEntityTooLarge', message: 'The request body is too large.' },
  // Answered before routing, some by the HTTP server itself; Graph's codes for these are undocumented (fidelity.md).
  BAD_URL: { status: 400, code: 'BadRequest', message: 'The request URL is not valid.' },
  BAD_HTTP_REQUEST: { status: 400, code: 'BadRequest', message: 'The HTTP request is malformed.' },
  URI_TOO_LONG: { status: 414, code: 'RequestUriTooLong', message: 'The request URL is too long.' },
  HEADERS_TOO_LARGE: { status: 431, code: 'RequestHeaderFieldsTooLarge', message: 'The request headers are too large.' },
  EXPECTATION_FAILED: { status: 417, code: 'ExpectationFailed', message: 'Only \'Expect: 100-continue\' is supported.' },
  REQUEST_TIMEOUT: { status: 408, code: 'RequestTimeout', message: 'The request was not received in time.' },
  RANGE_NOT_SATISFIABLE: { status: 416, code: 'invalidRange', message: 'The requested range cannot be satisfied.' },
  INVALID_AUTHENTICATION_TOKEN: { status: 401, code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' },
  NOT_FOUND: { status: 404, code: 'NotFound', message: 'The resource was not found.' },
  CONTROL_FORBIDDEN: { status: 403, code: 'accessDenied', message: 'The control plane refused this client.' },
  SERVICE_UNAVAILABLE: { status: 503, code: 'serviceNotAvailable', message: 'The service is not available.' },
  // Graph's throttling answer (throttling docs): 429 with Retry-After in seconds; the code as real traffic spells it.
  TOO_MANY_REQUESTS: { status: 429, code: 'TooManyRequests', message: 'Too many requests. Please retry after the time in the Retry-After header.' },
  // Load shedding (admission control, fidelity.md): Graph's documented code for a service that cannot serve now.
  SERVER_BUSY: { status: 503, code: 'serviceNotAvailable', message: 'The service is busy. Please retry after the time in the Retry-After header.' },
  CLOCK_NOT_VIRTUAL: { status: 409, code: 'Conflict', message: 'The clock is real: start graph-calls with --clock virtual to move time by hand.' },
  NOT_FOUND_ITEM: { status: 404, code: 'itemNotFound', message: 'The item was not found.' },
  // Roster control: statuses and codes undocumented, chosen like the recording preconditions (fidelity.md, "Roster control").
  PARTICIPANT_ON_HOLD: { status: 409, code: 'Conflict', message: 'A participant is already on hold.' },
  PARTICIPANT_NOT_ON_HOLD: { status: 409, code: 'Conflict', message: 'The participant is not on hold.' },
  NOT_APP_HOSTED_MEDIA: { status: 400, code: 'BadRequest', message: 'The action is supported only for calls with app-hosted media.' },
  AUDIO_ROUTING_GROUP_NOT_FOUND: { status: 404, code: 'itemNotFound', message: 'Audio routing group not found.' },
  AUDIO_ROUTING_GROUP_EXISTS: { status: 409, code: 'Conflict', message: 'An audio routing group with this id already exists.' },
  CONTENT_SHARING_SESSION_NOT_FOUND: { status: 404, code: 'itemNotFound', message: 'Content sharing session not found.' },
  // onlinemeeting-get docs do not print the not-found answer; Graph's OData code for a missing item (fidelity.md).
  MEETING_NOT_FOUND: { status: 404, code: 'itemNotFound', message: 'The online meeting was not found.' },
  // Real v1.0 answer to GETs of the tenant-level getAll* functions, which are subscription resources only (spec §0.7).
  API_NOT_SUPPORTED: { status: 404, code: 'NotFound', message: 'Requested API is not supported. Please check the path.' },
  // calltranscript-get docs: an unsupported content format (seen for Kiota's Accept in 2024, msgraph-sdk-dotnet#2505).
  INVALID_FORMAT: { status: 400, code: 'BadRequest', message: 'Invalid format specified.' },
  GENERAL_EXCEPTION: { status: 500, code: 'generalException', message: 'An unexpected error occurred while processing the request.' },
  // Subscriptions (src/subscriptions/subscription-rules.ts has the messages; spec graph-recordings-pipeline §1.7).
  SUBSCRIPTION_VALIDATION: { status: 400, code: 'ValidationError', message: 'Subscription validation request failed.' },
  SUBSCRIPTION_VALIDATION_TIMEOUT: { status: 400, code: 'InvalidRequest', message: 'Subscription validation request timed out.' },
  SUBSCRIPTION_INVALID: { status: 400, code: 'InvalidRequest', message: 'The subscription request is invalid.' },
  SUBSCRIPTION_EXISTS: { status: 409, code: 'ObjectIdentifierInUse', message: 'A subscription already exists for the requested combination.' },
  // Graph's code for an unknown or expired subscription is undocumented (fidelity.md).
  SUBSCRIPTION_NOT_FOUND: { status: 404, code: 'ResourceNotFound', message: 'The object was not found.' },
} as const satisfies Record<string, { status: number; code: string; message: string }>;

export type GraphErrorName = keyof typeof GRAPH_ERRORS;

/** The one table from domain codes to Graph errors. */
export const DOMAIN_TO_GRAPH: Readonly<Record<DomainErrorCode, GraphErrorName>> = {
  CALL_NOT_FOUND: 'CALL_NOT_FOUND',
  OPERATION_NOT_FOUND: 'OPERATION_NOT_FOUND',
  PARTICIPANT_NOT_FOUND: 'PARTICIPANT_NOT_FOUND',
  CALL_NOT_ESTABLISHED: 'CALL_NOT_ESTABLISHED',
  CALL_ENDED: 'CALL_ENDED',
  CALL_NOT_INCOMING: 'CALL_NOT_INCOMING',
  UNKNOWN_APP: 'UNKNOWN_APP',
  ALREADY_RECORDING: 'ALREADY_RECORDING',
  NOT_RECORDING: 'NOT_RECORDING',
  NOT_COMPLIANCE_RECORDING_CALL: 'NOT_COMPLIANCE_RECORDING_CALL',
  CONCURRENT_UPDATE: 'CONCURRENT_UPDATE',
  MISSING_ROLE: 'MISSING_ROLE',
  INVALID_REQUEST: 'INVALID_REQUEST',
  ALREADY_TRANSCRIBING: 'ALREADY_TRANSCRIBING',
  NOT_TRANSCRIBING: 'NOT_TRANSCRIBING',
  CALL_NOT_IN_LOBBY: 'CALL_NOT_IN_LOBBY',
  PARTICIPANT_ON_HOLD: 'PARTICIPANT_ON_HOLD',
  PARTICIPANT_NOT_ON_HOLD: 'PARTICIPANT_NOT_ON_HOLD',
  NOT_APP_HOSTED_MEDIA: 'NOT_APP_HOSTED_MEDIA',
  AUDIO_ROUTING_GROUP_NOT_FOUND: 'AUDIO_ROUTING_GROUP_NOT_FOUND',
  AUDIO_ROUTING_GROUP_EXISTS: 'AUDIO_ROUTING_GROUP_EXISTS',
  CONTENT_SHARING_SESSION_NOT_FOUND: 'CONTENT_SHARING_SESSION_NOT_FOUND',
  NOT_SERVICE_HOSTED_MEDIA: 'NOT_SERVICE_HOSTED_MEDIA',
  MEETING_NOT_FOUND: 'MEETING_NOT_FOUND',
};

/** A wire error raised by the graph layer itself. */
export class GraphError extends Error {
  constructor(readonly name_: GraphErrorName, message?: string, readonly headers: Record<string, string> = {}) {
    super(message ?? GRAPH_ERRORS[name_].message);
  }
  get status(): number { return GRAPH_ERRORS[this.name_].status; }
  get code(): string { return GRAPH_ERRORS[this.name_].code; }
}

/** Graph's innerError date: UTC, seconds precision, no zone suffix. */
const graphDate = (ms: number) => new Date(ms).toISOString().slice(0, 19);

/** The envelope's text: {"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}. */
export function graphErrorBody(code: string, message: string, ids: { requestId: string; clientRequestId: string }): string {
  return JSON.stringify({
    error: {
      code,
      message,
      innerError: { date: graphDate(Date.now()), 'request-id': ids.requestId, 'client-request-id': ids.clientRequestId },
    },
  });
}

/**
 * The ONE envelope writer, with the headers every Graph answer carries (request-id, client-request-id…),
 * so an error raised before a scope's hooks ran (body parsing on an unknown path, a bad URL) has them too.
 * Answers the HTTP server gives before fastify sees the request use graphErrorBody (src/graph/socket-errors.ts).
 */
export function sendGraphError(request: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  addGraphHeaders(request, reply);
  return reply.code(status).type(JSON_CONTENT_TYPE).send(graphErrorBody(code, message, requestIds(request)));
}
