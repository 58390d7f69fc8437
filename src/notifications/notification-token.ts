import * as jose from 'jose';
import type { Clock } from '../shared/clock.js';
import type { SigningKey } from '../auth/keys.js';

/** The issuer Teams' calling platform puts in callback tokens (msteams call-notifications docs). */
export const NOTIFICATION_ISSUER = 'https://api.botframework.com';

/**
 * Signs the bearer token on each notification: `iss` api.botframework.com, `aud` the bot's app id, `tid`,
 * a short lifetime. A token is reused for an app until half its life is gone (signing costs ~0.5 ms).
 */
export class NotificationTokens {
  private readonly cache = new Map<string, { token: string; renewAt: number }>();

  constructor(private readonly key: SigningKey, private readonly clock: Clock, private readonly lifetimeSeconds = 600) {}

  /** A deliberately broken token, for fault injection: what a bot's validator must refuse. */
  async badTokenFor(kind: 'expired' | 'wrongAudience' | 'wrongIssuer' | 'unknownKey', appId: string, tenantId: string): Promise<string> {
    const iat = Math.floor(this.clock.now() / 1000);
    let key = this.key.privateKey;
    let kid = this.key.kid;
    if (kind === 'unknownKey') {
      key = (await jose.generateKeyPair('RS256')).privateKey;
      kid = 'graph-calls-unknown-key';
    }
    return new jose.SignJWT({ tid: tenantId })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .setIssuer(kind === 'wrongIssuer' ? 'https://issuer.invalid/' : NOTIFICATION_ISSUER)
      .setAudience(kind === 'wrongAudience' ? '00000000-0000-0000-0000-00000000bad0' : appId)
      .setIssuedAt(kind === 'expired' ? iat - 7200 : iat)
      .setNotBefore(kind === 'expired' ? iat - 7200 : iat)
      .setExpirationTime(kind === 'expired' ? iat - 3600 : iat + this.lifetimeSeconds)
      .sign(key);
  }

  async tokenFor(appId: string, tenantId: string): Promise<string> {
    const now = this.clock.now();
    const cacheKey = `${appId}|${tenantId}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.renewAt > now) return hit.token;
    const iat = Math.floor(now / 1000);
    const token = await new jose.SignJWT({ tid: tenantId, serviceurl: 'https://api.aps.skype.com/' })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.key.kid, x5t: this.key.kid })
      .setIssuer(NOTIFICATION_ISSUER)
      .setAudience(appId)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + this.lifetimeSeconds)
      .sign(this.key.privateKey);
    this.cache.set(cacheKey, { token, renewAt: now + (this.lifetimeSeconds * 1000) / 2 });
    return token;
  }
}
