import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { parseAppsFile } from '../../src/auth/apps.js';
import { compose } from '../../src/compose.js';
import { ConfigError, DEFAULTS, loadConfig, type Config } from '../../src/config.js';
import { allowListProblems, callbackPolicy, callbackUriProblem, isLoopbackHost, STRICT_CALLBACKS } from '../../src/domain/callback-uri.js';
import { decide, type RetryPolicy } from '../../src/notifications/retry-policy.js';
import { guardedLookup, httpSender, parseRetryAfter, WebhookError, type Resolver, type WebhookSender } from '../../src/notifications/webhook.sender.js';
import { buildHarness, CLIENT_ID, DEV_APP, p2pCallBody, poolSigningKey, testConfig, waitFor, type Harness, type ServerHarness } from '../support/harness.js';
import { api, createCall, deliveries, settled, waitForState } from '../support/graph-http.js';
import { call, snapshot } from '../support/inject.js';
import { startReceiver, type Receiver, type RespondHook } from '../support/webhook-receiver.js';

/**
 * No SSRF: graph-calls calls loopback and public hosts only, unless --allow-callback-hosts says otherwise;
 * link-local, metadata and unspecified addresses never. No test here sends a packet anywhere but loopback:
 * non-loopback names resolve through an injected resolver, and every refusal happens before a connect.
 */

const strict = callbackPolicy({ maxUriLength: 2048 });
const refusedBy = (u: string, p = strict) => p.uriProblem(u);

