import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import fc from 'fast-check';
import * as jose from 'jose';
import { rewriteGraphUrl } from '../../src/app.js';
import { loadOrCreateKey } from '../../src/auth/keys.js';
import { graphIssuer } from '../../src/auth/token.service.js';
import { MAX_JSON_DEPTH } from '../../src/graph/graph-wire.plugin.js';
import { stripOData } from '../../src/graph/call.mapper.js';
import { newRecording } from '../support/factories.js';
import { buildHarness, CLIENT_ID, meetingCallBody, p2pCallBody, startServer, TENANT, type Harness } from '../support/harness.js';
import { call, snapshot } from '../support/inject.js';

/**
 * Hostile input, generated: arbitrary methods, paths, headers and bodies against every Graph route and
 * the token endpoint. Whatever arrives, the answer is never a 5xx; every error is Graph's envelope (the
 * token endpoint: Entra's OAuth error body) with the request-id header; and a 4xx changes nothing stored
 * about an existing call. Bounded: NUM_RUNS cases per property (HOSTILE_RUNS overrides, HOSTILE_SEED
 * replays a run). Violations are collected, not thrown at the first, so the counts printed at the end
 * cover the whole run. NUM_RUNS is 100 by default (fast-check's own default; each `npm test` draws a new
 * seed, so the runs add up over time); HOSTILE_RUNS=1000 npm test is the long run.
 */

const NUM_RUNS = Number(process.env.HOSTILE_RUNS ?? 100);
const SEED = process.env.HOSTILE_SEED ? Number(process.env.HOSTILE_SEED) : Date.now() % 2_147_483_647;

const MEETING_ID = 'hostile-meeting';
const USER_ID = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
// `token/.` is the token endpoint too: inject parses the URL with WHATWG rules, which remove `.` segments
// before routing (seed 833402335 found the test classifying it as a Graph path).
const TOKEN_PATH = /^\/[^/?]*\/oauth2\/v2\.0\/token(\/\.)*\/?(\?|$)/i;
/** Stand-ins, replaced when a case is sent: the call aimed at changes when a case ends it. */
const TARGET = '@TARGET@';
const BOT = '@BOT@';

interface Req {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
  /** For the report: what produced it. */
  kind: string;
}

interface Violation { what: string; req: Req; status: number; body: string }

const counts = { cases: 0, notSendable: 0, status2xx: 0, status3xx: 0, status4xx: 0, status5xx: 0, nonEnvelope: 0, missingRequestId: 0, stateChanges: 0, entraAnswers: 0, rawCases: 0, rawNonEnvelope: 0 };
const violations: Violation[] = [];

// ---- routes, from the app itself --------------------------------------------------------------------

interface Route { method: string; template: string }

/** Every route fastify has, from printRoutes' tree (children print relative to their parent). */
function routesOf(tree: string): Route[] {
  const out: Route[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const path = (stack[depth - 1] ?? '') + m[2]!;
    stack[depth] = path;
    for (const method of (m[3] ?? '').split(',').map((x) => x.trim()).filter(Boolean)) out.push({ method, template: path });
  }
  return out;
}

// ---- generators ---------------------------------------------------------------------------------------

