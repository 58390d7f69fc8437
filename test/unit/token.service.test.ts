import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { AppRegistry, DEV_APP, parseAppsFile } from '../../src/auth/apps.js';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import { TokenRejected, TokenService } from '../../src/auth/token.service.js';
import type { Clock } from '../../src/shared/clock.js';

import type { AppRegistration } from '../../src/auth/apps.js';
import { SqliteEngine } from '../../src/storage/sqlite/engine.js';

/** A config store of its own (SQLite in memory), as every instance has. */
const memory = () => new SqliteEngine({ dataDir: null, synchronous: 'FULL' });
const registry = (apps: AppRegistration[]) => { const m = memory(); return AppRegistry.open(m.config, m.wakeups, apps); };

function fixedClock(start: number): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => now, setTimer: () => () => {}, advance(ms) { now += ms; } };
}

const OTHER_APP = { ...DEV_APP, clientId: '11111111-1111-4111-8111-111111111111', tenantId: '22222222-2222-4222-8222-222222222222', roles: ['Calls.Initiate.All'], displayName: 'other' };

async function setup() {
  const kv = memory().config;
  const key = await loadOrCreateKey(kv, 'token-signing');
  const clock = fixedClock(Date.UTC(2026, 10, 26, 12));
  const apps = await registry([DEV_APP, OTHER_APP]);
  const tokens = new TokenService({ apps, key, clock, lifetimeSeconds: 3599 });
  return { kv, key, clock, apps, tokens };
}

const problem = async (p: Promise<unknown>) => {
  try { await p; } catch (e) { return (e as TokenRejected).problem; }
  return 'accepted';
};

test('issued tokens carry Entra v1 app-only claims and verify', async () => {
  const { tokens, key } = await setup();
  const { accessToken, expiresIn } = await tokens.issue(DEV_APP);
  assert.equal(expiresIn, 3599);
  const header = jose.decodeProtectedHeader(accessToken);
  assert.equal(header.alg, 'RS256');
  assert.equal(header.kid, key.kid);
  const claims = jose.decodeJwt(accessToken);
  assert.equal(claims.aud, 'https://graph.microsoft.com');
  assert.equal(claims.iss, `https://sts.windows.net/${DEV_APP.tenantId}/`);
  assert.equal(claims.tid, DEV_APP.tenantId);
  assert.equal(claims.appid, DEV_APP.clientId);
  assert.equal(claims.idtyp, 'app');
  assert.deepEqual(claims.roles, [...DEV_APP.roles]);
  assert.equal(claims.exp! - claims.iat!, 3599);
  const p = await tokens.verify(accessToken);
  assert.deepEqual({ ...p, roles: [...p.roles] }, { tenantId: DEV_APP.tenantId, appId: DEV_APP.clientId, roles: [...DEV_APP.roles] });
});

test('the signing key is created once and reused from the store', async () => {
  const kv = memory().config;
  const a = await loadOrCreateKey(kv, 'token-signing');
  const b = await loadOrCreateKey(kv, 'token-signing');
  assert.equal(a.kid, b.kid);
  assert.equal(a.publicJwk.n, b.publicJwk.n);
  assert.equal(a.publicJwk.d, undefined, 'the public JWK must not carry the private exponent');
});

test('expired tokens are refused, also when first verified while valid (cache honours exp)', async () => {
  const { tokens, clock } = await setup();
  const { accessToken } = await tokens.issue(DEV_APP);
  await tokens.verify(accessToken);
  clock.advance(3600 * 1000);
  assert.equal(await problem(tokens.verify(accessToken)), 'expired');
  const fresh = await setup();
  const t2 = (await fresh.tokens.issue(DEV_APP)).accessToken;
  fresh.clock.advance(3600 * 1000);
  assert.equal(await problem(fresh.tokens.verify(t2)), 'expired');
});

test('a token signed by another key is refused', async () => {
  const { tokens } = await setup();
  const other = await setup();
  const forged = (await other.tokens.issue(DEV_APP)).accessToken;
  assert.equal(await problem(tokens.verify(forged)), 'badSignature');
});