describe('the callbackUri rule (pure)', () => {
  test('loopback and public hosts are accepted; http only on loopback', () => {
    for (const u of ['https://bot.example.com/api/calls', 'https://8.8.8.8/cb', 'https://172.32.0.1/', 'https://[2606:4700::1111]/cb',
      'http://127.0.0.1:3978/cb', 'http://127.8.9.10/', 'http://localhost/cb', 'http://LOCALHOST./cb', 'http://[::1]:8080/cb',
      'http://[::ffff:127.0.0.1]/cb', 'https://[64:ff9b::8.8.8.8]/']) {
      assert.equal(refusedBy(u), null, u);
    }
    assert.match(refusedBy('http://bot.example.com/cb')!, /https is required/);
    assert.match(refusedBy('http://8.8.8.8/cb')!, /https is required/);
  });

  test('WHATWG URL normalises decimal, octal, hex and short IPv4 forms before the rule sees them', () => {
    // What URL gives: each of these *is* 127.0.0.1 (or 169.254.169.254, 10.0.0.1, 192.168.0.1).
    assert.equal(new URL('http://0x7f000001/').hostname, '127.0.0.1');
    assert.equal(new URL('http://2130706433/').hostname, '127.0.0.1');
    assert.equal(new URL('http://017700000001/').hostname, '127.0.0.1');
    assert.equal(new URL('http://127.1/').hostname, '127.0.0.1');
    for (const u of ['http://0x7f000001:9/', 'http://2130706433/', 'http://017700000001/', 'http://127.1/']) assert.equal(refusedBy(u), null, u);
    assert.match(refusedBy('https://0xa9.0xfe.0xa9.0xfe/')!, /169\.254\.169\.254 is a cloud metadata address.*never calls/);
    assert.match(refusedBy('https://2852039166/')!, /169\.254\.169\.254 is a cloud metadata/);
    assert.match(refusedBy('https://10.1/')!, /10\.0\.0\.1 is a private address in 10\.0\.0\.0\/8/);
    assert.match(refusedBy('https://0300.0250.0.1/')!, /192\.168\.0\.1 is a private address/);
    assert.match(refusedBy('https://0/')!, /0\.0\.0\.0 is an unspecified address/);
  });

  test('every IPv4 range: never, opt-in, or called', () => {
    const cases: Array<[string, RegExp | null]> = [
      ['0.0.0.0', /unspecified.*never calls/], ['0.1.2.3', /unspecified.*never calls/],
      ['169.254.169.254', /cloud metadata address.*never calls/], ['169.254.170.2', /link-local address in 169\.254\.0\.0\/16.*never calls/],
      ['100.100.100.200', /cloud metadata address.*never calls/],
      ['10.0.0.1', /private address in 10\.0\.0\.0\/8.*--allow-callback-hosts/], ['10.255.255.255', /private/],
      ['172.16.0.1', /private address in 172\.16\.0\.0\/12/], ['172.31.255.255', /private/],
      ['192.168.1.1', /private address in 192\.168\.0\.0\/16/],
      ['100.64.0.1', /shared \(carrier-grade NAT\) address in 100\.64\.0\.0\/10/], ['100.127.255.255', /shared/],
      ['192.0.0.8', /IETF protocol-assignment/], ['192.0.2.1', /documentation/], ['198.51.100.1', /documentation/], ['203.0.113.1', /documentation/],
      ['198.18.0.1', /benchmarking/], ['198.19.255.255', /benchmarking/], ['192.88.99.1', /6to4 relay/],
      ['224.0.0.1', /multicast/], ['239.255.255.250', /multicast/], ['240.0.0.1', /reserved/], ['255.255.255.255', /reserved/],
      ['127.0.0.1', null], ['127.255.255.254', null],
      ['9.255.255.255', null], ['11.0.0.1', null], ['172.15.255.255', null], ['172.32.0.0', null], ['192.167.255.255', null], ['192.169.0.0', null],
      ['100.63.255.255', null], ['100.128.0.0', null], ['169.253.255.255', null], ['169.255.0.0', null], ['223.255.255.255', null], ['1.1.1.1', null],
    ];
    for (const [ip, want] of cases) {
      const got = refusedBy(`https://${ip}/cb`);
      if (want === null) assert.equal(got, null, ip);
      else assert.match(got ?? 'accepted', want, ip);
    }
  });

  test('every IPv6 range, IPv4-mapped and NAT64 addresses included', () => {
    const cases: Array<[string, RegExp | null]> = [
      ['::', /unspecified.*never calls/], ['::1', null],
      ['fe80::1', /link-local address in fe80::\/10.*never calls/], ['febf:ffff::1', /link-local/],
      ['fd00:ec2::254', /cloud metadata address.*never calls/],
      ['fc00::1', /unique local \(private\) address in fc00::\/7.*--allow-callback-hosts/], ['fd12:3456::1', /unique local/],
      ['fec0::1', /site-local/], ['ff02::1', /multicast/], ['2001:db8::1', /documentation/], ['3fff::1', /documentation/],
      ['2001::1', /IETF protocol-assignment/], ['2002:a00:1::1', /6to4/], ['100::1', /discard-only/], ['64:ff9b:1::1', /local-use NAT64/],
      ['::10.0.0.1', /IPv4-compatible/], ['4000::1', /unassigned/],
      ['::ffff:10.0.0.1', /::ffff:a00:1 \(IPv4-mapped 10\.0\.0\.1\) is a private address in 10\.0\.0\.0\/8/],
      ['::ffff:169.254.169.254', /IPv4-mapped 169\.254\.169\.254\) is a cloud metadata address.*never/],
      ['::ffff:0.0.0.0', /unspecified.*never/], ['::ffff:127.0.0.1', null], ['::ffff:8.8.8.8', null],
      ['0:0:0:0:0:ffff:c0a8:0101', /IPv4-mapped 192\.168\.1\.1/],
      ['64:ff9b::10.0.0.1', /NAT64 for 10\.0\.0\.1\) is a private address/],
      ['64:ff9b::169.254.169.254', /NAT64 for 169\.254\.169\.254\) is a cloud metadata address.*never/],
      ['64:ff9b::127.0.0.1', /loopback address behind a NAT64 gateway/], ['64:ff9b::1.1.1.1', null],
      ['2606:4700:4700::1111', null], ['2a00:1450:4001::1', null],
    ];
    for (const [ip, want] of cases) {
      const got = refusedBy(`https://[${ip}]/cb`);
      if (want === null) assert.equal(got, null, ip);
      else assert.match(got ?? 'accepted', want, ip);
    }
  });

  test('metadata names, credentials, over-long URLs and other schemes are refused', () => {
    for (const n of ['metadata.google.internal', 'METADATA.GOOGLE.INTERNAL.', 'metadata.goog', 'metadata', 'instance-data.ec2.internal']) {
      assert.match(refusedBy(`https://${n}/computeMetadata/v1/`)!, /is a cloud metadata service, which graph-calls never calls/, n);
    }
    assert.match(refusedBy('https://user:secret@bot.example.com/cb')!, /must not carry credentials \(user:password@\)/);
    assert.match(refusedBy('http://user@127.0.0.1/cb')!, /credentials/);
    assert.match(refusedBy('http://127.0.0.1:80@10.0.0.1/cb')!, /credentials/, 'the "userinfo" trick');
    const long = `https://bot.example.com/${'a'.repeat(2048)}`;
    assert.match(refusedBy(long)!, new RegExp(`${long.length} characters long; at most 2048`));
    assert.equal(refusedBy(`https://bot.example.com/${'a'.repeat(2000)}`), null);
    assert.equal(callbackUriProblem(long), null, 'the rule without a configured limit has none');
    assert.match(refusedBy('file:///etc/passwd')!, /scheme must be https/);
    assert.match(refusedBy('gopher://127.0.0.1:25/')!, /scheme/);
  });

  test('--allow-callback-hosts: CIDRs and names open opt-in ranges (and plain http), never the never-ranges', () => {
    const p = callbackPolicy({ allow: ['127.0.0.0/8', '10.0.0.0/8', 'fd00::/8', 'bot.internal', '*.corp.example', '192.168.7.7'] });
    assert.equal(p.uriProblem('https://10.1.2.3/cb'), null);
    assert.equal(p.uriProblem('http://10.1.2.3:3978/cb'), null, 'an allowed host may use plain http, like loopback');
    assert.equal(p.uriProblem('https://[::ffff:10.9.9.9]/cb'), null, 'an IPv4-mapped address matches the IPv4 block');
    assert.equal(p.uriProblem('https://[fd00::5]/cb'), null);
    assert.equal(p.uriProblem('https://192.168.7.7/cb'), null, 'a single address');
    assert.match(p.uriProblem('https://192.168.7.8/cb')!, /private/);
    assert.match(p.uriProblem('https://172.16.0.1/cb')!, /--allow-callback-hosts/, 'what is not listed stays refused');
    assert.match(p.uriProblem('https://[fc00::1]/cb')!, /unique local/, 'fd00::/8 does not cover fc00::/8');
    assert.equal(p.uriProblem('http://bot.internal:3978/cb'), null);
    assert.equal(p.uriProblem('http://a.b.corp.example/cb'), null);
    assert.match(p.uriProblem('http://corp.example/cb')!, /https is required/, '*.corp.example is the subdomains');
    assert.match(p.uriProblem('http://other.internal/cb')!, /https is required/);
    // Loopback was allowed anyway: listing 127.0.0.0/8 changes nothing else.
    assert.equal(callbackPolicy({ allow: ['127.0.0.0/8'] }).uriProblem('http://127.0.0.1/cb'), null);
    assert.match(callbackPolicy({ allow: ['127.0.0.0/8'] }).uriProblem('https://10.0.0.1/cb')!, /private/);
    // Everything opt-in, still not the never-ranges.
    const all = callbackPolicy({ allow: ['0.0.0.0/0', '::/0'] });
    assert.equal(all.uriProblem('https://10.0.0.1/'), null);
    assert.equal(all.uriProblem('https://[fc00::1]/'), null);
    for (const u of ['https://169.254.169.254/', 'https://169.254.1.1/', 'https://0.0.0.0/', 'https://[::]/', 'https://[fe80::1]/', 'https://[fd00:ec2::254]/', 'https://metadata.google.internal/']) {
      assert.match(all.uriProblem(u)!, /never calls/, u);
    }
    // At connect time, a listed name may resolve to a private address, never to a never-range one.
    assert.equal(p.addressProblem('192.168.1.5', 'bot.internal'), null);
    assert.equal(p.addressProblem('172.20.0.3', 'x.corp.example'), null);
    assert.match(p.addressProblem('169.254.169.254', 'bot.internal')!, /'bot.internal' resolves to 169\.254\.169\.254, a cloud metadata address.*never calls/);
    assert.match(p.addressProblem('172.20.0.3', 'other.example')!, /'other.example' resolves to 172\.20\.0\.3, a private address in 172\.16\.0\.0\/12, which graph-calls does not call: allow it with --allow-callback-hosts/);
    assert.equal(p.addressProblem('10.0.0.9', 'anything.example'), null, 'a listed CIDR allows the address whatever the name');
  });

  test('allow-list entries are validated', () => {
    assert.deepEqual(allowListProblems(['10.0.0.0/8', '[fd00::]/8', 'fd00::1', 'bot', 'bot_1.internal', '*.corp.example', ' 192.168.0.0/16 ', '']), []);
    const problems = allowListProblems(['169.254.0.0/16', '169.254.169.254', 'fe80::/64', '10.1', '010.0.0.1', '10.0.0.0/33', 'not a host', 'metadata.google.internal', 'http://x']);
    assert.equal(problems.length, 9, problems.join('\n'));
    assert.match(problems[0]!, /'169.254.0.0\/16' lies in 169\.254\.0\.0\/16, a link-local address, which graph-calls never calls/);
    assert.match(problems[3]!, /'10.1' is not a CIDR/);
  });

  test('isLoopbackHost (also the control plane\'s access rule)', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LocalHost.', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
    for (const h of ['10.0.0.1', '0.0.0.0', '::', '64:ff9b::7f00:1', 'localhost.example.com', '']) assert.ok(!isLoopbackHost(h), h);
  });
});

