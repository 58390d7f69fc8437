import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import * as jose from 'jose';
import { CLIENT_ID, DEV_APP, TENANT, tempDataDir } from '../support/harness.js';
import { serverArgs } from '../support/node-script.js';

describe('https: official clients unchanged against a local CA', () => {
  const data = tempDataDir();
  let server: ChildProcess;
  let url: string;
  let stderr = '';

  before(async () => {
    server = spawn(process.execPath, [...serverArgs(), '--https', '--port', '0', '--in-memory', '--data', data.dir, '--answer-delay-ms', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    server.stderr!.on('data', (d) => { stderr += String(d); });
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ready line: ${stderr}`)), 60_000);
      createInterface({ input: server.stdout! }).on('line', (line) => {
        const m = /^graph-calls listening on (https:\/\/\S+)$/.exec(line);
        if (m) { clearTimeout(timer); resolve(m[1]!); }
      });
    });
  });
  after(() => {
    server.kill('SIGTERM');
    data.cleanup();
  });

  test('the CA and a certificate for localhost, 127.0.0.1 and ::1 live in the data directory; the trust hint is printed', () => {
    const ca = join(data.dir, 'tls', 'ca.pem');
    assert.ok(existsSync(ca));
    assert.match(stderr, new RegExp(`NODE_EXTRA_CA_CERTS=${ca.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const text = spawnSync('openssl', ['x509', '-in', join(data.dir, 'tls', 'server.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    if (text.status === 0) assert.match(text.stdout, /DNS:localhost.*IP Address:127\.0\.0\.1.*IP Address:0:0:0:0:0:0:0:1/s);
  });

  test('MSAL, @azure/identity and Client.init({ customHosts, authProvider }) run the recording flow over https', () => {
    const run = spawnSync(process.execPath, ['test/fixtures/https-clients.mjs', url, TENANT, CLIENT_ID, DEV_APP.clientSecret], {
      encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_EXTRA_CA_CERTS: join(data.dir, 'tls', 'ca.pem') },
    });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    for (const t of [out.msalToken, out.identityToken]) {
      const claims = jose.decodeJwt(t);
      assert.equal(claims.appid, CLIENT_ID);
      assert.equal(claims.aud, 'https://graph.microsoft.com');
    }
    assert.equal(out.startStatus, 202);
    assert.match(out.startLocation, new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/beta/communications/calls/[0-9a-f-]{36}/operations/[0-9a-f-]{36}$`));
    assert.equal(out.operation['@odata.type'], '#microsoft.graph.stopRecordingOperation');
    assert.equal(out.operation.clientContext, 'https-ctx');
    assert.equal(out.operation.status, 'completed');
  });

  test('without the CA, clients refuse the certificate (the trust step matters)', () => {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    const r = spawnSync(process.execPath, ['-e', `fetch(${JSON.stringify(`${url}/_emulator/health`)}).then(() => process.exit(0), (e) => { console.error(e.cause?.code); process.exit(3); })`], { encoding: 'utf8', env, timeout: 20_000 });
    assert.equal(r.status, 3);
    assert.match(r.stderr, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/);
  });
});
