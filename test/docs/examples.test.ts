import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, tempDataDir, type ServerHarness } from '../support/harness.js';
import { startCli, type RunningCli } from '../support/cli-run.js';
import { cliArgs } from '../support/node-script.js';

/**
 * Every example in README.md and docs/*.md runs as written. A fenced block whose info string carries
 * `example` is run (sh with bash -e -o pipefail, ts with tsx after a type-check) against a started
 * graph-calls, with `bot` also against a running `graph-calls bot --answer`; `no-run` marks commands that
 * start things (npm start) and are shown only. Attributes: `clock=virtual`, `https` (server options),
 * `http-errors` (the block shows error answers: curl may see 4xx), `expect="TEXT"` (stdout must hold it).
 * The one change made to a block is the address: 127.0.0.1:4000 and 127.0.0.1:3978 become the ports the
 * test's server and bot listen on (GRAPH_CALLS_URL points `npx graph-calls` there too); curl runs with
 * --fail-with-body, so an error answer fails the block unless it is marked `http-errors`; and
 * `npx graph-calls` runs bin/graph-calls.js directly, which is what npx resolves it to here, without npm's
 * own start-up (under `npm test`, that bin bundled with src/cli.ts: test/support/node-script.ts cliArgs). The type-check runs in a child process (tsc) while the examples run.
 */

const ROOT = resolve(import.meta.dirname, '..', '..');
const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => join('docs', f))];
const CODE_LANGS = new Set(['sh', 'bash', 'shell', 'ts', 'typescript', 'js', 'javascript']);

interface Example {
  where: string;
  lang: string;
  attrs: Map<string, string | true>;
  code: string;
}

