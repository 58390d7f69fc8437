import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { ensureLocalCa } from '../../src/tls/local-ca.js';
import { tempDataDir } from '../support/harness.js';
import { moduleFor } from '../support/node-script.js';

/**
 * The sender trusts node's CA store, NODE_EXTRA_CA_CERTS included, as fetch did: a bot serving https with
 * a local CA is reached when the CA is trusted, and refused (a retryable TLS error) when it is not. node reads
 * NODE_EXTRA_CA_CERTS once at start, so each case runs the sender in a child process.
 */
const SENDER = moduleFor(new URL('../../src/notifications/webhook.sender.ts', import.meta.url).href);
const POLICY = moduleFor(new URL('../../src/domain/callback-uri.ts', import.meta.url).href);
const SCRIPT = `
const { httpSender } = await import(${JSON.stringify(SENDER.url)});
const { STRICT_CALLBACKS } = await import(${JSON.stringify(POLICY.url)});
const sender = httpSender({ callbacks: STRICT_CALLBACKS, maxResponseBytes: 1024 });
const out = [];
for (const url of process.argv.slice(1)) {
  try { out.push({ status: (await sender.post(url, { 'content-type': 'application/json' }, '{}', 3000)).status }); }
  catch (e) { out.push({ error: e.message, final: e.final }); }
}
sender.close();
process.stdout.write(JSON.stringify(out));
`;

let server: Server;
let urls: string[];
let caCertPath: string;
const data = tempDataDir();

before(async () => {
  const ca = ensureLocalCa(data.dir);
  caCertPath = ca.caCertPath;
  server = createServer({ cert: ca.cert, key: ca.key }, (req, res) => { req.resume(); req.on('end', () => res.writeHead(202).end()); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  urls = [`https://localhost:${port}/cb`, `https://127.0.0.1:${port}/cb`];
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  data.cleanup();
});

function runSender(extraCa: string): Promise<Array<{ status?: number; error?: string; final?: boolean }>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...SENDER.nodeArgs, '--input-type=module', '-e', SCRIPT, ...urls], { env: { ...process.env, NODE_EXTRA_CA_CERTS: extraCa } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', () => {
      try { resolve(JSON.parse(out)); } catch { reject(new Error(`sender child: ${out} ${err}`)); }
    });
  });
}

test('https to a bot with a local CA: delivered when NODE_EXTRA_CA_CERTS trusts it (by name and by address)', async () => {
  assert.deepEqual(await runSender(caCertPath), [{ status: 202 }, { status: 202 }]);
});

test('https to a bot whose CA is not trusted: a TLS error, retried like any network error (not final)', async () => {
  const got = await runSender('');
  assert.equal(got.length, 2);
  for (const r of got) {
    assert.equal(r.error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(r.final, false);
  }
});