/** Characters a path segment may carry raw; everything else is percent-encoded (but a raw `%` stays, junk or not). */
const encodeLoosely = (s: string) => s.replace(/[^A-Za-z0-9\-._~!$&'()*+,;=:@%]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));

const percentJunk = fc.oneof(
  fc.constantFrom('%', '%25', '%zz', '%2', '%E0%A4%A', '%C0%AF', '%00', '%2F', '%2e%2e', '%FF%FE', '%ED%A0%80', '%%', '%u0041', '%25zz', '%252F', '%0A', '%0D%0A'),
  fc.stringMatching(/^(%[0-9A-Fa-fGgZz]{0,2}){1,5}$/),
);

const functionCall = fc.tuple(
  fc.constantFrom('getAllRecordings', 'GETALLRECORDINGS', 'microsoft.graph.getAllRecordings', 'getAllRecording', 'x'),
  fc.array(fc.tuple(
    fc.constantFrom('meetingOrganizerUserId', 'userId', 'startDateTime', 'endDateTime', '', '__proto__', 'constructor'),
    fc.oneof(fc.string({ maxLength: 30 }), percentJunk, fc.constant(`'${USER_ID}'`), fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.constantFrom("'", "''", '(', ')', ',', '=', "'%25'")),
  ), { maxLength: 4 }),
).map(([name, params]) => `${name}(${params.map(([k, v]) => (k ? `${k}=${v}` : v)).join(',')})`);

const segment = fc.oneof(
  { arbitrary: fc.string({ maxLength: 24 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 12 }), weight: 1 },
  { arbitrary: percentJunk, weight: 3 },
  { arbitrary: fc.integer({ min: 900, max: 20_000 }).map((n) => 'a'.repeat(n)), weight: 1 },
  { arbitrary: functionCall, weight: 2 },
  { arbitrary: fc.uuid(), weight: 2 },
  { arbitrary: fc.constantFrom('.', '..', '', ' ', '$metadata', '$count', '$value', 'microsoft.graph.', '\u0000', '\uFFFF', '🙂'), weight: 1 },
).map(encodeLoosely);

const query = fc.oneof(
  fc.constant(''),
  fc.array(fc.tuple(
    fc.constantFrom('$top', 'top', '$skiptoken', 'skiptoken', '$filter', '$select', '$expand', 'x', '$top[]', '__proto__'),
    fc.oneof(fc.string({ maxLength: 20 }), percentJunk, fc.integer().map(String), fc.constantFrom('0', '1', '999', '1000', '-1', '1e3', 'NaN', 'MQ', 'LTE', '%FF')),
  ), { minLength: 1, maxLength: 4 }).map((kv) => `?${kv.map(([k, v]) => `${k}=${encodeLoosely(v)}`).join('&')}`),
);

const contentType = fc.constantFrom(
  undefined, 'application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON', 'application/json;odata.metadata=minimal',
  'application/json; charset=utf-16', 'text/plain', 'text/xml', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=xyz',
  'application/octet-stream', '', ';;;', 'application/json, text/plain', 'application/*', '*/*', 'a'.repeat(5000),
  'application/merge-patch+json', 'application/json; boundary="', 'application/jsonp', 'application/json; charset=nope',
);

const jsonValue = fc.jsonValue({ maxDepth: 4 });

/** `n` levels of objects or arrays, as text (JSON.stringify of such a value would itself recurse). */
const deepText = fc.tuple(fc.oneof(fc.integer({ min: MAX_JSON_DEPTH - 2, max: MAX_JSON_DEPTH + 2 }), fc.integer({ min: 2000, max: 20_000 })), fc.boolean()).map(([n, arrays]) => (arrays ? `${'['.repeat(n)}1${']'.repeat(n)}` : `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`));

const ANSWER = { callbackUri: 'http://127.0.0.1:9/cb', acceptedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } };
const REDIRECT = { targets: [{ identity: { user: { id: USER_ID } } }], timeout: 30 };
const validBodies = [p2pCallBody(), meetingCallBody(), { clientContext: 'c' }, { status: 'recording', clientContext: 'c' }, ANSWER, REDIRECT, { reason: 'busy' }, {}];
const MEMBERS = [
  'callbackUri', 'requestedModalities', 'mediaConfig', 'targets', 'meetingInfo', 'chatInfo', 'source', 'subject', 'tenantId', 'callOptions',
  'clientContext', 'status', 'acceptedModalities', 'participantCapacity', 'reason', 'timeout', '@odata.type', '__proto__', 'constructor',
  'mediaConfig.@odata.type', 'targets.0.identity', 'targets.0.identity.user', 'meetingInfo.@odata.type', 'meetingInfo.organizer', 'chatInfo.threadId',
] as const;

function withMember(body: Record<string, unknown>, path: string, value: unknown): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(body)) as Record<string, unknown>;
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof at[k] !== 'object' || at[k] === null) at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  Object.defineProperty(at, keys.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

const DEEP_MARK = '"@@deep@@"';
const jsonBody = fc.oneof(
  // A valid body with one member of the wrong type (or deleted, or deep).
  { arbitrary: fc.tuple(fc.constantFrom(...validBodies), fc.constantFrom(...MEMBERS), fc.oneof(jsonValue, fc.constant(undefined), fc.constant(DEEP_MARK))).map(([b, m, v]) => ({ b: withMember(b, m, v === DEEP_MARK ? '@@deep@@' : v), deep: v === DEEP_MARK })), weight: 5 },
  { arbitrary: jsonValue.map((b) => ({ b, deep: false })), weight: 2 },
  { arbitrary: fc.constantFrom(...validBodies).map((b) => ({ b, deep: false })), weight: 2 },
).chain(({ b, deep }) => (deep ? deepText.map((d) => JSON.stringify(b).replace(DEEP_MARK, d)) : fc.constant(JSON.stringify(b) ?? '')));

const payload = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: jsonBody, weight: 8 },
  { arbitrary: deepText, weight: 1 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)), weight: 1 },
  { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
  { arbitrary: fc.constantFrom('{', '{"a":', '[1,', '"\\u12"', '{"a":1}}', '\uFEFF{}', 'null', 'true', '0', '""', '{"__proto__":{"x":1}}', ' ', '\r\n'), weight: 1 },
  { arbitrary: fc.constant(JSON.stringify({ clientContext: 'x', pad: 'y'.repeat(70 * 1024) })), weight: 1 },
);