test('wrong audience, wrong issuer, delegated and malformed tokens are refused', async () => {
  const { tokens, key, clock } = await setup();
  const now = Math.floor(clock.now() / 1000);
  const sign = (claims: jose.JWTPayload) => new jose.SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: key.kid })
    .setIssuedAt(now).setNotBefore(now).setExpirationTime(now + 600).sign(key.privateKey);
  const base = { tid: DEV_APP.tenantId, appid: DEV_APP.clientId, idtyp: 'app', iss: `https://sts.windows.net/${DEV_APP.tenantId}/`, aud: 'https://graph.microsoft.com' };
  assert.equal(await problem(tokens.verify(await sign({ ...base, aud: 'https://management.azure.com' }))), 'badAudience');
  assert.equal(await problem(tokens.verify(await sign({ ...base, iss: 'https://evil.example/' }))), 'badIssuer');
  assert.equal(await problem(tokens.verify(await sign({ ...base, idtyp: 'user' }))), 'notAppOnly');
  assert.equal(await problem(tokens.verify('not-a-jwt')), 'malformed');
  assert.equal(await problem(tokens.verify(await sign({ ...base, aud: '00000003-0000-0000-c000-000000000000' }))), 'accepted');
});

test('a token for an app that is no longer registered is refused', async () => {
  const { key, clock } = await setup();
  const issuer = new TokenService({ apps: await registry([DEV_APP, OTHER_APP]), key, clock, lifetimeSeconds: 600 });
  const verifier = new TokenService({ apps: await registry([DEV_APP]), key, clock, lifetimeSeconds: 600 });
  const t = (await issuer.issue(OTHER_APP)).accessToken;
  assert.equal(await problem(verifier.verify(t)), 'unknownApp');
});

test('apps file: valid entries load; every problem is reported', () => {
  const ok = parseAppsFile(JSON.stringify([{ tenantId: OTHER_APP.tenantId.toUpperCase(), clientId: OTHER_APP.clientId, clientSecret: 's', roles: ['Calls.Initiate.All'] }]), 'apps.json');
  assert.equal(ok[0]!.tenantId, OTHER_APP.tenantId);
  assert.throws(() => parseAppsFile('[{"tenantId":"x","clientId":"y","roles":"no"}]', 'apps.json'),
    (e: Error) => /tenantId/.test(e.message) && /clientId/.test(e.message) && /clientSecret/.test(e.message) && /roles/.test(e.message));
  assert.throws(() => parseAppsFile('{', 'apps.json'), /not valid JSON/);
});

test('a token without exp is refused, even with a valid signature', async () => {
  const { tokens, key, clock } = await setup();
  const now = Math.floor(clock.now() / 1000);
  const noExp = await new jose.SignJWT({ tid: DEV_APP.tenantId, appid: DEV_APP.clientId, idtyp: 'app', roles: [...DEV_APP.roles] })
    .setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(`https://sts.windows.net/${DEV_APP.tenantId}/`).setAudience('https://graph.microsoft.com')
    .setIssuedAt(now).setNotBefore(now).sign(key.privateKey);
  assert.equal(await problem(tokens.verify(noExp)), 'noExpiry');
  // Not cached as good: refused again.
  assert.equal(await problem(tokens.verify(noExp)), 'noExpiry');
});

test('rolesFrom registry (default): a role removed from the app stops working on the next request; token: it lasts until exp', async () => {
  const { key, clock } = await setup();
  const apps = await registry([DEV_APP]);
  const byRegistry = new TokenService({ apps, key, clock, lifetimeSeconds: 600 });
  const byToken = new TokenService({ apps, key, clock, lifetimeSeconds: 600, rolesFrom: 'token' });
  const t = (await byRegistry.issue(DEV_APP)).accessToken;
  assert.deepEqual([...(await byRegistry.verify(t)).roles], [...DEV_APP.roles]);
  assert.deepEqual([...(await byToken.verify(t)).roles], [...DEV_APP.roles]);
  // Same cached token, app changed: roles compared case-insensitively, never widened beyond the token's.
  await apps.put({ ...DEV_APP, roles: ['calls.initiate.all', 'Calls.Extra.All'] });
  assert.deepEqual([...(await byRegistry.verify(t)).roles], ['Calls.Initiate.All']);
  assert.deepEqual([...(await byToken.verify(t)).roles], [...DEV_APP.roles]);
  const p1 = await byRegistry.verify(t);
  assert.equal(await byRegistry.verify(t), p1, 'the cut-down principal is reused until the registration changes');
  await apps.put({ ...DEV_APP });
  assert.deepEqual([...(await byRegistry.verify(t)).roles], [...DEV_APP.roles], 'a role given back works again');
});
