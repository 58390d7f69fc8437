import * as jose from 'jose';
import { createHash, randomUUID } from 'node:crypto';
import type { Principal } from '../domain/call.js';
import type { Clock } from '../shared/clock.js';
import type { AppRegistration, AppRegistry } from './apps.js';
import type { SigningKey } from './keys.js';

/** Graph's resource: the `aud` of tokens we accept, in both of the forms Entra issues. */
export const GRAPH_AUDIENCES: readonly string[] = ['https://graph.microsoft.com', '00000003-0000-0000-c000-000000000000'];
export const graphIssuer = (tenantId: string) => `https://sts.windows.net/${tenantId}/`;

/** Why a bearer token was refused; the graph layer turns it into Graph's 401 message. */
export type TokenProblem = 'missing' | 'malformed' | 'expired' | 'noExpiry' | 'notYetValid' | 'badSignature' | 'badAudience' | 'badIssuer' | 'unknownApp' | 'notAppOnly';

/**
 * Where a request's roles come from. `token`: the `roles` claim, as Entra and Graph do (a role removed
 * from the app still works until the token expires). `registry` (default): the claim intersected with
 * the roles the app is registered with now, so a removed role stops working on the next request.
 */
export type RolesFrom = 'token' | 'registry';

export class TokenRejected extends Error {
  constructor(readonly problem: TokenProblem) {
    super(problem);
  }
}

export interface TokenServiceOptions {
  apps: AppRegistry;
  key: SigningKey;
  clock: Clock;
  lifetimeSeconds: number;
  /** Bound on the verified-token cache (entries are dropped wholesale when it is full). */
  cacheSize?: number;
  /** Default `registry`. */
  rolesFrom?: RolesFrom;
}

interface Verified {
  /** As the token says. */
  principal: Principal;
  exp: number;
  /** The registration `effective` was computed from: apps are replaced, never changed, so identity tells. */
  app?: AppRegistration;
  effective?: Principal;
}

/** A stable object id for an app's service principal, so `oid` does not change across restarts. */
export const servicePrincipalId = (app: Pick<AppRegistration, 'tenantId' | 'clientId'>) => {
  const h = createHash('sha256').update(`sp:${app.tenantId}:${app.clientId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/**
 * Issues and verifies Entra-shaped app-only access tokens (v1 claims, as Graph app tokens carry:
 * `iss` sts.windows.net, `appid`, `idtyp: app`). Verifications are cached by token string until `exp`:
 * an RS256 verify costs ~60 µs, a Map lookup almost nothing.
 */
export class TokenService {
  private readonly cache = new Map<string, Verified>();

  constructor(private readonly o: TokenServiceOptions) {}

  async issue(app: AppRegistration): Promise<{ accessToken: string; expiresIn: number }> {
    const now = Math.floor(this.o.clock.now() / 1000);
    const oid = servicePrincipalId(app);
    const accessToken = await new jose.SignJWT({
      aio: randomUUID(),
      app_displayname: app.displayName,
      appid: app.clientId,
      appidacr: '1',
      idp: graphIssuer(app.tenantId),
      idtyp: 'app',
      oid,
      rh: '0.graph-calls.',
      roles: [...app.roles],
      sub: oid,
      tenant_region_scope: 'EU',
      tid: app.tenantId,
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      ver: '1.0',
      wids: ['0997a1d0-0d1d-4acb-b408-d5ca73121e90'],
      xms_tcdt: now,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: this.o.key.kid, x5t: this.o.key.kid })
      .setAudience(GRAPH_AUDIENCES[0]!)
      .setIssuer(graphIssuer(app.tenantId))
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.o.lifetimeSeconds)
      .sign(this.o.key.privateKey);
    return { accessToken, expiresIn: this.o.lifetimeSeconds };
  }

  /** Verifies a bearer token, from the cache when it was verified before and has not expired. */
  async verify(token: string): Promise<Principal> {
    const nowMs = this.o.clock.now();
    const hit = this.cache.get(token);
    if (hit) {
      if (hit.exp * 1000 > nowMs) return await this.effective(hit);
      this.cache.delete(token);
      throw new TokenRejected('expired');
    }
    let payload: jose.JWTPayload;
    try {
      ({ payload } = await jose.jwtVerify(token, this.o.key.publicKey, {
        algorithms: ['RS256'],
        audience: [...GRAPH_AUDIENCES],
        currentDate: new Date(nowMs),
        clockTolerance: 0,
        // A token without `exp` would be good forever: Entra never issues one, Graph refuses it.
        requiredClaims: ['exp'],
      }));
    } catch (err) {
      throw new TokenRejected(classify(err));
    }
    const tid = typeof payload.tid === 'string' ? payload.tid : '';
    if (payload.iss !== graphIssuer(tid)) throw new TokenRejected('badIssuer');
    if (payload.idtyp !== 'app' || typeof payload.appid !== 'string') throw new TokenRejected('notAppOnly');
    const principal: Principal = Object.freeze({
      tenantId: tid,
      appId: payload.appid,
      roles: Object.freeze(Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : []),
    });
    const verified: Verified = { principal, exp: payload.exp! };
    const effective = await this.effective(verified);
    if (this.cache.size >= (this.o.cacheSize ?? 10_000)) this.cache.clear();
    this.cache.set(token, verified);
    return effective;
  }

  /**
   * The principal a request acts as. An app removed since its token was issued no longer gets in;
   * before refusing, the apps are read again: the app may have been registered through another instance
   * a moment ago. With `rolesFrom: registry` its roles are also cut down to those it holds now, read
   * from the in-memory registry (recomputed only when the registration changed).
   */
  private async effective(v: Verified): Promise<Principal> {
    const p = v.principal;
    const current = () => { const app = this.o.apps.get(p.appId); return app && app.tenantId === p.tenantId ? app : undefined; };
    let app = current();
    if (!app) { await this.o.apps.refresh(); app = current(); }
    if (!app) throw new TokenRejected('unknownApp');
    if ((this.o.rolesFrom ?? 'registry') === 'token') return p;
    if (v.app !== app || !v.effective) {
      const held = new Set(app.roles.map((r) => r.toLowerCase()));
      const roles = p.roles.filter((r) => held.has(r.toLowerCase()));
      v.effective = roles.length === p.roles.length ? p : Object.freeze({ ...p, roles: Object.freeze(roles) });
      v.app = app;
    }
    return v.effective;
  }
}

function classify(err: unknown): TokenProblem {
  const e = err as { code?: string; claim?: string; reason?: string };
  switch (e.code) {
    case 'ERR_JWT_EXPIRED': return 'expired';
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED': return 'badSignature';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (e.claim === 'aud') return 'badAudience';
      if (e.claim === 'exp' && e.reason === 'missing') return 'noExpiry';
      if (e.claim === 'nbf' || e.claim === 'iat') return 'notYetValid';
      return 'malformed';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    default:
      return 'malformed';
  }
}