describe('configuration of the callback limits', () => {
  test('defaults, flags and the environment variable', () => {
    assert.deepEqual(DEFAULTS.allowCallbackHosts, []);
    assert.equal(DEFAULTS.callbackResponseBytes, 65_536);
    assert.equal(DEFAULTS.callbackUriMaxLength, 2048);
    assert.equal(DEFAULTS.deliveryRetryAfterMaxMs, 3_600_000);
    const c = loadConfig(['--allow-callback-hosts', '127.0.0.0/8, 10.0.0.0/8 ,bot.internal,*.corp.example', '--callback-response-bytes', '1024', '--callback-uri-max-length=512', '--delivery-retry-after-max-ms', '60000'], {});
    assert.deepEqual(c.allowCallbackHosts, ['127.0.0.0/8', '10.0.0.0/8', 'bot.internal', '*.corp.example']);
    assert.ok(Object.isFrozen(c.allowCallbackHosts));
    assert.equal(c.callbackResponseBytes, 1024);
    assert.equal(c.callbackUriMaxLength, 512);
    assert.equal(c.deliveryRetryAfterMaxMs, 60_000);
    assert.deepEqual(loadConfig([], { GRAPH_CALLS_ALLOW_CALLBACK_HOSTS: 'fd00::/8,bot' }).allowCallbackHosts, ['fd00::/8', 'bot']);
    assert.deepEqual(loadConfig(['--allow-callback-hosts', '10.0.0.0/8'], { GRAPH_CALLS_ALLOW_CALLBACK_HOSTS: 'bot' }).allowCallbackHosts, ['10.0.0.0/8'], 'the flag wins');
  });

  test('bad entries are reported with every other problem', () => {
    try {
      loadConfig(['--allow-callback-hosts', '169.254.0.0/16,10.0.0.0/99,ok.internal', '--callback-uri-max-length', '0'], {});
      assert.fail('expected ConfigError');
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 3, e.message);
      assert.match(e.message, /--allow-callback-hosts: '169.254.0.0\/16' lies in .*never calls/);
      assert.match(e.message, /--allow-callback-hosts: '10.0.0.0\/99' is not a CIDR/);
      assert.match(e.message, /--callback-uri-max-length must be at least 1/);
    }
  });

  test('an --apps file with a callbackUri graph-calls does not call is a start-up problem', () => {
    const app = (callbackUri: string) => JSON.stringify([{ tenantId: DEV_APP.tenantId, clientId: '00000000-0000-4000-8000-0000000000c1', clientSecret: 's', roles: [], callbackUri }]);
    assert.throws(() => parseAppsFile(app('https://169.254.169.254/'), 'apps.json'), /apps\.json\[0\]\.callbackUri: the host 169\.254\.169\.254 is a cloud metadata address/);
    assert.throws(() => parseAppsFile(app('https://10.0.0.1/cb'), 'apps.json'), /apps\.json\[0\]\.callbackUri: .*private.*--allow-callback-hosts/);
    assert.equal(parseAppsFile(app('https://10.0.0.1/cb'), 'apps.json', callbackPolicy({ allow: ['10.0.0.0/8'] }))[0]!.callbackUri, 'https://10.0.0.1/cb');
  });
});

