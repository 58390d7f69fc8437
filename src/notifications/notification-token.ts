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