// ---- the checks ---------------------------------------------------------------------------------------

function isGraphEnvelope(body: unknown, requestId: unknown): boolean {
  const e = (body as { error?: Record<string, unknown> } | null)?.error;
  if (!e || typeof e !== 'object') return false;
  const inner = e.innerError as Record<string, unknown> | undefined;
  return typeof e.code === 'string' && e.code.length > 0 && typeof e.message === 'string' && e.message.length > 0
    && !!inner && typeof inner['request-id'] === 'string' && inner['request-id'] === requestId
    && typeof inner.date === 'string' && typeof inner['client-request-id'] === 'string';
}

function isEntraError(body: unknown): boolean {
  const b = body as Record<string, unknown> | null;
  return !!b && typeof b.error === 'string' && typeof b.error_description === 'string' && /^AADSTS\d+: /.test(b.error_description)
    && Array.isArray(b.error_codes) && b.error_codes.length > 0 && b.error_codes.every((c) => Number.isInteger(c));
}

after(() => {
  console.log(`hostile-input: seed ${SEED}, ${NUM_RUNS} runs per property`);
  console.log(`hostile-input: ${counts.cases} cases tried (+${counts.rawCases} raw-socket): ${counts.status2xx} 2xx, ${counts.status3xx} 3xx, ${counts.status4xx} 4xx, ${counts.status5xx} 5xx; `
    + `${counts.nonEnvelope + counts.rawNonEnvelope} non-envelope error answers, ${counts.missingRequestId} without request-id, ${counts.stateChanges} state changes after a 4xx; `
    + `${counts.entraAnswers} Entra error bodies from the token endpoint; ${counts.notSendable} not sendable by inject`);
});