describe('Retry-After and redirects (pure)', () => {
  const policy: RetryPolicy = { maxAttempts: 8, baseDelayMs: 100, maxDelayMs: 1000, maxRedirects: 5, maxRetryAfterMs: 5000, callbacks: STRICT_CALLBACKS };
  const res = (status: number, extra: { location?: string; retryAfterMs?: number | null } = {}) =>
    ({ status, location: extra.location ?? null, retryAfterMs: extra.retryAfterMs ?? null, latencyMs: 1 });

  test('Retry-After parses to a finite number, whatever the bot sends', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('1', now), 1000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('1e308', now), Number.MAX_SAFE_INTEGER);
    assert.equal(parseRetryAfter('Infinity', now), Number.MAX_SAFE_INTEGER);
    assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Fri, 31 Dec 9999 23:59:59 GMT', now), 253402300799000 - now);
    assert.equal(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now), 0, 'a date in the past: now');
    assert.equal(parseRetryAfter('-5', now), null);
    assert.equal(parseRetryAfter('soon', now), null);
    assert.equal(parseRetryAfter('', now), null);
    assert.equal(parseRetryAfter(null, now), null);
  });

  test('a huge Retry-After is clamped to maxRetryAfterMs', () => {
    for (const ms of [parseRetryAfter('1e308', 0)!, 1e311, Number.POSITIVE_INFINITY, 10 * 365 * 86_400_000]) {
      const d = decide(res(429, { retryAfterMs: ms }), 1, policy, () => 0);
      assert.deepEqual(d, { outcome: 'retry', delayMs: 5000 }, String(ms));
    }
    assert.equal(decide(res(503, { retryAfterMs: 3000 }), 1, policy, () => 0).delayMs, 3000, 'within the clamp: honoured beyond maxDelayMs');
  });

  test('a redirect to an internal host is not followed: rejected, with the reason', () => {
    for (const [location, why] of [
      ['http://10.0.0.1/', /private address/], ['https://169.254.169.254/latest/meta-data/', /cloud metadata/], ['https://[::ffff:192.168.0.1]/', /IPv4-mapped 192\.168\.0\.1/],
      ['https://metadata.google.internal/', /metadata service/], ['https://user:pw@bot.example.com/', /credentials/], ['https://0/', /unspecified/],
    ] as const) {
      const d = decide(res(307, { location }), 1, policy, () => 0);
      assert.equal(d.outcome, 'rejected', location);
      assert.match(d.reason!, /^redirect not followed: /);
      assert.match(d.reason!, why, location);
    }
    assert.deepEqual(decide(res(308, { location: 'https://bot-eu.example.com/cb' }), 1, policy, () => 0), { outcome: 'redirected', location: 'https://bot-eu.example.com/cb' });
    const allowing = { ...policy, callbacks: callbackPolicy({ allow: ['10.0.0.0/8'] }) };
    assert.deepEqual(decide(res(302, { location: 'http://10.0.0.1/cb' }), 1, allowing, () => 0), { outcome: 'redirected', location: 'http://10.0.0.1/cb' });
  });

  test('a refused host is final; other send failures retry', () => {
    assert.deepEqual(decide(new WebhookError('callback host refused', 0, true), 1, policy, () => 0), { outcome: 'rejected' });
    assert.equal(decide(new WebhookError('ECONNREFUSED', 1), 1, policy, () => 0).outcome, 'retry');
  });
});

