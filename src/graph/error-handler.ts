import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.js';
import { TokenRejected, type TokenProblem } from '../auth/token.service.js';
import { DOMAIN_TO_GRAPH, GRAPH_ERRORS, GraphError, sendGraphError } from './graph-errors.js';

/** Graph's 401 messages for each way a bearer token fails (as seen from the real service). */
const TOKEN_MESSAGES: Readonly<Record<TokenProblem, string>> = {
  missing: 'Access token is empty.',
  malformed: 'IDX14100: JWT is not well formed, there are no dots (.). The token needs to be in JWS or JWE Compact Serialization Format.',
  expired: 'Lifetime validation failed, the token is expired.',
  // IdentityModel's IDX10225 ("The token is missing an Expiration Time"), in Graph's wording above.
  noExpiry: 'Lifetime validation failed, the token is missing an expiration time.',
  notYetValid: 'Lifetime validation failed, the token is not yet valid.',
  badSignature: 'Access token validation failure. Signature verification failed.',
  badAudience: 'Access token validation failure. Invalid audience.',
  badIssuer: 'Access token validation failure. Invalid issuer.',
  unknownApp: 'Access token validation failure. The application is not registered.',
  notAppOnly: 'Access token validation failure. graph-calls accepts app-only tokens only.',
};

interface ValidationItem { instancePath?: string; keyword?: string; message?: string; params?: Record<string, unknown> }

/** "Property 'clientContext' …": name the offending member, as the issue asks. */
function describeValidation(items: ValidationItem[]): string {
  const first = items.find((i) => i.keyword !== 'anyOf') ?? items[0];
  if (!first) return GRAPH_ERRORS.INVALID_BODY.message;
  if (first.keyword === 'required') return `The required property '${String(first.params?.missingProperty)}' is missing from the request body.`;
  const member = (first.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.') || 'body';
  if (first.keyword === 'type') {
    const types = items.filter((i) => i.instancePath === first.instancePath && i.keyword === 'type').map((i) => String(i.params?.type));
    return `Invalid value for property '${member}': expected ${types.join(' or ')}.`;
  }
  if (first.keyword === 'maxLength') return `Invalid value for property '${member}': must be at most ${String(first.params?.limit)} characters.`;
  if (first.keyword === 'minLength') return `Invalid value for property '${member}': must not be empty.`;
  if (first.keyword === 'minItems') return `Invalid value for property '${member}': must have at least ${String(first.params?.limit)} item(s).`;
  if (first.keyword === 'maxItems') return `Invalid value for property '${member}': must have at most ${String(first.params?.limit)} items.`;
  return `Invalid value for property '${member}': ${first.message ?? 'invalid'}.`;
}

/**
 * The one error funnel for Graph and control-plane routes: every failure becomes Graph's envelope.
 * 4xx are logged at info; anything unexpected is a logged 500 `generalException`, with no stack on the wire.
 */
export function graphErrorHandler(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (err instanceof DomainError) {
    const e = GRAPH_ERRORS[DOMAIN_TO_GRAPH[err.code]];
    const message = err.message && err.message !== err.code ? err.message : e.message;
    return sendGraphError(request, reply, e.status, e.code, message);
  }
  if (err instanceof GraphError) {
    for (const [k, v] of Object.entries(err.headers)) reply.header(k, v);
    return sendGraphError(request, reply, err.status, err.code, err.message);
  }
  if (err instanceof TokenRejected) {
    reply.header('www-authenticate', `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="invalid_token", error_description="${TOKEN_MESSAGES[err.problem]}"`);
    const e = GRAPH_ERRORS.INVALID_AUTHENTICATION_TOKEN;
    return sendGraphError(request, reply, e.status, e.code, TOKEN_MESSAGES[err.problem]);
  }
  const fe = err as FastifyError;
  if (fe.validation) {
    const e = GRAPH_ERRORS.INVALID_BODY;
    return sendGraphError(request, reply, e.status, e.code, describeValidation(fe.validation as ValidationItem[]));
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE': {
      const e = GRAPH_ERRORS.UNSUPPORTED_MEDIA_TYPE;
      return sendGraphError(request, reply, e.status, e.code, `${e.message} Got '${String(request.headers['content-type'])}'.`);
    }
    case 'FST_ERR_CTP_BODY_TOO_LARGE': {
      const e = GRAPH_ERRORS.PAYLOAD_TOO_LARGE;
      return sendGraphError(request, reply, e.status, e.code, e.message);
    }
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY': {
      const e = GRAPH_ERRORS.INVALID_JSON;
      return sendGraphError(request, reply, e.status, e.code, `${e.message} ${fe.message}`);
    }
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return sendGraphError(request, reply, 400, 'BadRequest', 'The Content-Length header does not match the request body.');
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    request.log.info({ err }, 'client error');
    return sendGraphError(request, reply, fe.statusCode, 'BadRequest', fe.message);
  }
  request.log.error({ err }, 'unexpected error');
  const e = GRAPH_ERRORS.GENERAL_EXCEPTION;
  return sendGraphError(request, reply, e.status, e.code, e.message);
}

/** The router's `maxParamLength`: function segments such as getAllRecordings(meetingOrganizerUserId='…',startDateTime=…) are long. */
export const MAX_SEGMENT_LENGTH = 1000;

/**
 * fastify's `frameworkErrors`: failures found while routing, before any scope's hooks or error handler
 * run. A URL with malformed percent-encoding (`%zz`, a lone `%`, invalid UTF-8) is a 400; a path
 * segment longer than the router's limit a 414. Both in Graph's envelope with the request-id headers.
 */
export function graphFrameworkErrors(err: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const url = (request.raw.url ?? '').split('?')[0]!;
  const shown = url.length > 200 ? `${url.slice(0, 200)}…` : url;
  switch (err.code) {
    case 'FST_ERR_BAD_URL': {
      const e = GRAPH_ERRORS.BAD_URL;
      return sendGraphError(request, reply, e.status, e.code, `${e.message} '${shown}' has malformed percent-encoding.`);
    }
    case 'FST_ERR_MAX_PARAM_LENGTH': {
      const e = GRAPH_ERRORS.URI_TOO_LONG;
      return sendGraphError(request, reply, e.status, e.code, `${e.message} A segment of '${shown}' is longer than the ${MAX_SEGMENT_LENGTH} characters allowed.`);
    }
  }
  request.log.error({ err }, 'unexpected routing error');
  const e = GRAPH_ERRORS.GENERAL_EXCEPTION;
  return sendGraphError(request, reply, e.status, e.code, e.message);
}
