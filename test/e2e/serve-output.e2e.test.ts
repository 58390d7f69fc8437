import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { tempDataDir } from '../support/harness.js';
import { serverArgs } from '../support/node-script.js';

/** What `npm start` prints and how it exits: the ready line alone on stdout (design.md §3), status 2 for configuration errors. */

interface Ran { code: number | null; stdout: string; stderr: string }

/**
 * `npm start ARGS` (tsx, the .ts sources), `graph-calls serve ARGS` (`bin`), or, with `compiled`, the same
 * src/main.ts as the other process tests start it (test/support/node-script.ts: bundled under `npm test`,
 * a quarter of tsx's CPU); for checks of what the server itself prints, not of how it is launched.
 */
function runMain(args: string[], opts: { untilStdout?: RegExp; then?: (out: Ran) => Promise<void>; bin?: boolean; compiled?: boolean } = {}): Promise<Ran> {
  return new Promise((resolve) => {
    const argv = opts.bin ? ['bin/graph-calls.js', 'serve', ...args] : opts.compiled ? [...serverArgs(), ...args] : ['--import', 'tsx', 'src/main.ts', ...args];
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Ran = { code: null, stdout: '', stderr: '' };
    let acted = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.stdout.on('data', (d) => {
      out.stdout += String(d);
      if (opts.untilStdout && !acted && opts.untilStdout.test(out.stdout)) {
        acted = true;
        void (opts.then?.(out) ?? Promise.resolve()).finally(() => child.kill('SIGTERM'));
      }
    });
    child.stderr.on('data', (d) => { out.stderr += String(d); });
    child.once('exit', (code) => { clearTimeout(timer); out.code = code; resolve(out); });
  });
}

describe('npm start: output and exit status', () => {
  const data = tempDataDir();
  after(() => data.cleanup());

  test('npm start -- --help prints the usage and exits 0', async () => {
    const r = await new Promise<Ran>((resolve) => {
      const child = spawn('npm', ['start', '--', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Ran = { code: null, stdout: '', stderr: '' };
      child.stdout.on('data', (d) => { out.stdout += String(d); });
      child.stderr.on('data', (d) => { out.stderr += String(d); });
      child.once('exit', (code) => { out.code = code; resolve(out); });
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /usage: graph-calls serve \[--port N\]/);
    assert.match(r.stdout, /docs\/configuration\.md/);
  });

  test('every configuration error is one report on stderr and exit status 2', async () => {
    const bad = join(data.dir, 'faults.json');
    writeFileSync(bad, '[{"side":"graph"}]');
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = String((busy.address() as { port: number }).port);
    try {
      // One as `npm start` runs it; the others as the other process tests start the server.
      const [flag, missing, faults, inUse] = await Promise.all([
        runMain(['--port', 'x']),
        runMain(['--in-memory', '--apps', join(data.dir, 'no-such-apps.json')], { compiled: true }),
        runMain(['--in-memory', '--faults', bad], { compiled: true }),
        runMain(['--in-memory', '--port', port], { compiled: true }),
      ]);
      for (const r of [flag, missing, faults, inUse]) {
        assert.equal(r.code, 2, r.stderr);
        assert.equal(r.stdout, '', 'nothing on stdout');
      }
      assert.match(flag.stderr, /--port must be a non-negative integer, got 'x'/);
      assert.match(missing.stderr, /--apps: ENOENT: no such file or directory, open '.*no-such-apps\.json'/);
      assert.match(faults.stderr, /--faults: .*faults\.json\[0\]/);
      assert.match(inUse.stderr, new RegExp(`127\\.0\\.0\\.1:${port} is in use .*choose another --port`));
    } finally {
      busy.close();
    }
  });

  test('--log-level info: stdout holds exactly the ready line; logs and the dashboard URL go to stderr', async () => {
    const r = await runMain(['--in-memory', '--port', '0', '--log-level', 'info'], {
      untilStdout: /\n/,
      then: async (out) => {
        const url = /^graph-calls listening on (\S+)$/m.exec(out.stdout)![1]!;
        assert.equal((await fetch(`${url}/_emulator/health`)).status, 200);
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const ready = /^graph-calls listening on (http:\/\/127\.0\.0\.1:\d+)\n$/.exec(r.stdout);
    assert.ok(ready, `stdout is exactly the ready line: ${JSON.stringify(r.stdout)}`);
    assert.match(r.stderr, new RegExp(`^graph-calls: dashboard at ${ready[1]!.replace(/[.]/g, '\\.')}/_emulator/ui$`, 'm'));
    assert.match(r.stderr, /"msg":"incoming request"/);
  });

  test('graph-calls serve (the bin) starts the same server and stops cleanly on SIGTERM', async () => {
    const r = await runMain(['--in-memory', '--port', '0'], {
      bin: true,
      untilStdout: /\n/,
      then: async (out) => {
        const url = /^graph-calls listening on (\S+)$/m.exec(out.stdout)![1]!;
        assert.equal((await fetch(`${url}/_emulator/health`)).status, 200);
      },
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^graph-calls listening on http:\/\/127\.0\.0\.1:\d+\n$/);
  });
});
