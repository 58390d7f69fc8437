import * as jose from 'jose';
import { requestJson, type Target } from '../cli/transport.js';

/** The issuer Teams' calling platform puts in callback tokens (the same value graph-calls signs with). */
export const NOTIFICATION_ISSUER = 'https://api.botframework.com';

/** Refetch the keys for an unknown `kid` at most this often, so a stream of forged tokens costs one fetch. */
const REFRESH_MIN_MS = 10_000;

/**
 * Checks a notification's bearer token the way a Teams calling bot does (the comms samples'
 * authentication provider): keys from the `jwks_uri` of the calling platform's OpenID metadata
 * (`{graph-calls}/v1/.well-known/OpenIdConfiguration`), RS256 only, issuer api.botframework.com, audience
 * the bot's app id, `exp` enforced and a `tid` claim required.
 */
export class NotificationVerifier {
  private keys: ReturnType<typeof jose.createLocalJWKSet> | null = null;
  private fetchedAt = 0;

  constructor(private readonly target: Target, private readonly appId: string) {}

  private async loadKeys(): Promise<ReturnType<typeof jose.createLocalJWKSet>> {
    const meta = await requestJson(this.target, '/v1/.well-known/OpenIdConfiguration');
    if (typeof meta?.jwks_uri !== 'string') throw new Error('the OpenID metadata has no jwks_uri');
    const jwks = (await requestJson(this.target, meta.jwks_uri)) as jose.JSONWebKeySet;
    this.keys = jose.createLocalJWKSet(jwks);
    this.fetchedAt = Date.now();
    return this.keys;
  }

  /** Fetches the keys now, so a wrong graph-calls URL shows at start rather than on the first notification. */
  async ready(): Promise<void> {
    await this.loadKeys();
  }

  /** The verified claims, or throws naming why the token is refused. */
  async verify(authorization: string | undefined): Promise<jose.JWTPayload> {
    const m = /^Bearer (\S+)$/.exec(authorization ?? '');
    if (!m) throw new Error('no bearer token (missing or malformed Authorization header)');
    const options: jose.JWTVerifyOptions = { issuer: NOTIFICATION_ISSUER, audience: this.appId, algorithms: ['RS256'], requiredClaims: ['exp', 'tid'] };
    const keys = this.keys ?? (await this.loadKeys());
    try {
      return (await jose.jwtVerify(m[1]!, keys, options)).payload;
    } catch (err) {
      // Keys rotate: an unknown kid is looked up again (rarely), then refused if still unknown.
      if ((err as { code?: string }).code !== 'ERR_JWKS_NO_MATCHING_KEY' || Date.now() - this.fetchedAt < REFRESH_MIN_MS) throw err;
      return (await jose.jwtVerify(m[1]!, await this.loadKeys(), options)).payload;
    }
  }
}

/** A refusal in words: which check failed. */
export function refusal(err: unknown): string {
  const e = err as Error & { code?: string; claim?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED': return 'token expired';
    case 'ERR_JWKS_NO_MATCHING_KEY': return 'token signed by a key that is not in the discovery document';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'token signature does not verify';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'aud') return 'token is for another app (audience)';
      if (e.claim === 'iss') return 'token has the wrong issuer';
      return `token claim '${e.claim}' is wrong: ${e.message}`;
    default: return e.message;
  }
}
