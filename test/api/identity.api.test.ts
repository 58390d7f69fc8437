import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as jose from 'jose';
import { buildHarness, CLIENT_ID, DEV_APP, TENANT, type Harness } from '../support/harness.js';

const form = (o: Record<string, string>) => new URLSearchParams(o).toString();
const GOOD = { grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: DEV_APP.clientSecret, scope: 'https://graph.microsoft.com/.default' };

describe('identity: token endpoint, discovery, JWKS', () => {
  let h: Harness;
  before(async () => { h = await buildHarness(); });
  after(() => h.close());

  const token = (body: Record<string, string>, tenant = TENANT) => h.comp.app.inject({
    method: 'POST', url: `/${tenant}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: form(body),
  });

  test('client credentials: Entra token response; the token works against Graph', async () => {
    const res = await token(GOOD);
    assert.equal(res.statusCode, 200);
    const b = JSON.parse(res.body);
    assert.deepEqual(Object.keys(b).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
    assert.equal(b.token_type, 'Bearer');
    assert.equal(b.expires_in, 3599);
    const graph = await h.comp.app.inject({ method: 'GET', url: '/beta/communications/calls/00000000-0000-4000-8000-000000000999', headers: { authorization: `Bearer ${b.access_token}` } });
    assert.equal(graph.statusCode, 404, 'authenticated; the call simply does not exist');
  });

  test('a body that is not a form answers as Entra does (its error body, never Graph\'s envelope or a 415)', async () => {
    for (const [type, payload] of [['text/plain', form(GOOD)], ['application/json', JSON.stringify(GOOD)]] as const) {
      const res = await h.comp.app.inject({ method: 'POST', url: `/${TENANT}/oauth2/v2.0/token`, headers: { 'content-type': type }, payload });
      assert.equal(res.statusCode, 400, type);
      const b = JSON.parse(res.body);
      assert.equal(b.error, 'invalid_request', type);
      assert.deepEqual(b.error_codes, [900144]);
      assert.match(b.error_description, /^AADSTS900144: .*'grant_type'/);
      assert.equal(b['@odata.context'], undefined);
    }
    const big = await h.comp.app.inject({ method: 'POST', url: `/${TENANT}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'x='.padEnd(2 * 1024 * 1024, 'a') });
    assert.equal(big.statusCode, 400);
    assert.equal(JSON.parse(big.body).error, 'invalid_request', 'an oversized form is refused in Entra\'s words too');
  });

  test('the alternative Graph scope spelling is accepted', async () => {
    assert.equal((await token({ ...GOOD, scope: '00000003-0000-0000-c000-000000000000/.default' })).statusCode, 200);
  });

  const entraError = async (res: Awaited<ReturnType<typeof token>>, status: number, error: string, code: number) => {
    assert.equal(res.statusCode, status, res.body);
    const b = JSON.parse(res.body);
    assert.equal(b.error, error);
    assert.deepEqual(b.error_codes, [code]);
    assert.match(b.error_description, new RegExp(`^AADSTS${code}: `));
    assert.match(b.timestamp, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$/);
    assert.match(b.trace_id, /^[0-9a-f-]{36}$/);
    assert.match(b.correlation_id, /^[0-9a-f-]{36}$/);
    assert.equal(b.code, undefined, 'not a Graph envelope');
  };

  test('wrong secret: 401 invalid_client AADSTS7000215', async () => entraError(await token({ ...GOOD, client_secret: 'nope' }), 401, 'invalid_client', 7000215));
  test('missing secret: 401 invalid_client AADSTS7000218', async () => entraError(await token({ ...GOOD, client_secret: '' }), 401, 'invalid_client', 7000218));
  test('unknown client id: 400 unauthorized_client AADSTS700016', async () => entraError(await token({ ...GOOD, client_id: '99999999-9999-4999-8999-999999999999' }), 400, 'unauthorized_client', 700016));
  test('unknown tenant: 400 invalid_request AADSTS90002', async () => entraError(await token(GOOD, '99999999-9999-4999-8999-999999999999'), 400, 'invalid_request', 90002));
  test('wrong grant type: 400 unsupported_grant_type', async () => entraError(await token({ ...GOOD, grant_type: 'password' }), 400, 'unsupported_grant_type', 70003));
  test('scope without /.default: 400 invalid_scope', async () => entraError(await token({ ...GOOD, scope: 'Calls.Initiate.All' }), 400, 'invalid_scope', 1002012));
  test('another resource: 400 invalid_resource', async () => entraError(await token({ ...GOOD, scope: 'https://vault.azure.net/.default' }), 400, 'invalid_resource', 500011));

  test('OpenID discovery has the four members MSAL needs, built from the request host', async () => {
    const res = await h.comp.app.inject({ method: 'GET', url: `/${TENANT}/v2.0/.well-known/openid-configuration`, headers: { host: '127.0.0.1:4000' } });
    const d = JSON.parse(res.body);
    assert.equal(d.issuer, `https://login.microsoftonline.com/${TENANT}/v2.0`);
    assert.equal(d.token_endpoint, `http://127.0.0.1:4000/${TENANT}/oauth2/v2.0/token`);
    assert.equal(d.authorization_endpoint, `http://127.0.0.1:4000/${TENANT}/oauth2/v2.0/authorize`);
    assert.equal(d.jwks_uri, `http://127.0.0.1:4000/${TENANT}/discovery/v2.0/keys`);
  });

  test('issued tokens verify against the published JWKS', async () => {
    const jwks = JSON.parse((await h.comp.app.inject({ method: 'GET', url: `/${TENANT}/discovery/v2.0/keys` })).body);
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].d, undefined);
    const { access_token } = JSON.parse((await token(GOOD)).body);
    const { payload } = await jose.jwtVerify(access_token, jose.createLocalJWKSet(jwks), { issuer: `https://sts.windows.net/${TENANT}/`, audience: 'https://graph.microsoft.com' });
    assert.equal(payload.appid, CLIENT_ID);
  });

  test('notification signing discovery lives at the calling platform\'s path with its own key', async () => {
    const d = JSON.parse((await h.comp.app.inject({ method: 'GET', url: '/v1/.well-known/OpenIdConfiguration', headers: { host: 'localhost:4000' } })).body);
    assert.equal(d.issuer, 'https://api.botframework.com');
    assert.equal(d.jwks_uri, 'http://localhost:4000/v1/.well-known/keys');
    const keys = JSON.parse((await h.comp.app.inject({ method: 'GET', url: '/v1/.well-known/keys' })).body).keys;
    const graphKeys = JSON.parse((await h.comp.app.inject({ method: 'GET', url: `/${TENANT}/discovery/v2.0/keys` })).body).keys;
    assert.equal(keys.length, 1);
    assert.notEqual(keys[0].kid, graphKeys[0].kid, 'notifications are signed with a separate key');
  });
});
