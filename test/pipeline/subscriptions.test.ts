import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, TENANT, CLIENT_ID, type ServerHarness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { selfSignedCertificate, startSubscriber, type Subscriber } from '../support/subscriber.js';

const MIN = 60_000;
const MEETING = 'MSoxMjM0KjAqKjE5Om1lZXRpbmdfYWJjQHRocmVhZC52Mg';

describe('/subscriptions', () => {
  let h: ServerHarness;
  let sub: Subscriber;
  const now = () => h.comp.virtualClock!.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const advance = (ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
  const body = (extra: Record<string, unknown> = {}) => ({
    changeType: 'created', notificationUrl: sub.notificationUrl, resource: 'communications/onlineMeetings/getAllRecordings',
    expirationDateTime: iso(now() + 50 * MIN), clientState: 'secretClientValue', ...extra,
  });
  const create = (extra: Record<string, unknown> = {}, version = 'v1.0') => call(h, 'POST', `/${version}/subscriptions`, { body: body(extra) });
  const listed = async () => (await call(h, 'GET', '/v1.0/subscriptions')).body.value as any[];

  before(async () => {
    h = await startServer({ clock: 'virtual', subscriptionValidationTimeoutMs: 400 });
    sub = await startSubscriber({ graphCallsUrl: h.url, tenantId: TENANT, appId: CLIENT_ID, clientState: 'secretClientValue' });
  });
  after(async () => { await sub.close(); await h.close(); });
  beforeEach(async () => {
    sub.handshake = 'echo';
    for (const s of await listed()) await call(h, 'DELETE', `/v1.0/subscriptions/${s.id}`);
  });

  test('create: the handshake on notificationUrl (query kept, token URL-encoded), 201 with the subscription', async () => {
    const before = sub.validations.length;
    const expiry = now() + 50 * MIN;
    const res = await create({ expirationDateTime: iso(expiry) });
    assert.equal(res.status, 201, res.raw);
    const v = sub.validations.slice(before);
    assert.equal(v.length, 1);
    assert.equal(v[0]!.path, '/notifications');
    assert.match(v[0]!.query, /^\?tenant=a&validationToken=Validation%3A\+Testing\+/, "the notificationUrl's own query is kept");
    assert.match(v[0]!.token, /^Validation: Testing client application reachability for subscription Request-Id: [0-9a-f-]{36}$/);
    assert.match(String(v[0]!.contentType), /^text\/plain/);
    assert.equal(v[0]!.body, '');
    const s = res.body;
    assert.equal(s['@odata.context'], 'http://localhost:80/v1.0/$metadata#subscriptions/$entity');
    assert.match(s.id, /^[0-9a-f-]{36}$/);
    assert.equal(s.resource, 'communications/onlineMeetings/getAllRecordings');
    assert.equal(s.applicationId, CLIENT_ID);
    assert.equal(s.changeType, 'created');
    assert.equal(s.clientState, 'secretClientValue');
    assert.equal(s.notificationUrl, sub.notificationUrl);
    assert.equal(s.lifecycleNotificationUrl, null);
    assert.equal(s.includeResourceData, false);
    assert.equal(s.latestSupportedTlsVersion, 'v1_2');
    assert.equal(s.notificationContentType, 'application/json');
    assert.match(s.creatorId, /^[0-9a-f-]{36}$/);
    assert.equal(Date.parse(s.expirationDateTime), expiry);
    assert.match(s.expirationDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    assert.equal(res.headers.location, `http://localhost:80/v1.0/subscriptions/${s.id}`);

    const got = await call(h, 'GET', `/beta/subscriptions/${s.id.toUpperCase()}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.clientState, 'secretClientValue');
    const list = await call(h, 'GET', '/v1.0/subscriptions');
    assert.equal(list.body['@odata.context'], 'http://localhost:80/v1.0/$metadata#subscriptions');
    assert.deepEqual(list.body.value.map((x: any) => x.id), [s.id]);
    assert.equal(list.body.value[0].clientState, null, 'lists hide clientState');
  });

  test('an expiry under 45 minutes is raised to 45 minutes; a lifecycle URL is validated too', async () => {
    const t = now();
    const res = await create({ expirationDateTime: iso(t + 10 * MIN) });
    assert.equal(res.status, 201, res.raw);
    assert.equal(Date.parse(res.body.expirationDateTime), t + 45 * MIN);
    const before = sub.validations.length;
    const both = await create({ resource: `communications/onlineMeetings/${MEETING}/recordings`, lifecycleNotificationUrl: sub.lifecycleUrl, expirationDateTime: iso(now() + 3 * 24 * 60 * MIN) });
    assert.equal(both.status, 201, both.raw);
    assert.deepEqual(sub.validations.slice(before).map((v) => v.path), ['/notifications', '/lifecycle']);
  });

  test('a duplicate (same app, resource up to case and a leading slash) is 409 ObjectIdentifierInUse', async () => {
    const first = await create();
    assert.equal(first.status, 201);
    const dup = await create({ resource: '/Communications/OnlineMeetings/GetAllRecordings' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'ObjectIdentifierInUse');
    assert.equal(dup.body.error.message, `Subscription Id ${first.body.id} already exists for the requested combination`);
    assert.equal((await listed()).length, 1);
  });

  test('bad inputs: a clear Graph error naming the problem, and nothing stored', async () => {
    const cert = selfSignedCertificate();
    const cases: Array<[string, Record<string, unknown>, number, string, RegExp, string?]> = [
      ['no expiry', { expirationDateTime: undefined }, 400, 'InvalidRequest', /^expirationDateTime is a required property for subscription creation\.$/],
      ['no resource', { resource: undefined }, 400, 'InvalidRequest', /^resource is a required property/],
      ['no changeType', { changeType: undefined }, 400, 'InvalidRequest', /^changeType is a required property/],
      ['no notificationUrl', { notificationUrl: undefined }, 400, 'InvalidRequest', /^notificationUrl is a required property/],
      ['expiry not a date', { expirationDateTime: 'tomorrow' }, 400, 'InvalidRequest', /Invalid value 'tomorrow' for expirationDateTime/],
      ['expiry in the past', { expirationDateTime: iso(now() - MIN) }, 400, 'InvalidRequest', /^Subscription expiration time must be in the future\.$/],
      ['expiry too far', { expirationDateTime: iso(now() + 4321 * MIN), lifecycleNotificationUrl: sub.lifecycleUrl }, 400, 'InvalidRequest', /^Subscription expiration can only be 4320 minutes in the future\.$/],
      ['over 1 h without lifecycle URL', { expirationDateTime: iso(now() + 61 * MIN) }, 400, 'InvalidRequest', /^lifecycleNotificationUrl is required for subscription creation on this resource when the expirationDateTime value exceeds 1 hour\.$/],
      ['unsupported resource', { resource: 'me/messages' }, 400, 'InvalidRequest', /The resource 'me\/messages' is not supported/],
      ['unknown query option', { resource: 'communications/onlineMeetings/getAllRecordings?$top=1' }, 400, 'InvalidRequest', /query option '\$top'/],
      ['beta-only resource on v1.0', { resource: 'communications/adhocCalls/getAllRecordings' }, 400, 'InvalidRequest', /on \/beta only/],
      ['changeType updated', { changeType: 'created,updated' }, 400, 'InvalidRequest', /changeType 'updated' is not supported/],
      ['http to a public host', { notificationUrl: 'http://example.com/hook' }, 400, 'InvalidRequest', /Invalid notificationUrl 'http:\/\/example\.com\/hook'/],
      ['not a URL', { notificationUrl: 'hook' }, 400, 'InvalidRequest', /Invalid notificationUrl 'hook'/],
      ['private address', { notificationUrl: 'https://10.1.2.3/hook' }, 400, 'InvalidRequest', /Invalid notificationUrl/],
      ['bad lifecycle URL', { lifecycleNotificationUrl: 'ftp://127.0.0.1/x' }, 400, 'InvalidRequest', /Invalid lifecycleNotificationUrl/],
      ['clientState too long', { clientState: 'x'.repeat(129) }, 400, 'InvalidRequest', /clientState is longer than 128 characters/],
      ['rich without a certificate', { includeResourceData: true, encryptionCertificateId: 'c1' }, 400, 'InvalidRequest', /encryptionCertificate is required/],
      ['rich without a certificate id', { includeResourceData: true, encryptionCertificate: cert.base64 }, 400, 'InvalidRequest', /encryptionCertificateId is required/],
      ['a certificate that is not one', { includeResourceData: true, encryptionCertificate: 'bm90IGEgY2VydA==', encryptionCertificateId: 'c1' }, 400, 'InvalidRequest', /^Certificate validation error: Cannot find the requested object\. \(encryptionCertificate is not a base64-encoded X\.509 certificate\)$/],
      ['a 1024-bit certificate', { includeResourceData: true, encryptionCertificate: selfSignedCertificate(1024).base64, encryptionCertificateId: 'c1' }, 400, 'InvalidRequest', /1024-bit RSA key; 2048 to 4096 bits/],
      ['web push member', { vapidPublicKey: 'abc' }, 400, 'InvalidRequest', /vapidPublicKey applies to Web Push/],
      ['bad TLS version', { latestSupportedTlsVersion: 'v9' }, 400, 'InvalidRequest', /latestSupportedTlsVersion 'v9'/],
      ['changeType a number', { changeType: 5 }, 400, 'BadRequest', /changeType/],
      ['includeResourceData a string', { includeResourceData: 'yes' }, 400, 'BadRequest', /includeResourceData/],
    ];
    const before = sub.validations.length;
    for (const [what, extra, status, code, message] of cases) {
      const res = await create(extra);
      assert.equal(res.status, status, `${what}: ${res.raw}`);
      assert.equal(res.body.error.code, code, what);
      assert.match(res.body.error.message, message, what);
    }
    assert.equal(sub.validations.length, before, 'no handshake for a refused request');
    const junk = await call(h, 'POST', '/v1.0/subscriptions', { rawBody: '{"resource":', headers: { 'content-type': 'application/json' } });
    assert.equal(junk.status, 400);
    assert.deepEqual(await listed(), []);
  });

  test('permissions per resource: an app without the role gets 403, and sees no one else\'s subscriptions', async () => {
    const other = { tenantId: TENANT, clientId: '00000000-0000-4000-8000-0000000000c1', clientSecret: 's', roles: ['OnlineMeetingRecording.Read.All'], displayName: 'other', callbackUri: null };
    await h.comp.apps.put(other);
    const auth = `Bearer ${(await h.comp.tokens.issue(other)).accessToken}`;
    const mine = await create();
    assert.equal(mine.status, 201);
    const denied = await call(h, 'POST', '/v1.0/subscriptions', { body: body({ resource: 'communications/onlineMeetings/getAllTranscripts' }), auth });
    assert.equal(denied.status, 403);
    assert.match(denied.body.error.message, /OnlineMeetingTranscript\.Read\.All/);
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${mine.body.id}`, { auth })).status, 404);
    assert.equal((await call(h, 'DELETE', `/v1.0/subscriptions/${mine.body.id}`, { auth })).status, 404);
    assert.deepEqual((await call(h, 'GET', '/v1.0/subscriptions', { auth })).body.value, []);
    // Its own subscription on the same resource is no duplicate of ours.
    assert.equal((await call(h, 'POST', '/v1.0/subscriptions', { body: body(), auth })).status, 201);
    assert.equal((await listed()).length, 1);
  });

  test('handshake failures: Graph\'s errors, and no subscription', async () => {
    const cases: Array<[Subscriber['handshake'], string, string]> = [
      ['status500', 'ValidationError', 'Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.'],
      ['noEcho', 'ValidationError', 'Subscription validation request failed. Response must exactly match validationToken query parameter.'],
      ['wrongEcho', 'ValidationError', 'Subscription validation request failed. Response must exactly match validationToken query parameter.'],
      ['encodedEcho', 'ValidationError', 'Subscription validation request failed. Response must exactly match validationToken query parameter.'],
      [{ delayMs: 1500 }, 'InvalidRequest', 'Subscription validation request timed out.'],
    ];
    for (const [handshake, code, message] of cases) {
      sub.handshake = handshake;
      const res = await create();
      assert.equal(res.status, 400, JSON.stringify(handshake));
      assert.equal(res.body.error.code, code, JSON.stringify(handshake));
      assert.equal(res.body.error.message, message, JSON.stringify(handshake));
    }
    sub.handshake = 'echo';
    const unreachable = await create({ notificationUrl: 'http://127.0.0.1:9/hook' });
    assert.equal(unreachable.status, 400);
    assert.equal(unreachable.body.error.code, 'ValidationError');
    // The lifecycle URL is validated as well: a good notificationUrl does not save a bad lifecycle one.
    const badLifecycle = await create({ lifecycleNotificationUrl: 'http://127.0.0.1:9/lifecycle' });
    assert.equal(badLifecycle.status, 400);
    assert.deepEqual(await listed(), []);
  });

  test('renew (PATCH), reauthorize, delete; bad updates change nothing', async () => {
    const s = (await create({ lifecycleNotificationUrl: sub.lifecycleUrl })).body;
    const target = now() + 2 * 24 * 60 * MIN;
    const renewed = await call(h, 'PATCH', `/v1.0/subscriptions/${s.id}`, { body: { expirationDateTime: iso(target) } });
    assert.equal(renewed.status, 200, renewed.raw);
    assert.equal(Date.parse(renewed.body.expirationDateTime), target);
    assert.equal(renewed.body.clientState, 'secretClientValue');
    for (const [what, b, message] of [
      ['empty', {}, /^Subscription must contain either the 'expirationDateTime' or 'notificationUrl' property and its value\.$/],
      ['too far', { expirationDateTime: iso(now() + 5000 * MIN) }, /4320 minutes/],
      ['lifecycle URL', { lifecycleNotificationUrl: sub.lifecycleUrl }, /cannot be changed by an update/],
      ['resource', { resource: 'communications/onlineMeetings/getAllTranscripts' }, /cannot be changed by an update/],
      ['bad URL', { notificationUrl: 'http://example.com/x' }, /Invalid notificationUrl/],
    ] as const) {
      const res = await call(h, 'PATCH', `/v1.0/subscriptions/${s.id}`, { body: b });
      assert.equal(res.status, 400, `${what}: ${res.raw}`);
      assert.match(res.body.error.message, message, what);
    }
    assert.equal(Date.parse((await call(h, 'GET', `/v1.0/subscriptions/${s.id}`)).body.expirationDateTime), target);
    // A new notificationUrl is validated first.
    sub.handshake = 'noEcho';
    assert.equal((await call(h, 'PATCH', `/v1.0/subscriptions/${s.id}`, { body: { notificationUrl: `${sub.url}/elsewhere` } })).status, 400);
    sub.handshake = 'echo';
    const moved = await call(h, 'PATCH', `/v1.0/subscriptions/${s.id}`, { body: { notificationUrl: `${sub.url}/elsewhere` } });
    assert.equal(moved.body.notificationUrl, `${sub.url}/elsewhere`);

    assert.equal((await call(h, 'POST', `/v1.0/subscriptions/${s.id}/reauthorize`)).status, 204);
    assert.equal((await call(h, 'POST', `/beta/subscriptions/${s.id}/microsoft.graph.reauthorize`)).status, 204);
    assert.equal((await call(h, 'DELETE', `/v1.0/subscriptions/${s.id}`)).status, 204);
    for (const [m, u] of [['GET', ''], ['PATCH', ''], ['DELETE', ''], ['POST', '/reauthorize']] as const) {
      const res = await call(h, m, `/v1.0/subscriptions/${s.id}${u}`, m === 'PATCH' ? { body: { expirationDateTime: iso(now() + 50 * MIN) } } : {});
      assert.equal(res.status, 404, `${m} after delete`);
      assert.equal(res.body.error.code, 'ResourceNotFound');
    }
    assert.equal((await call(h, 'GET', '/v1.0/subscriptions/not-a-subscription')).status, 404);
  });

  test('expiry on the virtual clock: gone at its expirationDateTime unless renewed; reauthorizationRequired before it', async () => {
    const lifecycleBefore = sub.received.filter((r) => r.path === '/lifecycle').length;
    const short = (await create({ resource: `communications/onlineMeetings/${MEETING}/recordings`, expirationDateTime: iso(now() + 10 * MIN) })).body;
    const long = (await create({ lifecycleNotificationUrl: sub.lifecycleUrl, expirationDateTime: iso(now() + 90 * MIN) })).body;
    await advance(44 * MIN);
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${short.id}`)).status, 200);
    await advance(2 * MIN);
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${short.id}`)).status, 404, 'expired after 45 minutes');
    assert.deepEqual((await listed()).map((s) => s.id), [long.id]);
    // 15 minutes before expiry: reauthorizationRequired to the lifecycle URL.
    await advance(30 * MIN);
    await sub.waitFor(() => sub.received.filter((r) => r.path === '/lifecycle').length > lifecycleBefore, 'reauthorizationRequired');
    const item = sub.received.filter((r) => r.path === '/lifecycle').at(-1)!.body.value[0];
    assert.deepEqual(Object.keys(item).sort(), ['clientState', 'lifecycleEvent', 'subscriptionExpirationDateTime', 'subscriptionId', 'tenantId']);
    assert.equal(item.lifecycleEvent, 'reauthorizationRequired');
    assert.equal(item.subscriptionId, long.id);
    assert.equal(item.tenantId, TENANT);
    // Renewing keeps it past its old expiry.
    assert.equal((await call(h, 'PATCH', `/v1.0/subscriptions/${long.id}`, { body: { expirationDateTime: iso(now() + 60 * MIN) } })).status, 200);
    await advance(20 * MIN);
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${long.id}`)).status, 200, 'renewed');
    await advance(41 * MIN);
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${long.id}`)).status, 404);
  });

  test('control plane: subscriptionRemoved and missed on demand, to the lifecycle URL', async () => {
    const s = (await create({ lifecycleNotificationUrl: sub.lifecycleUrl })).body;
    const plain = (await create({ resource: `communications/onlineMeetings/${MEETING}/recordings` })).body;
    const inject = (id: string, b: unknown) => call(h, 'POST', `/_emulator/subscriptions/${id}/lifecycleEvents`, { body: b, auth: false });
    const lifecycle = () => sub.received.filter((r) => r.path === '/lifecycle').map((r) => r.body.value[0]).filter((v: any) => v.subscriptionId === s.id);
    assert.equal((await inject(s.id, { lifecycleEvent: 'missed' })).status, 202);
    await sub.waitFor(() => lifecycle().length === 1, 'missed');
    assert.equal(lifecycle()[0].lifecycleEvent, 'missed');
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${s.id}`)).status, 200, 'missed keeps the subscription');
    assert.equal((await inject(s.id, { lifecycleEvent: 'subscriptionRemoved' })).status, 202);
    await sub.waitFor(() => lifecycle().length === 2, 'subscriptionRemoved');
    assert.equal(lifecycle()[1].lifecycleEvent, 'subscriptionRemoved');
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${s.id}`)).status, 404, 'removed with it');
    assert.equal((await inject(s.id, { lifecycleEvent: 'missed' })).status, 404);
    assert.equal((await inject(plain.id, { lifecycleEvent: 'missed' })).status, 400, 'no lifecycle URL');
    assert.equal((await inject(plain.id, { lifecycleEvent: 'gone' })).status, 400);
    assert.equal((await call(h, 'GET', `/v1.0/subscriptions/${plain.id}`)).status, 200);
  });
});
