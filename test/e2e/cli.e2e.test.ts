import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as jose from 'jose';
import { CLIENT_ID } from '../support/harness.js';

const BIN = 'bin/graph-calls.js';
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });

describe('the graph-calls CLI', () => {
  let server: ChildProcess;
  let url: string;

  before(async () => {
    server = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--in-memory'], { stdio: ['ignore', 'pipe', 'pipe'] });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no ready line')), 20_000);
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const m = /^graph-calls listening on (\S+)$/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
    });
  });
  after(() => { server.kill('SIGTERM'); });

  test('token prints a Graph access token for the development app', () => {
    const r = run('token', '--url', url);
    assert.equal(r.status, 0, r.stderr);
    const claims = jose.decodeJwt(r.stdout.trim());
    assert.equal(claims.appid, CLIENT_ID);
    assert.equal(claims.aud, 'https://graph.microsoft.com');
  });

  test('call incoming places a call and journal shows its delivery attempts', async () => {
    const r = run('call', 'incoming', '--url', url, '--from', 'Carol', '--callback-uri', 'http://127.0.0.1:1/cb');
    assert.equal(r.status, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^[0-9a-f-]{36}$/);
    await new Promise((res) => setTimeout(res, 300));
    const j = run('journal', '--url', url, '--call', id);
    assert.equal(j.status, 0, j.stderr);
    assert.match(j.stdout, new RegExp(`${id.slice(0, 8)}\\s+#1\\s+---.*retry\\s+http://127\\.0\\.0\\.1:1/cb`));
  });

  test('faults add, list and clear', () => {
    const added = run('faults', 'add', '{"side":"graph","match":{"route":"stopRecording"},"action":{"type":"status","status":503},"once":true}', '--url', url);
    assert.equal(added.status, 0, added.stderr);
    const id = added.stdout.trim();
    const list = run('faults', 'list', '--url', url);
    assert.match(list.stdout, new RegExp(`${id}\\s+graph.*stopRecording.*fired 0, 1 left`));
    const bad = run('faults', 'add', '{"side":"graph"}', '--url', url);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /action\.type/);
    assert.equal(run('faults', 'clear', '--url', url).status, 0);
    assert.match(run('faults', 'list', '--url', url).stdout, /no fault rules/);
  });

  test('recording download and export write files, reporting progress', async () => {
    const { mkdtempSync, readFileSync, statSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'gc-cli-'));
    const tok = run('token', '--url', url).stdout.trim();
    const auth = { authorization: `Bearer ${tok}`, 'content-type': 'application/json' };
    const created = await (await fetch(`${url}/beta/communications/calls`, { method: 'POST', headers: auth, body: JSON.stringify({
      callbackUri: 'http://127.0.0.1:1/cb', requestedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      targets: [{ identity: { user: { id: 'u-1', displayName: 'Ann' } } }] }) })).json() as { id: string };
    for (let i = 0; i < 100; i++) {
      if (((await (await fetch(`${url}/beta/communications/calls/${created.id}`, { headers: auth })).json()) as { state: string }).state === 'established') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await fetch(`${url}/beta/communications/calls/${created.id}/startRecording`, { method: 'POST', headers: auth, body: '{}' });
    await new Promise((r) => setTimeout(r, 500));
    await fetch(`${url}/beta/communications/calls/${created.id}/stopRecording`, { method: 'POST', headers: auth, body: '{}' });
    let recId = '';
    for (let i = 0; i < 100 && !recId; i++) {
      const l = (await (await fetch(`${url}/_emulator/calls/${created.id}/recordings`)).json()) as { value: Array<{ id: string }> };
      recId = l.value[0]?.id ?? '';
      await new Promise((r) => setTimeout(r, 50));
    }
    const out = join(dir, 'rec.wav');
    const d = run('recording', 'download', recId, '--out', out, '--url', url);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /recording [0-9a-f]{8}: [\d.]+ of [\d.]+ MiB 100%/);
    assert.equal(readFileSync(out).toString('ascii', 0, 4), 'RIFF');
    const har = join(dir, 'requests.har');
    const e = run('export', 'requests', '--out', har, '--call', created.id, '--url', url);
    assert.equal(e.status, 0, e.stderr);
    assert.match(e.stderr, /requests journal: /);
    assert.ok(JSON.parse(readFileSync(har, 'utf8')).log.entries.length >= 3);
    assert.ok(statSync(har).size > 0);
    const missing = run('recording', 'download', 'nope', '--url', url, '--out', join(dir, 'x.wav'));
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /404/);
  });

  test('--help on every command; clear one-line errors with a non-zero exit', () => {
    for (const args of [['--help'], ['serve', '--help'], ['token', '--help'], ['call', 'incoming', '--help'], ['journal', '--help'], ['faults', '--help'], ['recording', '--help'], ['export', '--help']]) {
      const r = run(...args);
      assert.equal(r.status, 0, args.join(' '));
      assert.match(r.stdout, /usage: graph-calls/);
    }
    for (const [args, message] of [
      [['frob'], /unknown command 'frob'/],
      [['token', '--bogus'], /unknown option --bogus/],
      [['journal', '--top', '0', '--url', url], /--top must be/],
      [['token', '--url', 'http://127.0.0.1:1'], /cannot reach graph-calls/],
      [['token', '--app', '99999999-9999-4999-8999-999999999999', '--secret', 'x', '--url', url], /AADSTS700016/],
    ] as const) {
      const r = run(...args);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
  });
});
