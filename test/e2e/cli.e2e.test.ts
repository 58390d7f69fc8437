import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { CLIENT_ID, p2pCallBody, startServer, tempDataDir, waitFor, type ServerHarness } from '../support/harness.js';
import { cli, startCli } from '../support/cli-run.js';

/**
 * The graph-calls CLI, in-process (runCli) against one started server; the bin itself is spawned only
 * where the process matters (a closed pipe).
 */
describe('the graph-calls CLI', () => {
  let server: ServerHarness;
  let url: string;
  const dir = mkdtempSync(join(tmpdir(), 'gc-cli-'));

  before(async () => {
    server = await startServer({ answerDelayMs: 20, operationDelayMs: 20, deliveryRetryBaseMs: 50, deliveryMaxAttempts: 2 });
    url = server.url;
  });
  after(() => server.close());

  const graph = (path: string, init: RequestInit = {}) =>
    fetch(`${url}${path}`, { ...init, headers: { authorization: server.auth, 'content-type': 'application/json', ...init.headers } });

  test('token prints a Graph access token for the development app; --tenant and --app name the app', async () => {
    const r = await cli(url, ['token']);
    assert.equal(r.code, 0, r.stderr);
    const claims = jose.decodeJwt(r.stdout.trim());
    assert.equal(claims.appid, CLIENT_ID);
    assert.equal(claims.aud, 'https://graph.microsoft.com');
    const wrongTenant = await cli(url, ['token', '--tenant', '11111111-1111-4111-8111-111111111111']);
    assert.equal(wrongTenant.code, 1);
    assert.match(wrongTenant.stderr, /^graph-calls: 4\d\d: AADSTS/);
    const unknown = await cli(url, ['token', '--app', '99999999-9999-4999-8999-999999999999', '--secret', 'x']);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /AADSTS700016/);
  });

  test('call incoming without a calling webhook says how to get one', async () => {
    const r = await cli(url, ['call', 'incoming', '--from', 'Carol']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no calling webhook.*graph-calls bot.*--callback-uri/);
  });

  test('journal: newest attempts first, each saying what was delivered, with a more… hint', async () => {
    const placed = await cli(url, ['call', 'incoming', '--from', 'Carol', '--callback-uri', 'http://127.0.0.1:1/cb']);
    assert.equal(placed.code, 0, placed.stderr);
    const id = placed.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    // Two attempts (deliveryMaxAttempts 2): the retry, then the dead one.
    await waitFor(async () => ((await (await fetch(`${url}/_emulator/deliveries?callId=${id}`)).json()) as { value: unknown[] }).value.length >= 2, 'two delivery attempts');
    const j = await cli(url, ['journal', '--call', id]);
    assert.equal(j.code, 0, j.stderr);
    const lines = j.stdout.trim().split('\n');
    assert.equal(lines.length, 2, j.stdout);
    assert.match(lines[0]!, new RegExp(`${id.slice(0, 8)}\\s+#2\\s+---.*dead\\s+created /communications/calls/${id}\\s+→ http://127\\.0\\.0\\.1:1/cb`));
    assert.match(lines[1]!, new RegExp(`${id.slice(0, 8)}\\s+#1\\s+---.*retry\\s+created /communications/calls/${id}`));
    const one = await cli(url, ['journal', '--call', id, '--top', '1']);
    assert.match(one.stdout, /#2 .*\nmore… older attempts not shown: --top N/);
    const bad = await cli(url, ['journal', '--top', '0']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--top must be an integer from 1 to 999/);
  });

  test('journal --follow prints the latest attempts, then new ones as they happen', async () => {
    const follow = startCli(url, ['journal', '--follow', '--top', '1']);
    await follow.waitFor(/→ /);
    const placed = await cli(url, ['call', 'incoming', '--from', 'Erin', '--callback-uri', 'http://127.0.0.1:1/follow']);
    const id = placed.stdout.trim();
    await follow.waitFor(new RegExp(`${id.slice(0, 8)}\\s+#1 .*created /communications/calls/${id}\\s+→ http://127\\.0\\.0\\.1:1/follow`));
    assert.equal(await follow.stop(), 0);
  });

  test('faults add, list and clear', async () => {
    const added = await cli(url, ['faults', 'add', '{"side":"graph","match":{"route":"stopRecording"},"action":{"type":"status","status":503},"once":true}']);
    assert.equal(added.code, 0, added.stderr);
    const id = added.stdout.trim();
    assert.match((await cli(url, ['faults', 'list'])).stdout, new RegExp(`${id}\\s+graph.*stopRecording.*fired 0, 1 left`));
    const bad = await cli(url, ['faults', 'add', '{"side":"graph"}']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /action\.type/);
    assert.equal((await cli(url, ['faults', 'add', '{nope'])).code, 2);
    assert.equal((await cli(url, ['faults', 'clear'])).code, 0);
    assert.match((await cli(url, ['faults', 'list'])).stdout, /no fault rules/);
  });

  test('recording download and export write files, reporting progress', async () => {
    const created = (await (await graph('/beta/communications/calls', { method: 'POST', body: JSON.stringify(p2pCallBody()) })).json()) as { id: string };
    await waitFor(async () => ((await (await graph(`/beta/communications/calls/${created.id}`)).json()) as { state: string }).state === 'established', 'established');
    assert.equal((await graph(`/beta/communications/calls/${created.id}/startRecording`, { method: 'POST', body: '{}' })).status, 202);
    await waitFor(async () => ((await (await graph(`/beta/communications/calls/${created.id}`)).json()) as any).state === 'established', 'still established');
    assert.equal((await graph(`/beta/communications/calls/${created.id}/stopRecording`, { method: 'POST', body: '{}' })).status, 202);
    const recId = await waitFor(async () => ((await (await fetch(`${url}/_emulator/calls/${created.id}/recordings`)).json()) as { value: Array<{ id: string }> }).value[0]?.id, 'a recording');
    const out = join(dir, 'rec.wav');
    const d = await cli(url, ['recording', 'download', recId, '--out', out]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stderr, /recording [0-9a-f]{8}: [\d.]+ of [\d.]+ MiB 100%/);
    assert.equal(readFileSync(out).toString('ascii', 0, 4), 'RIFF');
    const har = join(dir, 'requests.har');
    const e = await cli(url, ['export', 'requests', '--out', har, '--call', created.id]);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stderr, /requests journal: /);
    assert.ok(JSON.parse(readFileSync(har, 'utf8')).log.entries.length >= 3);
    assert.ok(statSync(har).size > 0);
    const missing = await cli(url, ['recording', 'download', 'nope', '--out', join(dir, 'x.wav')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /404/);
  });

  test('--help on every command; clear one-line errors: 2 for bad usage, 1 for a failed command', async () => {
    for (const args of [['--help'], ['serve', '--help'], ['bot', '--help'], ['token', '--help'], ['call', 'incoming', '--help'], ['journal', '--help'], ['faults', '--help'], ['recording', '--help'], ['export', '--help']]) {
      const r = await cli(url, args);
      assert.equal(r.code, 0, args.join(' '));
      assert.match(r.stdout, /usage: graph-calls/);
    }
    assert.match((await cli(url, ['token', '--help'])).stdout, /--tenant names the app's tenant/);
    for (const [args, code, message] of [
      [['frob'], 2, /unknown command 'frob'/],
      [['token', '--bogus'], 2, /unknown option --bogus/],
      [['bot', '--port', 'x'], 2, /--port must be an integer/],
      [['token', '--url', 'ftp://x'], 2, /--url must be an http\(s\) URL/],
      [['token', '--url', 'http://127.0.0.1:1'], 1, /cannot reach graph-calls at http:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\); is it running\?/],
    ] as const) {
      const r = await cli(url, [...args]);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });

  test('the bin survives a closed pipe (graph-calls --help | head -0): no EPIPE stack, exit 0', async () => {
    const child = spawn(process.execPath, ['bin/graph-calls.js', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += String(d); });
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    assert.equal(stderr, '');
    assert.equal(code, 0);
  });
});

describe('the CLI against an --https server', () => {
  const data = tempDataDir();
  let server: ServerHarness;

  before(async () => {
    server = await startServer({ https: true, dataDir: data.dir });
    server.url = server.url.replace(/^http:/, 'https:');
  });
  after(async () => {
    await server.close();
    data.cleanup();
  });

  test('trusts the local CA in the data directory (--data, or GRAPH_CALLS_DATA)', async () => {
    const r = await cli(server.url, ['token', '--data', data.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jose.decodeJwt(r.stdout.trim()).appid, CLIENT_ID);
    const viaEnv = await cli(server.url, ['faults', 'list'], { env: { GRAPH_CALLS_DATA: data.dir } });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    const viaCa = await cli(server.url, ['faults', 'list', '--ca', join(data.dir, 'tls', 'ca.pem')]);
    assert.equal(viaCa.code, 0, viaCa.stderr);
  });

  test('names certificate problems as such, and a wrong scheme as one', async () => {
    const untrusted = await cli(server.url, ['token']);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /the certificate of https:\/\/127\.0\.0\.1:\d+ is not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/);
    assert.match(untrusted.stderr, /no local CA at .*tls\/ca\.pem: pass --data DIR/);
    const plain = await cli(server.url.replace(/^https:/, 'http:'), ['token']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /closed the connection without an answer.*use https:\/\//);
  });
});
