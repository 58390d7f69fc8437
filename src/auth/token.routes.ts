import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { timingSafeEqual } from 'node:crypto';
import type { AppRegistry } from './apps.js';
import { sendEntraError } from './entra-errors.js';
import type { SigningKey } from './keys.js';
import type { TokenService } from './token.service.js';
import { requestIds } from '../graph/wire.js';

export interface TokenRoutesOptions {
  apps: AppRegistry;
  tokens: TokenService;
  tokenKey: SigningKey;
  notificationKey: SigningKey;
  /** Largest form body read (--token-body-limit): the endpoint needs no authentication, so it must stay cheap to refuse. */
  bodyLimitBytes: number;
}

/** Graph is the only resource; both spellings of its scope are accepted, as Entra does. */
const GRAPH_SCOPES = new Set(['https://graph.microsoft.com/.default', 'https://graph.microsoft.com//.default', '00000003-0000-0000-c000-000000000000/.default']);

const origin = (r: FastifyRequest) => `${r.protocol}://${r.host}`;

function secretMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given), b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A form's fields: strings only, and no inherited members (`client_id=constructor` names no app). */
type Form = Readonly<Record<string, string | undefined>>;

/**
 * `a=1&b=2` -> {a: '1', b: '2'}. A field sent twice keeps its last value, as URLSearchParams reads it;
 * every value is a string whatever the body holds (`client_id[]=x`, `client_id=a&client_id=b`).
 */
export function formFields(body: string): Form {
  const out = Object.create(null) as Record<string, string>;
  for (const [k, v] of new URLSearchParams(body)) out[k] = v;
  return out;
}

/**
 * The Entra side (design.md §3): client-credentials token endpoint, OpenID discovery and JWKS, plus the
 * calling platform's notification-signing discovery at the real service's path.
 */
/** The tenant segment, any string (Entra answers an unknown tenant itself, AADSTS90002). */
const TenantParams = Type.Object({ tenantId: Type.String() });

export async function tokenRoutes(plain: FastifyInstance, o: TokenRoutesOptions): Promise<void> {
  const app = plain.withTypeProvider<TypeBoxTypeProvider>();
  // Entra reads the form body and nothing else: any other body simply lacks the parameters (AADSTS900144).
  app.removeAllContentTypeParsers();
  // Its own limit, far below Graph's: a larger body is refused from its Content-Length, never read (AADSTS90023).
  const bodyLimit = o.bodyLimitBytes;
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit }, (_req, body, done) => {
    done(null, formFields(body as string));
  });
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit }, (_req, _body, done) => done(null, {}));
  // Entra's request ids: x-ms-request-id (its trace id), and client-request-id echoed; request-id as on Graph.
  app.addHook('onRequest', async (request, reply) => {
    const ids = requestIds(request);
    reply.header('x-ms-request-id', ids.requestId).header('request-id', ids.requestId).header('client-request-id', ids.clientRequestId);
  });
  // Errors here are Entra's OAuth error body, never Graph's envelope.
  app.setErrorHandler((err: Error, request, reply) => {
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) return sendEntraError(reply, 'invalidRequest', err.message);
    request.log.error({ err }, 'unexpected error at the token endpoint');
    return sendEntraError(reply, 'serverError');
  });

  app.post('/:tenantId/oauth2/v2.0/token', { schema: { params: TenantParams } }, async (request, reply) => {
    const tenantId = request.params.tenantId.toLowerCase();
    const form = (request.body && typeof request.body === 'object' ? request.body : {}) as Form;
    // Refused on this instance's copy? It may predate another instance's change: refresh it first.
    const app = form.client_id ? o.apps.get(form.client_id) : undefined;
    if (!o.apps.hasTenant(tenantId) || (form.client_id && (!app || app.tenantId !== tenantId || (form.client_secret && !secretMatches(form.client_secret, app.clientSecret))))) {
      await o.apps.refresh();
    }
    if (!o.apps.hasTenant(tenantId)) return sendEntraError(reply, 'tenantNotFound', tenantId);
    if (!form.grant_type) return sendEntraError(reply, 'missingParameter', 'grant_type');
    if (form.grant_type !== 'client_credentials') return sendEntraError(reply, 'unsupportedGrant', form.grant_type);
    if (!form.client_id) return sendEntraError(reply, 'missingParameter', 'client_id');
    const registered = o.apps.get(form.client_id);
    if (!registered || registered.tenantId !== tenantId) return sendEntraError(reply, 'unknownClient', form.client_id, tenantId);
    if (!form.client_secret) return sendEntraError(reply, 'missingSecret');
    if (!secretMatches(form.client_secret, registered.clientSecret)) return sendEntraError(reply, 'badSecret', registered.clientId);
    if (!form.scope) return sendEntraError(reply, 'missingParameter', 'scope');
    const scope = form.scope.trim();
    if (!scope.endsWith('/.default')) return sendEntraError(reply, 'badScope', scope);
    if (!GRAPH_SCOPES.has(scope.toLowerCase())) return sendEntraError(reply, 'unknownResource', scope.replace(/\/\.default$/, ''));
    const { accessToken, expiresIn } = await o.tokens.issue(registered);
    return reply.header('cache-control', 'no-store, no-cache').type('application/json; charset=utf-8').send({
      token_type: 'Bearer', expires_in: expiresIn, ext_expires_in: expiresIn, access_token: accessToken,
    });
  });

  /** MSAL and @azure/identity need issuer, authorization_endpoint, token_endpoint and jwks_uri. */
  app.get('/:tenantId/v2.0/.well-known/openid-configuration', { schema: { params: TenantParams } }, async (request) => {
    const tenantId = request.params.tenantId.toLowerCase();
    const base = `${origin(request)}/${tenantId}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      // The real issuer string: MSAL's issuer check accepts it from any authority host.
      issuer: `https://login.microsoftonline.com/${tenantId}/v2.0`,
      request_uri_parameter_supported: false,
      tenant_region_scope: 'EU',
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'tid', 'oid', 'roles', 'appid'],
      grant_types_supported: ['client_credentials'],
    };
  });

  app.get('/:tenantId/discovery/v2.0/keys', async () => ({ keys: [o.tokenKey.publicJwk] }));

  /** Same path as api.aps.skype.com's: a bot's validator works by changing only the metadata host. */
  app.get('/v1/.well-known/OpenIdConfiguration', async (request) => ({
    issuer: 'https://api.botframework.com',
    authorization_endpoint: `${origin(request)}/v1/.well-known/authorize`,
    jwks_uri: `${origin(request)}/v1/.well-known/keys`,
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
  }));

  app.get('/v1/.well-known/keys', async () => ({ keys: [{ ...o.notificationKey.publicJwk, endorsements: ['msteams'] }] }));
}