describe('hostile input', () => {
  let h: Harness;
  let target = '';
  let recordingId = '';
  let routes: Route[] = [];
  const tokens: Record<string, string> = {};

  const settle = async () => {
    for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
    await h.comp.jobs.idle();
  };

  /** An established call to aim at; a request that ended the last one (DELETE, reject…) gets a new one. */
  const ensureTarget = async () => {
    if (target && (await h.comp.store.getCall(target))?.state === 'established') return;
    const created = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
    assert.equal(created.status, 201, created.raw);
    target = created.body.id;
    await h.comp.virtualClock!.advance(1000);
    await settle();
    assert.equal((await h.comp.store.getCall(target))?.state, 'established');
  };

  before(async () => {
    // Virtual time: nothing happens in the background between a request and the snapshot after it.
    h = await buildHarness({ clock: 'virtual', bodyLimitBytes: 64 * 1024 });
    await ensureTarget();
    const rec = newRecording(target, 'seg-hostile', { tenantId: TENANT, meetingId: MEETING_ID, sizeBytes: 16 });
    recordingId = rec.id;
    await h.comp.store.write((tx) => tx.insertRecording(rec, [{ userId: USER_ID, role: 'organizer' }, { userId: USER_ID, role: 'participant' }], Buffer.alloc(16, 1)));

    routes = routesOf(h.comp.app.printRoutes({ commonPrefix: false }))
      // Graph's routes and Entra's (token, discovery); not the control plane, whose reset would wipe the call.
      .filter((r) => /^\/(v1\.0|beta)\//.test(r.template) || r.template.startsWith('/:tenantId/') || r.template.startsWith('/v1/.well-known/'));
    assert.ok(routes.length >= 20, `routes found: ${routes.map((r) => `${r.method} ${r.template}`).join(', ')}`);

    const key = await loadOrCreateKey(h.comp.storage.config, 'token-signing');
    const now = Math.floor(Date.now() / 1000);
    const claims = { tid: TENANT, appid: CLIENT_ID, idtyp: 'app', roles: ['Calls.JoinGroupCall.All'] };
    const sign = (b: jose.SignJWT) => b.setProtectedHeader({ alg: 'RS256', kid: key.kid }).setIssuer(graphIssuer(TENANT)).setAudience('https://graph.microsoft.com').setIssuedAt(now).sign(key.privateKey);
    tokens.noExp = await sign(new jose.SignJWT(claims));
    tokens.expired = await sign(new jose.SignJWT(claims).setExpirationTime(now - 10));
    tokens.rolesJunk = await sign(new jose.SignJWT({ ...claims, roles: [{ a: 1 }, 5, null, 'Calls.Initiate.All'] }).setExpirationTime(now + 600));
    tokens.noTid = await sign(new jose.SignJWT({ ...claims, tid: 5 }).setExpirationTime(now + 600));
  });

  after(() => h?.close());

  /** Sends one request (stand-ins filled) and checks the answer; a violation is recorded with the request, not thrown. */
  async function check(template: Req): Promise<void> {
    await ensureTarget();
    await settle();
    const bot = (await h.comp.store.getCall(target))!.myParticipantId;
    const fill = (x: string) => x.replaceAll(TARGET, target).replaceAll(BOT, bot);
    const req: Req = { ...template, url: fill(template.url), headers: Object.fromEntries(Object.entries(template.headers).map(([k, v]) => [k, fill(v)])) };
    const before = await snapshot(h, target);
    let res;
    try {
      res = await h.comp.app.inject({ method: req.method as 'GET', url: req.url, headers: req.headers, payload: req.payload });
    } catch {
      counts.notSendable++; // light-my-request refused to build the request (e.g. an invalid header value)
      return;
    }
    counts.cases++;
    const status = res.statusCode;
    const bump = status >= 500 ? 'status5xx' : status >= 400 ? 'status4xx' : status >= 300 ? 'status3xx' : 'status2xx';
    counts[bump]++;
    const cut = (v: string) => (v.length > 200 ? `${v.slice(0, 200)}… (${v.length} chars)` : v);
    const fail = (what: string) => violations.push({
      what, status, body: cut(res.body),
      req: { ...req, url: cut(req.url), headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, cut(v)])), payload: typeof req.payload === 'string' ? cut(req.payload) : req.payload },
    });
    const requestId = res.headers['request-id'];
    if (typeof requestId !== 'string' || !requestId) { counts.missingRequestId++; fail('no request-id header'); }
    if (status >= 500) fail('5xx');
    if (status >= 400 && req.method !== 'HEAD') {
      let body: unknown;
      try { body = JSON.parse(res.body); } catch { body = null; }
      // As routed: the namespace rewrite applies to every path (`/oauth2/v2.0/microsoft.graph.token` is the token endpoint too).
      const path = rewriteGraphUrl(req.url).split('?')[0]!;
      const entra = TOKEN_PATH.test(path) && isEntraError(body);
      if (entra) counts.entraAnswers++;
      if (!entra && !isGraphEnvelope(body, requestId)) { counts.nonEnvelope++; fail('not an error envelope'); }
    }
    if (status >= 400 && status < 500) {
      await settle();
      if ((await snapshot(h, target)) !== before) { counts.stateChanges++; fail('a 4xx changed the call'); }
    } else if (status < 400) {
      // Whatever it started (an operation, a hang-up) plays out before the next case.
      await h.comp.virtualClock!.advance(5_000);
      await settle();
    }
  }

  const authorization = () => fc.oneof(
    { arbitrary: fc.constant(h.auth), weight: 8 },
    { arbitrary: fc.constantFrom(undefined, '', 'Bearer', 'Bearer ', `bearer ${h.token}`, 'Basic Zm9vOmJhcg==', 'Bearer a.b.c', `Bearer ${'x'.repeat(10_000)}`,
      `Bearer ${h.token}x`, `Bearer ${tokens.noExp}`, `Bearer ${tokens.expired}`, `Bearer ${tokens.rolesJunk}`, `Bearer ${tokens.noTid}`, `Bearer  ${h.token}`, `Bearer ${h.token.split('.').slice(0, 2).join('.')}.`), weight: 3 },
    { arbitrary: fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`), weight: 1 },
  );

  const headers = () => fc.record({
    authorization: authorization(),
    'content-type': contentType,
    'client-request-id': fc.option(fc.oneof(fc.string({ maxLength: 40 }), fc.constant('c'.repeat(5000))), { nil: undefined }),
    range: fc.option(fc.oneof(fc.constantFrom('bytes=0-0', 'bytes=-1', 'bytes=5-1', 'bytes=99999999999999999999-', 'bytes=0-0,1-1', 'items=0-1', 'bytes=--1', 'bytes=-0', 'bytes=16-', 'bytes=-99999', 'bytes='), fc.string({ maxLength: 20 })), { nil: undefined }),
    'if-none-match': fc.option(fc.oneof(fc.constantFrom('*', 'W/"x"', '"', ',,,'), fc.string({ maxLength: 20 })), { nil: undefined }),
    accept: fc.option(fc.constantFrom('application/xml', '*/*', 'text/html', 'application/json;odata.metadata=full', ''), { nil: undefined }),
    'content-encoding': fc.option(fc.constantFrom('gzip', 'br', 'identity', 'x'), { nil: undefined }),
    'x-huge': fc.option(fc.integer({ min: 1000, max: 60_000 }).map((n) => 'h'.repeat(n)), { nil: undefined }),
  }, { requiredKeys: [] }).map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as Record<string, string>);

  /** A route's template with its parameters filled: mostly things that exist, sometimes junk. */
  const filled = (template: string) => {
    const known: Record<string, string[]> = {
      id: [TARGET], childId: [BOT], userId: [USER_ID], meetingId: [MEETING_ID], recordingId: [recordingId], callId: [TARGET], tenantId: [TENANT], fn: [`getAllRecordings(meetingOrganizerUserId='${USER_ID}')`, 'getAllRecordings()'],
    };
    const names = [...template.matchAll(/:(\w+)/g)].map((m) => m[1]!);
    return fc.tuple(...names.map((n) => fc.oneof({ arbitrary: fc.constantFrom(...(known[n]?.length ? known[n]! : [n])), weight: 3 }, { arbitrary: segment, weight: 2 })))
      .map((values) => { let i = 0; return template.replace(/:(\w+)/g, () => values[i++]!); });
  };

  const graphRequest = () => fc.constantFrom(...routes).chain((route) => fc.record({
    route: fc.constant(route),
    path: filled(route.template),
    mutate: fc.constantFrom('none', 'none', 'none', 'namespace', 'upper', 'slash', 'extra', 'alias', 'drop'),
    extra: segment,
    query,
    method: fc.oneof({ arbitrary: fc.constant(route.method), weight: 4 }, { arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'), weight: 1 }),
    headers: headers(),
    payload,
  })).map(({ route, path, mutate, extra, query: q, method, headers: hs, payload: body }): Req => {
    let p = path;
    const segs = p.split('/');
    if (mutate === 'namespace') { segs[segs.length - 1] = `microsoft.graph.${segs.at(-1)}`; p = segs.join('/'); }
    if (mutate === 'upper') p = p.toUpperCase();
    if (mutate === 'slash') p = `${p}/`;
    if (mutate === 'extra') p = `${p}/${extra}`;
    if (mutate === 'alias') p = p.replace('/beta/communications/calls', '/beta/app/calls');
    if (mutate === 'drop') p = segs.slice(0, -1).join('/') || '/';
    return { method, url: p + q, headers: hs, payload: body, kind: `${route.method} ${route.template} (${mutate})` };
  });

  test('any request to any Graph route: no 5xx, errors in the envelope, request-id, a 4xx changes nothing', { timeout: 60_000 }, async () => {
    await fc.assert(fc.asyncProperty(graphRequest(), async (req) => { await check(req); }), { numRuns: NUM_RUNS, seed: SEED });
  });

  test('bodies aimed at the known members of every POST route: wrong types, deep nesting, non-JSON', { timeout: 60_000 }, async () => {
    const posts = routes.filter((r) => r.method === 'POST' && !r.template.startsWith('/:tenantId/'));
    const creates = posts.filter((r) => r.template.endsWith('/communications/calls'));
    // Create-call takes the richest bodies (open types, nested identities): it gets half the cases.
    const req = fc.record({ route: fc.oneof(fc.constantFrom(...creates), fc.constantFrom(...posts)), body: payload, type: fc.constantFrom('application/json', 'application/json; charset=utf-8', undefined, 'text/plain') })
      .map(({ route, body, type }): Req => ({
        method: 'POST', url: route.template.replace(/:(\w+)/g, (_m, n: string) => ({ id: TARGET, userId: USER_ID })[n] ?? n), kind: `POST ${route.template} (body)`,
        headers: { authorization: h.auth, ...(type ? { 'content-type': type } : {}) }, payload: body,
      }));
    await fc.assert(fc.asyncProperty(req, async (r) => { await check(r); }), { numRuns: NUM_RUNS, seed: SEED + 1 });
  });

  test('the token endpoint: arbitrary forms (repeated and array fields), other bodies and content types', { timeout: 60_000 }, async () => {
    const value = fc.oneof(fc.string({ maxLength: 40 }), percentJunk, fc.constantFrom(CLIENT_ID, 'graph-calls-dev-secret', 'client_credentials', 'https://graph.microsoft.com/.default', '', 'constructor', '__proto__', 'toString'));
    const field = fc.tuple(fc.constantFrom('client_id', 'client_secret', 'grant_type', 'scope', 'client_id[]', 'client_id[0]', 'client_assertion', '__proto__', 'constructor', '', '&', '='), value);
    const form = fc.array(field, { maxLength: 8 }).map((fs) => fs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeLoosely(v)}`).join('&'));
    const validForm = `client_id=${CLIENT_ID}&client_secret=graph-calls-dev-secret&grant_type=client_credentials&scope=${encodeURIComponent('https://graph.microsoft.com/.default')}`;
    const req = fc.record({
      tenant: fc.oneof({ arbitrary: fc.constant(TENANT), weight: 3 }, { arbitrary: segment, weight: 1 }),
      body: fc.oneof({ arbitrary: form, weight: 5 }, { arbitrary: form.map((f) => `${validForm}&${f}`), weight: 3 }, { arbitrary: payload, weight: 2 }),
      type: fc.oneof({ arbitrary: fc.constant('application/x-www-form-urlencoded'), weight: 5 }, { arbitrary: contentType, weight: 2 }),
      method: fc.oneof({ arbitrary: fc.constant('POST'), weight: 6 }, { arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'HEAD', 'OPTIONS'), weight: 1 }),
      clientRequestId: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    }).map(({ tenant, body, type, method, clientRequestId }): Req => ({
      method, url: `/${tenant}/oauth2/v2.0/token`, kind: 'token endpoint', payload: body,
      headers: { ...(type !== undefined ? { 'content-type': type } : {}), ...(clientRequestId !== undefined ? { 'client-request-id': clientRequestId } : {}) },
    }));
    await fc.assert(fc.asyncProperty(req, async (r) => { await check(r); }), { numRuns: NUM_RUNS, seed: SEED + 2 });
  });

  test('any URL: percent-encoded junk, long and function-call segments, under every prefix', { timeout: 60_000 }, async () => {
    const req = fc.record({
      prefix: fc.constantFrom('/beta', '/v1.0', '/beta/communications/calls', '/v1.0/communications/calls', `/beta/communications/calls/${TARGET}`, '/beta/users', `/v1.0/users/${USER_ID}/onlineMeetings`, `/beta/users/${USER_ID}/adhocCalls`, `/${TENANT}/oauth2/v2.0`, '', '/_nothing'),
      segs: fc.array(segment, { minLength: 1, maxLength: 4 }),
      query,
      method: fc.constantFrom('GET', 'POST', 'DELETE', 'PATCH'),
      headers: headers(),
    }).map(({ prefix, segs, query: q, method, headers: hs }): Req => ({
      method, url: `${prefix}/${segs.join('/')}${q}`, headers: hs, kind: 'any URL',
      payload: method === 'POST' || method === 'PATCH' ? '{}' : undefined,
    }));
    await fc.assert(fc.asyncProperty(req, async (r) => { await check(r); }), { numRuns: NUM_RUNS, seed: SEED + 3 });
  });

  test('function-call segments: getAllRecordings(...) with any parameters, quoted, encoded or not', { timeout: 60_000 }, async () => {
    const req = fc.record({
      version: fc.constantFrom('v1.0', 'beta'),
      user: fc.oneof({ arbitrary: fc.constant(USER_ID), weight: 3 }, { arbitrary: segment, weight: 1 }),
      collection: fc.constantFrom('onlineMeetings', 'adhocCalls', 'OnlineMeetings'),
      fn: fc.oneof({ arbitrary: functionCall, weight: 3 }, { arbitrary: functionCall.map(encodeURIComponent), weight: 1 }).map(encodeLoosely),
      query,
    }).map(({ version, user, collection, fn, query: q }): Req => ({ method: 'GET', url: `/${version}/users/${user}/${collection}/${fn}${q}`, headers: { authorization: h.auth }, kind: 'function call' }));
    await fc.assert(fc.asyncProperty(req, async (r) => { await check(r); }), { numRuns: NUM_RUNS, seed: SEED + 4 });
  });

  test('the cases that once answered 500 or a bare body', async () => {
    const open = (member: string, depth: number) => JSON.stringify(p2pCallBody()).replace(`"${member}":{`, `"${member}":{"deep":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)},`);
    const cases: Req[] = [
      { kind: 'deep open member', method: 'POST', url: '/beta/communications/calls', headers: { authorization: h.auth, 'content-type': 'application/json' }, payload: open('mediaConfig', 2500) },
      { kind: 'deep identity', method: 'POST', url: '/beta/communications/calls', headers: { authorization: h.auth, 'content-type': 'application/json' }, payload: open('identity', 50_000) },
      { kind: '%25 in a function parameter', method: 'GET', url: `/beta/users/${USER_ID}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='%25')`, headers: { authorization: h.auth } },
      { kind: 'bad percent-encoding', method: 'GET', url: '/beta/communications/calls/%zz', headers: { authorization: h.auth } },
      { kind: 'bad percent-encoding, token path', method: 'POST', url: '/%E0%A4%A/oauth2/v2.0/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' },
      { kind: 'repeated client_id', method: 'POST', url: `/${TENANT}/oauth2/v2.0/token`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'client_id=a&client_id=b&client_id[]=c&grant_type=client_credentials&grant_type=x' },
      { kind: 'JSON at the token endpoint', method: 'POST', url: `/${TENANT}/oauth2/v2.0/token`, headers: { 'content-type': 'application/json' }, payload: '{"client_id":5,"grant_type":["client_credentials"]}' },
      { kind: 'a segment over the router limit', method: 'GET', url: `/beta/communications/calls/${'a'.repeat(1500)}`, headers: { authorization: h.auth } },
      { kind: 'unsatisfiable range', method: 'GET', url: `/beta/communications/onlineMeetings/${MEETING_ID}/recordings/${recordingId}/content`, headers: { authorization: h.auth, range: 'bytes=999-' } },
      { kind: 'a token without exp', method: 'GET', url: `/beta/communications/calls/${TARGET}`, headers: { authorization: `Bearer ${tokens.noExp}` } },
      { kind: '415 on an unknown path', method: 'POST', url: '/nothing/here', headers: { 'content-type': 'text/xml' }, payload: '<x/>' },
    ];
    const before = violations.length;
    for (const c of cases) await check(c);
    assert.deepEqual(violations.slice(before), [], 'regressions');
    const r = await call(h, 'GET', `/beta/communications/onlineMeetings/${MEETING_ID}/recordings/${recordingId}/content`, { headers: { range: 'bytes=999-' } });
    assert.equal(r.status, 416);
    assert.equal(r.body.error.code, 'invalidRange');
    assert.equal(r.headers['content-range'], 'bytes */16');
    const deep = await call(h, 'POST', '/beta/communications/calls', { rawBody: open('mediaConfig', 2500), headers: { 'content-type': 'application/json' } });
    assert.equal(deep.status, 400);
    assert.match(deep.body.error.message, new RegExp(`nested too deeply.*${MAX_JSON_DEPTH}`));
    const noExp = await call(h, 'GET', `/beta/communications/calls/${target}`, { auth: `Bearer ${tokens.noExp}` });
    assert.equal(noExp.status, 401);
    assert.equal(noExp.body.error.message, 'Lifetime validation failed, the token is missing an expiration time.');
    const pct = await call(h, 'GET', `/beta/users/${USER_ID}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='%25')`);
    assert.equal(pct.status, 200);
    // The `%` user has no recordings; the user named plainly finds its one.
    assert.deepEqual(pct.body.value, []);
    const plain = await call(h, 'GET', `/beta/users/${USER_ID}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='${USER_ID}')`);
    assert.equal(plain.body.value.length, 1);
    // A depth the call stack cannot take, had stripOData recursed.
    let v: unknown = 1;
    for (let i = 0; i < 200_000; i++) v = [{ '@odata.type': 'x', a: v }];
    assert.doesNotThrow(() => stripOData(v));
  });

  test('no violations', () => {
    assert.deepEqual(violations.slice(0, 5), [], `${violations.length} violation(s); the first: ${JSON.stringify(violations.slice(0, 5), null, 1)}`);
  });
});

