import * as jose from 'jose';
import type { SigningKey } from '../auth/keys.js';
import type { Clock } from '../shared/clock.js';
import { CHANGE_TRACKING_APP_ID, VALIDATION_TOKEN_LIFETIME_S } from './subscription-rules.js';

export type BadValidationToken = 'expired' | 'wrongAudience' | 'wrongIssuer' | 'unknownKey';

/** The object id graph-calls gives the Change Tracking service principal (`oid`/`sub`), fixed per emulator. */
const CHANGE_TRACKING_OID = '6f3c0a4e-8d1b-4c2a-9e5f-0b7d3a1c9e20';

/**
 * `validationTokens` of rich notifications (spec graph-recordings-pipeline §2.2, §9.7): one JWT per
 * (app, tenant) in a POST, shaped like Entra's v2 tokens (`iss` login.microsoftonline.com/{tid}/v2.0,
 * `aud` the subscribing app, `azp` the Microsoft Graph Change Tracking app), signed with graph-calls'
 * token-signing key, so a subscriber verifies them against graph-calls' own discovery document and JWKS
 * (`/{tid}/discovery/v2.0/keys`). Validators pinned to Microsoft's keys refuse them (docs/fidelity.md).
 * Tokens live in real time, as access tokens do: subscribers check them against their own clocks.
 */
export class ValidationTokens {
  constructor(private readonly key: SigningKey, private readonly clock: Clock) {}

  async tokenFor(appId: string, tenantId: string, bad?: BadValidationToken): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000) - (bad === 'expired' ? 2 * VALIDATION_TOKEN_LIFETIME_S : 0);
    let key = this.key.privateKey;
    let kid = this.key.kid;
    if (bad === 'unknownKey') {
      key = (await jose.generateKeyPair('RS256')).privateKey;
      kid = 'graph-calls-unknown-key';
    }
    return new jose.SignJWT({ tid: tenantId, azp: CHANGE_TRACKING_APP_ID, azpacr: '2', oid: CHANGE_TRACKING_OID, ver: '2.0' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(bad === 'wrongIssuer' ? 'https://issuer.invalid/v2.0' : `https://login.microsoftonline.com/${tenantId}/v2.0`)
      .setAudience(bad === 'wrongAudience' ? '00000000-0000-0000-0000-00000000bad0' : appId)
      .setSubject(CHANGE_TRACKING_OID)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + VALIDATION_TOKEN_LIFETIME_S)
      .sign(key);
  }
}