/** A resolver that knows only `map`; anything else is ENOTFOUND (no real DNS in these tests). */
function fakeResolver(map: Record<string, string[] | (() => string[])>): Resolver & { asked: string[] } {
  const asked: string[] = [];
  const resolve: Resolver = async (hostname) => {
    asked.push(hostname);
    const entry = map[hostname];
    const list = typeof entry === 'function' ? entry() : entry;
    if (!list) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolve, { asked });
}

describe('the connect-time check (guardedLookup)', () => {
  const lookupOnce = (lookup: ReturnType<typeof guardedLookup>, host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) => {
      lookup(host, { all }, (err, address, family) => resolve({ err, address, family }));
    });

  test('a name that resolves to a private address is refused before any socket gets an address', async () => {
    const lookup = guardedLookup(STRICT_CALLBACKS, fakeResolver({ 'bot.internal.test': ['10.0.0.5'] }));
    for (const all of [false, true]) {
      const r = await lookupOnce(lookup, 'bot.internal.test', all);
      assert.equal(r.err?.code, 'ERR_CALLBACK_HOST_REFUSED');
      assert.equal(r.err?.message, "callback host 'bot.internal.test' resolves to 10.0.0.5, a private address in 10.0.0.0/8, which graph-calls does not call: allow it with --allow-callback-hosts");
      assert.equal(r.address, '');
    }
  });

  test('refused addresses are dropped from a mixed answer; allowed ones are handed on', async () => {
    const resolver = fakeResolver({ mixed: ['10.0.0.5', '169.254.169.254', '127.0.0.1', '::ffff:10.0.0.6', '::1'], corp: ['172.20.0.3'], nowhere: [] });
    const lookup = guardedLookup(STRICT_CALLBACKS, resolver);
    assert.deepEqual(await lookupOnce(lookup, 'mixed', false), { err: null, address: '127.0.0.1', family: 4 });
    assert.deepEqual((await lookupOnce(lookup, 'mixed', true)).address, [{ address: '127.0.0.1', family: 4 }, { address: '::1', family: 6 }]);
    const v6only = await new Promise<string | LookupAddress[]>((r) => lookup('mixed', { family: 6 }, (_e, a) => r(a)));
    assert.equal(v6only, '::1');
    assert.equal((await lookupOnce(lookup, 'nowhere', false)).err?.code, 'ENOTFOUND');
    assert.equal((await lookupOnce(lookup, 'unknown', false)).err?.code, 'ENOTFOUND');
    const allowed = guardedLookup(callbackPolicy({ allow: ['corp'] }), resolver);
    assert.deepEqual(await lookupOnce(allowed, 'corp', false), { err: null, address: '172.20.0.3', family: 4 });
    assert.match((await lookupOnce(allowed, 'mixed', false)).address as string, /^127\.0\.0\.1$/);
  });
});

describe('the sender: response bodies are capped, keep-alive kept', () => {
  let server: Server;
  let url: string;
  let connections = 0;
  /** Bytes the server got into the socket for the big answer before it was closed. */
  let written = 0;
  let bigDone: Promise<void>;
  const BIG = 32 * 1024 * 1024;
  before(async () => {
    let markBigDone: () => void = () => undefined;
    bigDone = new Promise((r) => { markBigDone = r; });
    server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url !== '/big') return res.writeHead(202, { 'content-type': 'text/plain' }).end('ok');
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const chunk = Buffer.alloc(64 * 1024, 0x61);
        const pump = () => {
          while (written < BIG && !res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (written >= BIG) res.end();
        };
        res.on('close', () => markBigDone());
        pump();
      });
    });
    server.on('connection', () => { connections++; });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  test('small answers reuse one connection; a 32 MiB answer is cut at the cap and its connection dropped', async () => {
    const sender = httpSender({ callbacks: STRICT_CALLBACKS, maxResponseBytes: 64 * 1024 });
    try {
      const a = await sender.post(`${url}/small`, { 'content-type': 'application/json' }, '{}', 5000);
      // node hands a kept-alive socket back to its pool just after the answer's end.
      await new Promise((r) => setImmediate(r));
      const b = await sender.post(`${url}/small`, { 'content-type': 'application/json' }, '{}', 5000);
      assert.deepEqual([a.status, b.status, a.note, b.note], [202, 202, undefined, undefined]);
      assert.equal(connections, 1, 'kept alive');

      const big = await sender.post(`${url}/big`, { 'content-type': 'application/json' }, '{}', 5000);
      assert.equal(big.status, 200);
      assert.match(big.note!, /response body over 65536 bytes \(--callback-response-bytes\): the rest was not read/);
      await bigDone;
      assert.ok(written < BIG, `the bot got only ${written} of ${BIG} bytes out before graph-calls hung up`);

      const c = await sender.post(`${url}/small`, { 'content-type': 'application/json' }, '{}', 5000);
      assert.equal(c.status, 202);
      assert.equal(connections, 2, 'the capped connection was not reused');
    } finally {
      sender.close?.();
    }
  });

  test('a literal address graph-calls does not call fails at once, final, with no socket opened', async () => {
    const sender = httpSender({ callbacks: STRICT_CALLBACKS, maxResponseBytes: 1024 });
    for (const target of ['https://10.0.0.1/cb', 'https://169.254.169.254/latest/meta-data/', 'https://[::ffff:10.0.0.1]/cb', 'http://0/cb']) {
      await assert.rejects(sender.post(target, {}, '{}', 5000), (e: unknown) => {
        assert.ok(e instanceof WebhookError && e.final, target);
        assert.match((e as Error).message, /^graph-calls does not call this callbackUri: the host /);
        return true;
      });
    }
  });
});