// ---- raw sockets: what node's HTTP server answers before fastify sees a request -------------------------

/** Writes `data` on a fresh loopback connection; resolves with everything read until the server closes it. */
function rawExchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => { s.destroy(); reject(new Error(`no answer to ${JSON.stringify(data.slice(0, 80))}`)); }, 5000);
    s.on('data', (c) => chunks.push(c));
    // A reset after the answer arrived still counts: the answer is what is checked.
    s.on('error', () => undefined);
    s.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(chunks).toString('utf8')); });
    s.write(data);
  });
}

function parseRaw(text: string): { status: number; headers: Record<string, string>; body: unknown } {
  const [head = '', ...rest] = text.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  let body: unknown = null;
  try { body = JSON.parse(rest.join('\r\n\r\n')); } catch { body = null; }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

test('raw sockets: bad encoding, a 20 KB URL, 64 KB of headers, an unknown Expect get the envelope', async () => {
  const h = await startServer();
  try {
    const port = Number(new URL(h.url).port);
    const bigHeaders = Array.from({ length: 64 }, (_, i) => `x-pad-${i}: ${'v'.repeat(1000)}\r\n`).join('');
    const cases: Array<{ name: string; data: string; status: number; code: string; clientRequestId?: string }> = [
      { name: 'bad percent-encoding', data: 'GET /beta/communications/calls/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400, code: 'BadRequest' },
      { name: 'invalid UTF-8 in the path', data: 'GET /%C0%AF%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', status: 400, code: 'BadRequest' },
      { name: 'a 20 KB URL', data: `GET /beta/communications/calls/${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, status: 414, code: 'RequestUriTooLong' },
      { name: '64 KB of headers', data: `GET /beta/communications/calls HTTP/1.1\r\nHost: x\r\nclient-request-id: mine\r\n${bigHeaders}Connection: close\r\n\r\n`, status: 431, code: 'RequestHeaderFieldsTooLarge', clientRequestId: 'mine' },
      { name: 'Expect: something', data: `POST /beta/communications/calls HTTP/1.1\r\nHost: x\r\nExpect: something\r\nclient-request-id: e1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`, status: 417, code: 'ExpectationFailed', clientRequestId: 'e1' },
      { name: 'not HTTP', data: 'HELLO THERE\r\n\r\n', status: 400, code: 'BadRequest' },
      { name: 'a header without a colon', data: 'GET /beta HTTP/1.1\r\nHost: x\r\nnocolon\r\n\r\n', status: 400, code: 'BadRequest' },
      { name: 'Content-Length and Transfer-Encoding', data: 'POST /beta/communications/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}', status: 400, code: 'BadRequest' },
      { name: 'a segment over the router limit', data: `GET /beta/communications/calls/${'b'.repeat(1500)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, status: 414, code: 'RequestUriTooLong' },
    ];
    for (const c of cases) {
      counts.rawCases++;
      const r = parseRaw(await rawExchange(port, c.data));
      const ok = r.status === c.status && isGraphEnvelope(r.body, r.headers['request-id']) && (r.body as { error: { code: string } }).error.code === c.code;
      if (!ok) counts.rawNonEnvelope++;
      assert.ok(ok, `${c.name}: ${r.status} ${JSON.stringify(r.body)} ${JSON.stringify(r.headers)}`);
      assert.match(r.headers['content-type'] ?? '', /^application\/json/, c.name);
      if (c.clientRequestId) assert.equal(r.headers['client-request-id'], c.clientRequestId, `${c.name}: client-request-id echoed`);
    }
    // Still serving.
    const ok = await fetch(`${h.url}/_emulator/health`);
    assert.equal(ok.status, 200);
  } finally {
    await h.close();
  }
});