function attributesOf(info: string): { lang: string; attrs: Map<string, string | true> } {
  const attrs = new Map<string, string | true>();
  const [lang = '', ...rest] = info.match(/[^\s"=]+="[^"]*"|\S+/g) ?? [];
  for (const word of rest) {
    const m = /^([^=]+)=(?:"([^"]*)"|(.*))$/.exec(word);
    if (m) attrs.set(m[1]!, m[2] ?? m[3]!);
    else attrs.set(word, true);
  }
  return { lang, attrs };
}

function blocks(): Example[] {
  const out: Example[] = [];
  for (const file of FILES) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const open = /^```(.*)$/.exec(lines[i]!);
      if (!open) continue;
      const start = i;
      const body: string[] = [];
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i]!); i++) body.push(lines[i]!);
      out.push({ where: `${file}:${start + 1}`, ...attributesOf(open[1]!.trim()), code: `${body.join('\n')}\n` });
    }
  }
  return out;
}

const ALL = blocks();
const EXAMPLES = ALL.filter((b) => b.attrs.has('example'));

interface Stage {
  server: ServerHarness;
  bot: RunningCli | null;
  botHost: string;
  env: Record<string, string>;
  cleanup(): Promise<void>;
}

/** One server (and bot) per combination of server options the examples ask for. */
async function stageFor(attrs: Map<string, string | true>): Promise<Stage> {
  const https = attrs.has('https');
  const data = tempDataDir();
  const server = await startServer({ clock: attrs.get('clock') === 'virtual' ? 'virtual' : 'real', https, dataDir: data.dir, answerDelayMs: 300, operationDelayMs: 200 });
  const url = https ? server.url.replace(/^http:/, 'https:') : server.url;
  const env: Record<string, string> = { GRAPH_CALLS_URL: url, GRAPH_CALLS_DATA: data.dir };
  if (https) env.NODE_EXTRA_CA_CERTS = join(data.dir, 'tls', 'ca.pem');
  const bot = attrs.has('bot') || https ? startCli(url, ['bot', '--port', '0', '--answer'], { env }) : null;
  const botHost = bot ? /listening on http:\/\/(127\.0\.0\.1:\d+)/.exec(await bot.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/))![1]! : '127.0.0.1:3978';
  return {
    server: { ...server, url }, bot, botHost, env,
    async cleanup() {
      await bot?.stop();
      await server.close();
      data.cleanup();
    },
  };
}

const addressed = (code: string, stage: Stage) =>
  code.replaceAll('127.0.0.1:4000', new URL(stage.server.url).host).replaceAll('127.0.0.1:3978', stage.botHost);

function run(cmd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += String(d); });
    child.stderr.on('data', (d) => { stderr += String(d); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('exit', (code) => { clearTimeout(timer); done({ code, stdout, stderr }); });
  });
}

// The servers (one per group) run side by side; each group's examples run one after another.
describe('README and docs examples', { concurrency: true }, () => {
  const scratch = join(ROOT, 'test-artifacts', 'examples');
  const shims = mkdtempSync(join(tmpdir(), 'graph-calls-examples-'));
  let path = '';
  let strictPath = '';
  let typeCheck: Promise<{ code: number | null; stdout: string; stderr: string }>;

  const shim = (dir: string, name: string, text: string) => {
    mkdirSync(join(shims, dir), { recursive: true });
    writeFileSync(join(shims, dir, name), text);
    chmodSync(join(shims, dir, name), 0o755);
  };
  const tsFiles = EXAMPLES.filter((b) => b.lang === 'ts').map((b) => ({ b, file: join(scratch, `${b.where.replace(/[^a-z0-9]+/gi, '-')}.ts`) }));

  before(() => {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const which = (cmd: string) => execFileSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).trim();
    const graphCalls = [process.execPath, ...cliArgs()].map((a) => `"${a}"`).join(' ');
    shim('bin', 'npx', `#!/bin/sh\nif [ "$1" = graph-calls ]; then shift; exec ${graphCalls} "$@"; fi\nexec ${which('npx')} "$@"\n`);
    // curl that fails on an HTTP error answer, so a 4xx/5xx in an example is a failed example.
    shim('strict', 'curl', `#!/bin/sh\nexec ${which('curl')} --fail-with-body "$@"\n`);
    path = `${join(shims, 'bin')}:${process.env.PATH}`;
    strictPath = `${join(shims, 'strict')}:${path}`;
    // The blocks as written (not re-addressed), checked with the project's compiler options.
    for (const { b, file } of tsFiles) writeFileSync(file.replace(/\.ts$/, '.check.ts'), b.code);
    const config = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as { compilerOptions: object };
    writeFileSync(join(scratch, 'tsconfig.json'), JSON.stringify({ compilerOptions: config.compilerOptions, include: ['*.check.ts'] }));
    typeCheck = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(scratch, 'tsconfig.json')], {});
  });
  after(() => rmSync(shims, { recursive: true, force: true }));

  test('every sh and ts block is marked example (run here) or no-run (shown only)', () => {
    const unmarked = ALL.filter((b) => CODE_LANGS.has(b.lang) && !b.attrs.has('example') && !b.attrs.has('no-run')).map((b) => b.where);
    assert.deepEqual(unmarked, []);
    assert.ok(EXAMPLES.filter((b) => b.lang === 'sh').length >= 4, 'the shell walkthroughs are found');
    assert.ok(EXAMPLES.filter((b) => b.lang === 'ts').length >= 2, 'the TypeScript snippets are found');
  });

  test('the TypeScript examples type-check (tsconfig.json, strict)', async () => {
    const r = await typeCheck;
    const named = (r.stdout + r.stderr).replace(/[\w-]+\.check\.ts/g, (f) => tsFiles.find((t) => t.file.endsWith(f.replace('.check', '')))?.b.where ?? f);
    assert.equal(r.code, 0, `tsc found problems (line numbers count from the block's first line):\n${named}`);
  });

  const groups = new Map<string, Example[]>();
  for (const b of EXAMPLES) {
    const key = `clock=${b.attrs.get('clock') ?? 'real'} https=${b.attrs.has('https')}`;
    groups.set(key, [...(groups.get(key) ?? []), b]);
  }
  for (const [key, examples] of groups) {
    describe(`against a graph-calls with ${key}`, { concurrency: false }, () => {
      let stage: Stage;
      before(async () => { stage = await stageFor(examples[0]!.attrs); });
      after(() => stage.cleanup());
      for (const b of examples) {
        // `needs=CMD`: the example uses a Debian package (espeak-ng for speech); .ci/run installs it.
        const needs = b.attrs.get('needs');
        const missing = typeof needs === 'string' && spawnSync('sh', ['-c', `command -v ${needs}`]).status !== 0;
        test(`${b.where} (${b.lang}) runs as written`, { skip: missing && `${needs} is not installed (apt-get install ${needs}; .ci/run does)` }, async () => {
          let r;
          if (b.lang === 'ts') {
            const file = tsFiles.find((f) => f.b === b)!.file;
            writeFileSync(file, addressed(b.code, stage));
            r = await run(process.execPath, ['--import', 'tsx', file], stage.env);
          } else {
            const env = { ...stage.env, PATH: b.attrs.has('http-errors') ? path : strictPath };
            r = await run('bash', ['-e', '-o', 'pipefail', '-c', addressed(b.code, stage)], env);
          }
          assert.equal(r.code, 0, `${b.where} failed (exit ${r.code}):\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
          const expect = b.attrs.get('expect');
          if (typeof expect === 'string') assert.ok(r.stdout.includes(expect), `${b.where}: stdout lacks '${expect}':\n${r.stdout}`);
        });
      }
    });
  }
});