/** A composed graph-calls listening on loopback, with ports the stock harness does not take. */
async function serve(overrides: Partial<Config>, ports: Parameters<typeof compose>[1] = {}): Promise<ServerHarness> {
  const comp = await compose(testConfig(overrides), { newSigningKey: poolSigningKey, ...ports });
  comp.start();
  const { accessToken } = await comp.tokens.issue(DEV_APP);
  const address = await comp.app.listen({ port: 0, host: '127.0.0.1' });
  return { comp, token: accessToken, auth: `Bearer ${accessToken}`, url: address.replace('localhost', '127.0.0.1'), close: () => comp.close() };
}

const CONTROL = { 'x-graph-calls-control': '1' };

describe('creation-time refusals: a 400 in Graph\'s envelope naming the problem, nothing stored', () => {
  let h: Harness;
  let incomingId: string;
  before(async () => {
    h = await buildHarness({ incomingTimeoutMs: 60_000 });
    const ring = await call(h, 'POST', '/_emulator/calls/incoming', { auth: false, headers: CONTROL, body: { callbackUri: 'http://127.0.0.1:9/incoming' } });
    assert.equal(ring.status, 201, ring.raw);
    incomingId = ring.body.id;
  });
  after(() => h.close());

  const BAD: Array<[string, RegExp]> = [
    ['https://10.0.0.1/cb', /the host 10\.0\.0\.1 is a private address in 10\.0\.0\.0\/8, which graph-calls does not call: allow it with --allow-callback-hosts/],
    ['https://192.168.1.20/cb', /private address in 192\.168\.0\.0\/16/],
    ['https://100.64.0.1/cb', /shared/],
    ['https://169.254.169.254/latest/meta-data/', /cloud metadata address.*never calls/],
    ['http://0xa9fea9fe/', /169\.254\.169\.254 is a cloud metadata address/],
    ['https://[fd00:ec2::254]/', /cloud metadata address/],
    ['https://metadata.google.internal/computeMetadata/v1/', /'metadata.google.internal' is a cloud metadata service/],
    ['https://0.0.0.0/cb', /unspecified/],
    ['http://[::]:3978/cb', /unspecified/],
    ['https://[fe80::1]/cb', /link-local/],
    ['https://[fd12::1]/cb', /unique local/],
    ['https://[::ffff:10.0.0.1]/cb', /IPv4-mapped 10\.0\.0\.1/],
    ['https://bot:secret@bot.example.com/cb', /must not carry credentials/],
    [`https://bot.example.com/${'x'.repeat(2100)}`, /characters long; at most 2048 are accepted/],
  ];

  const assertRefused = (r: Awaited<ReturnType<typeof call>>, member: string, why: RegExp, what: string) => {
    assert.equal(r.status, 400, `${what}: ${r.raw}`);
    assert.equal(r.body.error.code, 'BadRequest');
    assert.ok(r.body.error.innerError['request-id'], 'Graph envelope');
    assert.match(r.body.error.message, new RegExp(`'${member}'`), what);
    assert.match(r.body.error.message, why, what);
  };

  test('create call', async () => {
    const before = (await h.comp.store.listOutbox({ limit: 10_000 })).length;
    for (const [uri, why] of BAD) assertRefused(await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody({ callbackUri: uri }) }), 'callbackUri', why, uri);
    assert.equal((await h.comp.store.listOutbox({ limit: 10_000 })).length, before, 'no call was created');
    const ok = await call(h, 'POST', '/v1.0/communications/calls', { body: p2pCallBody({ callbackUri: 'http://0x7f000001:9/cb' }) });
    assert.equal(ok.status, 201, 'hex loopback is loopback');
  });

  test('answer, reject and redirect bodies', async () => {
    const snap = await snapshot(h, incomingId);
    const media = { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' };
    for (const [uri, why] of BAD) {
      assertRefused(await call(h, 'POST', `/beta/communications/calls/${incomingId}/answer`, { body: { acceptedModalities: ['audio'], mediaConfig: media, callbackUri: uri } }), 'callbackUri', why, `answer ${uri}`);
      assertRefused(await call(h, 'POST', `/beta/communications/calls/${incomingId}/reject`, { body: { reason: 'busy', callbackUri: uri } }), 'callbackUri', why, `reject ${uri}`);
      assertRefused(await call(h, 'POST', `/beta/communications/calls/${incomingId}/redirect`, { body: { targets: p2pCallBody().targets, callbackUri: uri } }), 'callbackUri', why, `redirect ${uri}`);
    }
    assert.equal(await snapshot(h, incomingId), snap, 'the incoming call is unchanged');
  });

  test('an app\'s calling webhook (PATCH and POST /_emulator/apps) and an incoming call\'s callbackUri', async () => {
    for (const [uri, why] of BAD) {
      assertRefused(await call(h, 'PATCH', `/_emulator/apps/${CLIENT_ID}`, { auth: false, headers: CONTROL, body: { callbackUri: uri } }), 'callbackUri', why, `PATCH app ${uri}`);
      assertRefused(await call(h, 'POST', '/_emulator/calls/incoming', { auth: false, headers: CONTROL, body: { callbackUri: uri } }), 'callbackUri', why, `incoming ${uri}`);
      const app = { tenantId: DEV_APP.tenantId, clientId: '00000000-0000-4000-8000-0000000000c2', clientSecret: 's', roles: [], callbackUri: uri };
      const posted = await call(h, 'POST', '/_emulator/apps', { auth: false, headers: CONTROL, body: app });
      assert.equal(posted.status, 400, posted.raw);
      assert.match(posted.body.error.message, /app\.callbackUri: /);
      assert.match(posted.body.error.message, why, `POST app ${uri}`);
    }
    assert.equal(h.comp.apps.get(CLIENT_ID)!.callbackUri, null, 'the development app has no webhook still');
    assert.equal(h.comp.apps.get('00000000-0000-4000-8000-0000000000c2'), undefined);
  });
});

