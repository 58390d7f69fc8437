import { randomUUID } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import { requestIds } from '../graph/wire.js';

/**
 * Entra ID's OAuth error body (not a Graph envelope): what MSAL and @azure/identity parse
 * (research/token-clients.md). `error_description` starts with the AADSTS code, as Entra's does.
 */
export const ENTRA_ERRORS = {
  tenantNotFound: { status: 400, error: 'invalid_request', code: 90002, text: (t: string) => `Tenant '${t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.` },
  unsupportedGrant: { status: 400, error: 'unsupported_grant_type', code: 70003, text: (g: string) => `The app requested an unsupported grant type '${g}'. graph-calls supports client_credentials.` },
  missingParameter: { status: 400, error: 'invalid_request', code: 900144, text: (p: string) => `The request body must contain the following parameter: '${p}'.` },
  unknownClient: { status: 400, error: 'unauthorized_client', code: 700016, text: (c: string, t = '') => `Application with identifier '${c}' was not found in the directory '${t}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.` },
  missingSecret: { status: 401, error: 'invalid_client', code: 7000218, text: () => `The request body must contain the following parameter: 'client_assertion' or 'client_secret'.` },
  badSecret: { status: 401, error: 'invalid_client', code: 7000215, text: (c: string) => `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${c}'.` },
  badScope: { status: 400, error: 'invalid_scope', code: 1002012, text: (s: string) => `The provided value for scope ${s} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).` },
  unknownResource: { status: 400, error: 'invalid_resource', code: 500011, text: (r: string) => `The resource principal named ${r} was not found in the tenant. graph-calls issues tokens for https://graph.microsoft.com only.` },
  // Entra's generic answers (AADSTS90023 InvalidRequest, AADSTS90033 transient service error).
  invalidRequest: { status: 400, error: 'invalid_request', code: 90023, text: (why: string) => `The request is not valid: ${why}` },
  serverError: { status: 500, error: 'server_error', code: 90033, text: () => 'A transient error has occurred. Please try again.' },
} as const;

export type EntraErrorName = keyof typeof ENTRA_ERRORS;

/** Entra's timestamp form: "2026-11-26 23:01:02Z". */
const entraTimestamp = (d: Date) => `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;

export function sendEntraError(reply: FastifyReply, name: EntraErrorName, ...args: string[]): FastifyReply {
  const e = ENTRA_ERRORS[name];
  // Entra's trace id is its x-ms-request-id header (set for the token endpoint's scope).
  const traceId = requestIds(reply.request).requestId;
  const correlationId = (reply.request.headers['client-request-id'] as string | undefined) ?? randomUUID();
  const timestamp = entraTimestamp(new Date());
  const text = (e.text as (...a: string[]) => string)(...args);
  return reply.code(e.status).type('application/json; charset=utf-8').send({
    error: e.error,
    error_description: `AADSTS${e.code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
    error_codes: [e.code],
    timestamp,
    trace_id: traceId,
    correlation_id: correlationId,
    error_uri: `https://login.microsoftonline.com/error?code=${e.code}`,
  });
}