describe('--allow-callback-hosts at creation (a stub sender: nothing leaves the process)', () => {
  const posted: string[] = [];
  const stub: WebhookSender = { post: async (url) => { posted.push(url); return { status: 202, location: null, retryAfterMs: null, latencyMs: 0 }; } };
  let h: ServerHarness;
  before(async () => { h = await serve({ allowCallbackHosts: ['10.0.0.0/8', 'bot.internal', 'fd00::/8'] }, { sender: stub }); });
  after(() => h.close());

  test('a listed private address or name is accepted, plain http included; unlisted and never-ranges are still refused', async () => {
    const a = await createCall(h, p2pCallBody({ callbackUri: 'http://10.0.0.5:3978/cb' }));
    const b = await createCall(h, p2pCallBody({ callbackUri: 'http://bot.internal:3978/cb' }));
    await waitForState(h, a.id, 'established');
    await waitFor(() => posted.includes('http://10.0.0.5:3978/cb') && posted.includes('http://bot.internal:3978/cb'), 'the stub to be handed both');
    assert.equal(b.callbackUri, 'http://bot.internal:3978/cb');
    for (const [uri, why] of [['https://192.168.0.5/cb', /private/], ['https://169.254.169.254/', /never calls/], ['http://other.internal/cb', /https is required/]] as const) {
      const r = await api(h, 'POST', '/beta/communications/calls', p2pCallBody({ callbackUri: uri }));
      assert.equal(r.status, 400, uri);
      assert.match(r.body.error.message, why, uri);
    }
  });
});

describe('delivery: redirects, connect-time refusals, rebinding, big answers, Retry-After', () => {
  const servers: ServerHarness[] = [];
  const receivers: Receiver[] = [];
  const FAST: Partial<Config> = { deliveryRetryBaseMs: 20, deliveryRetryMaxMs: 200 };
  const server = async (over: Partial<Config> = {}, ports: Parameters<typeof compose>[1] = {}) => {
    const h = await serve({ ...FAST, ...over }, ports);
    servers.push(h);
    return h;
  };
  const receiver = async (h: ServerHarness, respond?: RespondHook) => {
    const r = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID, respond });
    receivers.push(r);
    return r;
  };
  after(async () => {
    for (const r of receivers) await r.close();
    for (const h of servers) await h.close();
  });

  for (const [location, why] of [['http://10.0.0.1/cb', /the host 10\.0\.0\.1 is a private address/], ['https://169.254.169.254/latest/meta-data/', /cloud metadata address.*never calls/]] as const) {
    test(`a redirect from the loopback bot to ${location} is not followed: the call keeps its callbackUri, the attempt is rejected`, async () => {
      const h = await server();
      const bot = await receiver(h, (_req, n) => (n === 1 ? { status: 307, headers: { location } } : undefined));
      const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
      await waitForState(h, created.id, 'established');
      const rows = await settled(h, created.id);
      const call = (await api(h, 'GET', `/beta/communications/calls/${created.id}`)).body;
      assert.equal(call.callbackUri, bot.callbackUri, 'not re-homed');
      assert.ok(rows.every((r) => r.callbackUri === bot.callbackUri));
      assert.deepEqual(rows.map((r) => r.state), ['dead', 'delivered', 'delivered']);
      const journal = await deliveries(h, created.id);
      assert.deepEqual(journal.map((a) => [a.attempt, a.url, a.status, a.outcome]), [
        [1, bot.callbackUri, 307, 'rejected'], [1, bot.callbackUri, 202, 'delivered'], [1, bot.callbackUri, 202, 'delivered'],
      ]);
      assert.match(journal[0]!.error, /^redirect not followed: /);
      assert.match(journal[0]!.error, why);
      assert.equal(bot.requests.length, 3);
    });
  }

  test('a name that resolves to a private address: refused at connect time, journalled, final (one attempt per notification)', async () => {
    const resolve = fakeResolver({ 'bot.internal.test': ['10.0.0.5'] });
    const h = await server({ deliveryMaxAttempts: 8 }, { resolve });
    const created = await createCall(h, p2pCallBody({ callbackUri: 'https://bot.internal.test/api/calls' }));
    await waitForState(h, created.id, 'established');
    const rows = await settled(h, created.id);
    assert.ok(rows.every((r) => r.state === 'dead'), JSON.stringify(rows.map((r) => r.state)));
    const journal = await deliveries(h, created.id);
    assert.equal(journal.length, rows.length, 'no retries');
    for (const a of journal) {
      assert.equal(a.status, null);
      assert.equal(a.outcome, 'rejected');
      assert.equal(a.error, "callback host 'bot.internal.test' resolves to 10.0.0.5, a private address in 10.0.0.0/8, which graph-calls does not call: allow it with --allow-callback-hosts");
    }
    assert.ok(resolve.asked.length >= 1 && resolve.asked.every((n) => n === 'bot.internal.test'));
  });

  test('DNS rebinding: a name that resolved to the bot once and to the metadata address next is refused at the next connect', async () => {
    let lookups = 0;
    const resolve = fakeResolver({ 'rebind.test': () => (++lookups === 1 ? ['127.0.0.1'] : ['169.254.169.254']) });
    const h = await server({ allowCallbackHosts: ['rebind.test'] }, { resolve });
    // `Connection: close`: every notification needs a new connection, so a new lookup.
    const bot = await receiver(h, () => ({ headers: { connection: 'close' } }));
    const uri = `http://rebind.test:${bot.port}/callback`;
    const created = await createCall(h, p2pCallBody({ callbackUri: uri }));
    await waitForState(h, created.id, 'established');
    const rows = await settled(h, created.id);
    assert.deepEqual(rows.map((r) => r.state), ['delivered', 'dead', 'dead']);
    assert.equal(bot.requests.length, 1, 'only the first notification reached the bot');
    const journal = await deliveries(h, created.id);
    assert.deepEqual(journal.map((a) => [a.status, a.outcome]), [[202, 'delivered'], [null, 'rejected'], [null, 'rejected']]);
    assert.match(journal[1]!.error, /callback host 'rebind.test' resolves to 169\.254\.169\.254, a cloud metadata address in 169\.254\.169\.254\/32, which graph-calls never calls/);
  });

  test('an 8 MiB answer from the bot: delivered, status recorded, body cut at --callback-response-bytes', async () => {
    const h = await server({ callbackResponseBytes: 16 * 1024 });
    const bot = await receiver(h, (_req, n) => (n === 1 ? { status: 200, body: 'x'.repeat(8 * 1024 * 1024) } : undefined));
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await waitForState(h, created.id, 'established');
    const rows = await settled(h, created.id);
    assert.deepEqual(rows.map((r) => r.state), ['delivered', 'delivered', 'delivered']);
    const journal = await deliveries(h, created.id);
    assert.deepEqual(journal.map((a) => [a.attempt, a.status, a.outcome]), [[1, 200, 'delivered'], [1, 202, 'delivered'], [1, 202, 'delivered']]);
    assert.match(journal[0]!.error, /response body over 16384 bytes \(--callback-response-bytes\): the rest was not read/);
    assert.equal(journal[1]!.error, null);
  });

  test('Retry-After: 1e308 is clamped to --delivery-retry-after-max-ms: the retry comes within the clamp', async () => {
    const h = await server({ deliveryRetryAfterMaxMs: 300 });
    const bot = await receiver(h, (_req, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1e308' } } : undefined));
    const created = await createCall(h, p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: created.id, timeoutMs: 5000 });
    await settled(h, created.id);
    const [r1, r2] = bot.requests;
    assert.equal(r1!.status, 429);
    assert.equal(r2!.messageId, r1!.messageId);
    const gap = r2!.receivedAt - r1!.receivedAt;
    assert.ok(gap >= 250 && gap < 3000, `retry came ${gap} ms after the 429`);
    const journal = await deliveries(h, created.id);
    assert.deepEqual(journal.slice(0, 2).map((a) => [a.attempt, a.status, a.outcome]), [[1, 429, 'retry'], [2, 202, 'delivered']]);
  });
});
