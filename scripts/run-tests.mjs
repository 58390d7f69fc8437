#!/usr/bin/env node
// Runs every test file under test/ through node:test, several files at once.
//
// Node 20 does not expand globs, and a bare directory finds no .ts files (the run would pass with zero
// tests), so the files are listed here. A slow file runs in a process of its own; quick files of one
// directory share one ("Groups" below). A bounded pool keeps GRAPH_CALLS_TEST_CONCURRENCY processes going
// (default below). Much of a file's time is waiting (processes starting, sockets, PostgreSQL, a browser),
// so more processes than cores pays. Slow ones start first, so the longest one does not start last. Each
// process's output is printed whole when it ends (never interleaved), then a table of the slowest and one
// closing summary. The run fails when any file fails, when a process is still running after
// GRAPH_CALLS_TEST_FILE_TIMEOUT_S seconds, or when no test ran at all; the files of a failed process then
// run again alone, with source maps ("Failures" below).
//
// Compiled first: on Node 20 every module loaded under a loader hook (tsx's, or any) costs a round trip to
// the hooks thread, and a test file loads ~1,000 modules (typebox alone is 700), which tripled the CPU a file
// spent before its first test (~3 s against ~1 s). So src/ and test/ are transpiled once per run by esbuild
// (what tsx itself transpiles with, reading the same tsconfig) into a scratch tree beside the real one, and
// the test processes run plain JavaScript with source maps. The scratch tree links every other file and
// folder back to the repository (README.md, package.json, node_modules, the .ts sources themselves), so
// paths taken from import.meta.url still resolve; the test processes' working directory is the repository.
// Then each test file is also bundled (one file plus shared chunks, see "Bundles" below), and so are the
// server and the CLI that tests start as processes of their own; a test process runs its file's bundle,
// and test/support/node-script.ts starts the server and CLI bundles (tests marked `viaTsx`, and those that
// run `npm start` or bin/graph-calls.js, run the real sources under tsx). GRAPH_CALLS_TEST_TSX=1 skips all
// of it and runs the .ts files under tsx, as before; so does a test file containing the line
// `// test-runner: tsx` (for a test that must load .ts in its own process).
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

function find(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.ts') ? [p] : [];
  });
}

/**
 * Roughly how long each slow file takes in a full run (seconds, measured on the 2-core machine); the
 * order units start in depends on it, and a file of ALONE_SECONDS or more runs in a process of its own
 * (see "Groups" below). A file not listed counts as quick (1 s).
 */
const KNOWN_SECONDS = {
  'test/scale/multi-instance.test.ts': 25,
  'test/resilience/flood.test.ts': 16,
  'test/e2e/serve.e2e.test.ts': 15,
  'test/docs/examples.test.ts': 15,
  'test/contract/sqlite.storage.test.ts': 15,
  'test/scale/multi-instance-takeover.test.ts': 14,
  'test/e2e/serve-output.e2e.test.ts': 12,
  'test/resilience/overload.test.ts': 11,
  'test/contract/postgres.storage.test.ts': 10,
  'test/e2e/dashboard.e2e.test.ts': 8,
  'test/recordings/recordings.test.ts': 5,
  'test/pipeline/change-notifications.test.ts': 4,
  'test/notifications/ssrf.test.ts': 4,
  'test/api/control-plane-truth.api.test.ts': 4,
  'test/pipeline/transcripts.test.ts': 4,
  'test/e2e/https.e2e.test.ts': 4,
  'test/notifications/delivery-faults.test.ts': 3,
  'test/recordings/record-response-durability.test.ts': 3,
  'test/teams/compliance-recording.test.ts': 3,
};
const ALONE_SECONDS = 5;
const secondsOf = (file) => KNOWN_SECONDS[file] ?? 1;

const only = process.argv.slice(2);
const files = (only.length ? only : find('test')).map((f) => f.replaceAll('\\', '/')).sort();
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const ROOT = process.cwd();
const TSX_MARK = /^\/\/ test-runner: tsx$/m;

/**
 * The scratch tree (see the top): compiled .js for every .ts under src/ and test/, a link for everything
 * else. Returns its root, or null when it cannot be built (then the run falls back to tsx).
 */
async function compileTree() {
  if (process.env.GRAPH_CALLS_TEST_TSX === '1') return null;
  let esbuild;
  try {
    // tsx's own transpiler (a dependency of tsx, so always installed with it).
    esbuild = await import('esbuild');
  } catch (err) {
    console.error(`tests run under tsx: esbuild could not be loaded (${err.message})`);
    return null;
  }
  const out = mkdtempSync(join(tmpdir(), 'graph-calls-tests-'));
  const sources = [];
  const mirror = (dir) => {
    mkdirSync(join(out, dir), { recursive: true });
    for (const name of readdirSync(join(ROOT, dir))) {
      const rel = join(dir, name);
      if (lstatSync(join(ROOT, rel)).isDirectory()) { mirror(rel); continue; }
      symlinkSync(join(ROOT, rel), join(out, rel));
      if (name.endsWith('.ts') && !name.endsWith('.d.ts')) sources.push(rel);
    }
  };
  for (const name of readdirSync(ROOT)) {
    if (name === '.git') continue;
    if (name === 'src' || name === 'test') mirror(name);
    else symlinkSync(join(ROOT, name), join(out, name));
  }
  // The bundles (see below), built alongside the tree; without them the tree serves.
  const bundles = Promise.all([
    serverBundle(esbuild, out).catch((err) => console.error(`spawned servers run the compiled tree: bundling src/main.ts failed (${err.message})`)),
    cliBundle(esbuild, out).catch((err) => console.error(`the docs examples run bin/graph-calls.js: bundling it failed (${err.message})`)),
    testBundles(esbuild, out).catch((err) => console.error(`test files run from the compiled tree: bundling them failed (${err.message})`)),
  ]);
  try {
    await esbuild.build({
      entryPoints: sources.map((rel) => join(ROOT, rel)), outbase: ROOT, outdir: out, outExtension: { '.js': '.js' },
      format: 'esm', platform: 'node', target: 'node20', sourcemap: 'inline', sourcesContent: false, logLevel: 'silent',
    });
  } catch (err) {
    await bundles;
    rmSync(out, { recursive: true, force: true });
    console.error(`tests run under tsx: compiling failed (${err.message})`);
    return null;
  }
  await bundles;
  return out;
}

/*
 * Bundles. Loading ~1,000 modules one by one is most of what a process spends before its first test
 * (typebox alone is 700 files): the compiled tree's test file ~0.6 s of CPU to import the harness, a
 * bundle ~0.2 s. So each test file is also bundled, with the project's own modules and its runtime
 * dependencies (package.json "dependencies"; split into shared chunks, so a module still runs once per
 * process), and the server that tests start as a process of its own is one file too (1.8 s of CPU from
 * start to the ready line before, 0.9 s bundled; most of the rest is fastify compiling the route schemas).
 * Left out and loaded as usual: native addons (better-sqlite3, optional pg-native), tsx, the
 * devDependencies (the official Graph clients, playwright, typescript: test tools, each loaded by the few
 * files that use it), and @fastify/ajv-compiler (test/support/shared-validators.ts replaces it in the
 * test processes). Every project module's `import.meta.url` (and dirname, filename) becomes its compiled
 * twin's, so what a module finds beside itself (the dashboard page, package.json, fixtures, the paths
 * test/support/node-script.ts maps) is found as in the tree.
 */
const RUNTIME_DEPENDENCIES = new Set(Object.keys(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).dependencies ?? {}));
const NOT_BUNDLED = new Set(['better-sqlite3', 'pg-native', 'tsx']);
const SERVER_BUNDLE = 'server.bundle.js';
const CLI_BUNDLE = '.cli';
const TEST_BUNDLES = '.bundled';

function bundlePlugin(out) {
  const own = (path) => ['src', 'test', 'bin'].some((dir) => path.startsWith(join(ROOT, dir) + sep));
  return {
    name: 'graph-calls-tests',
    setup(build) {
      // bin/graph-calls.js registers tsx's loader to import src/cli.ts; bundled, nothing is left for it to load.
      build.onResolve({ filter: /^tsx\/esm\/api$/ }, () => ({ path: 'tsx-not-needed', namespace: 'graph-calls-tests' }));
      build.onLoad({ filter: /^tsx-not-needed$/, namespace: 'graph-calls-tests' }, () => ({ contents: 'export function register() {}', loader: 'js' }));
      build.onResolve({ filter: /^@fastify\/ajv-compiler$/ }, () => ({ external: true }));
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.path.startsWith('node:')) return { external: true };
        // A bundled package brings what it imports; the project's own imports decide what is bundled.
        if (!own(args.importer)) return undefined;
        const pkg = args.path.split('/').slice(0, args.path.startsWith('@') ? 2 : 1).join('/');
        return RUNTIME_DEPENDENCIES.has(pkg) && !NOT_BUNDLED.has(pkg) ? undefined : { external: true };
      });
      // Any project file (scripts/*.mjs too: one that runs itself when it is the entry point must not
      // take a bundle that inlines it for itself).
      build.onLoad({ filter: /\.[cm]?[jt]s$/ }, (args) => {
        if (!args.path.startsWith(ROOT + sep) || args.path.includes(`${sep}node_modules${sep}`)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        if (!text.includes('import.meta')) return undefined;
        const twin = join(out, relative(ROOT, args.path)).replace(/\.ts$/, '.js');
        const contents = text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(twin).href))
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(twin))).replaceAll('import.meta.filename', JSON.stringify(twin));
        return { contents, loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
      });
    },
  };
}

const BUNDLE_OPTIONS = {
  bundle: true, format: 'esm', platform: 'node', target: 'node20', sourcemap: 'linked', sourcesContent: false, logLevel: 'silent',
  // The CommonJS packages inside (fastify, pg, pino…) call require() for node's modules and the externals.
  banner: { js: "import { createRequire as __gcRequire } from 'node:module'; const require = __gcRequire(import.meta.url);" },
};

async function serverBundle(esbuild, out) {
  await esbuild.build({ ...BUNDLE_OPTIONS, entryPoints: [join(ROOT, 'src', 'main.ts')], outfile: join(out, SERVER_BUNDLE), plugins: [bundlePlugin(out)] });
}

/**
 * bin/graph-calls.js as one file, for the many `npx graph-calls` commands of the docs examples
 * (test/support/node-script.ts cliArgs): the same bin around the same src/cli.ts, without tsx's loader
 * (0.4 s of CPU a command under tsx, 0.07 s bundled). cli.e2e and serve-output run the real bin.
 */
async function cliBundle(esbuild, out) {
  // Split, so a command other than `serve` does not parse the server's code (0.07 s a command, not 0.3).
  await esbuild.build({ ...BUNDLE_OPTIONS, entryPoints: [join(ROOT, 'bin', 'graph-calls.js')], outdir: join(out, CLI_BUNDLE), splitting: true, plugins: [bundlePlugin(out)] });
}

/** The test files this run runs (not those marked for tsx), under TEST_BUNDLES in the scratch tree. */
async function testBundles(esbuild, out) {
  const entries = files.filter((f) => !TSX_MARK.test(readFileSync(f, 'utf8'))).map((f) => resolve(f));
  if (entries.length === 0) return;
  await esbuild.build({
    ...BUNDLE_OPTIONS, entryPoints: entries, outbase: ROOT, outdir: join(out, TEST_BUNDLES), splitting: true,
    chunkNames: '_chunks/[name]-[hash]', plugins: [bundlePlugin(out)],
  });
}

const tBuild = Date.now();
const compiled = await compileTree();
process.on('exit', () => { if (compiled) rmSync(compiled, { recursive: true, force: true }); });

/** The bundle a file runs as, or undefined (not bundled: the compiled twin or tsx serve). */
function bundleOf(file) {
  const bundled = compiled && join(compiled, TEST_BUNDLES, relative(ROOT, resolve(file))).replace(/\.ts$/, '.js');
  return bundled && existsSync(bundled) ? bundled : undefined;
}

/**
 * How a file runs: its bundle or compiled twin, as plain JavaScript run directly (node:test runs a file's
 * tests in-process and reports them; under `node --test` each file would cost a second process), or the
 * .ts under tsx. `maps`: with source maps, which node parses whole as it loads a bundle (~0.15 s of CPU a
 * process), so only a failed file's second run has them (see "Failures" below).
 */
function commandFor(file, maps = false) {
  const m = maps ? ['--enable-source-maps'] : [];
  const bundled = bundleOf(file);
  if (bundled) return [...m, ...reporter, bundled];
  const twin = compiled && join(compiled, relative(ROOT, resolve(file))).replace(/\.ts$/, '.js');
  // A file outside src/ and test/ has no twin.
  if (!twin || !existsSync(twin) || TSX_MARK.test(readFileSync(file, 'utf8'))) return ['--import', 'tsx', '--test', ...reporter, file];
  return [...m, ...reporter, twin];
}

/*
 * Groups. A quick file spends most of its CPU starting: node, its bundle, the first app's compiled
 * routes and schemas while the code is still cold (~0.4 s of ~0.7). So quick files of one directory run
 * in one process, up to GROUP_SIZE at a time, imported one after the other by a generated entry module:
 * their tests register in order and node:test runs them in order, as it would one file's (measured: the
 * 13 quick files of test/api 4.8 s of CPU together, 10.8 s apart). A file runs alone when it is one of
 * the slow ones above (it waits more than it computes, and a group runs its files one after another),
 * when it has top-level before/after hooks (they would run for the whole group), when it must run under
 * tsx, when it says `// test-runner: alone`, and when GRAPH_CALLS_TEST_GROUPS=0. A group holds up to
 * GROUP_SIZE files and GROUP_SECONDS of known time.
 */
const GROUP_SIZE = 8;
const GROUP_SECONDS = 12;
const ALONE_MARK = /^\/\/ test-runner: alone$/m;
const TOP_LEVEL_HOOKS = /^(before|after)\(/m;

function unitsOf(list) {
  const alone = [];
  const byDir = new Map();
  for (const file of list) {
    const text = readFileSync(file, 'utf8');
    const solo = process.env.GRAPH_CALLS_TEST_GROUPS === '0' || !bundleOf(file) || secondsOf(file) >= ALONE_SECONDS
      || TSX_MARK.test(text) || ALONE_MARK.test(text) || TOP_LEVEL_HOOKS.test(text);
    if (solo) alone.push({ name: file, files: [file] });
    else byDir.set(dirname(file), [...(byDir.get(dirname(file)) ?? []), file]);
  }
  const units = [...alone];
  for (const [dir, members] of byDir) {
    const total = members.reduce((n, f) => n + secondsOf(f), 0);
    const parts = Math.max(Math.ceil(members.length / GROUP_SIZE), Math.ceil(total / GROUP_SECONDS));
    // Dealt out longest first, each to the part with the least so far.
    const chunks = Array.from({ length: parts }, () => ({ seconds: 0, files: [] }));
    for (const f of [...members].sort((x, y) => secondsOf(y) - secondsOf(x))) {
      const c = chunks.reduce((m, c) => (c.seconds < m.seconds || (c.seconds === m.seconds && c.files.length < m.files.length) ? c : m));
      c.seconds += secondsOf(f);
      c.files.push(f);
    }
    for (let i = 0; i < parts; i++) {
      const chunk = chunks[i].files.sort();
      if (chunk.length === 1) { units.push({ name: chunk[0], files: chunk }); continue; }
      const name = parts > 1 ? `${dir} (${i + 1}/${parts})` : dir;
      const entry = join(compiled, TEST_BUNDLES, '_groups', `${dir.replaceAll('/', '_')}-${i + 1}.mjs`);
      mkdirSync(dirname(entry), { recursive: true });
      writeFileSync(entry, chunk.map((f) => `await import(${JSON.stringify(pathToFileURL(bundleOf(f)).href)});\n`).join(''));
      units.push({ name, files: chunk, entry });
    }
  }
  return units;
}

const argsFor = (unit, maps) => (unit.entry ? [...(maps ? ['--enable-source-maps'] : []), ...reporter, unit.entry] : commandFor(unit.files[0], maps));

// What every test process gets: the scratch tree, so the processes a test starts can run compiled
// sources too (test/support/node-script.ts), and colours only on a terminal.
const childEnv = { ...process.env, FORCE_COLOR: process.env.CI ? '0' : process.env.FORCE_COLOR ?? (process.stdout.isTTY ? '1' : '0') };
if (compiled) childEnv.GC_TEST_BUILD_DIR = compiled;
else delete childEnv.GC_TEST_BUILD_DIR;
delete childEnv.GC_TEST_SOURCE_MAPS;

const concurrency = Math.max(1, Number(process.env.GRAPH_CALLS_TEST_CONCURRENCY) || Math.max(2, availableParallelism() * 2));
const fileTimeoutMs = (Number(process.env.GRAPH_CALLS_TEST_FILE_TIMEOUT_S) || 900) * 1000;
// The spec reporter reads best in a terminal and in CI logs alike; TAP is what a non-TTY gets by default.
const reporter = process.env.CI ? ['--test-reporter=tap'] : ['--test-reporter=spec'];

/** Totals from a file's closing lines (`# tests 3` in TAP, `ℹ tests 3` in spec). */
function totalsOf(out) {
  const n = (key) => {
    const all = [...out.matchAll(new RegExp(`^(?:#|ℹ) ${key} (\\d+)$`, 'gm'))];
    return all.length ? Number(all.at(-1)[1]) : 0;
  };
  return { tests: n('tests'), pass: n('pass'), fail: n('fail'), skipped: n('skipped'), todo: n('todo'), cancelled: n('cancelled') };
}

/** Runs one unit (a file, or a group of files in one process); `maps`: with source maps. */
function runUnit(unit, maps = false) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, argsFor(unit, maps), {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout kills whatever the file started too.
      detached: process.platform !== 'win32',
      env: maps ? { ...childEnv, GC_TEST_SOURCE_MAPS: '1' } : childEnv,
    });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    }, fileTimeoutMs);
    running.add(child);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // Name the files as they are in the repository, not in the scratch tree.
      let out = Buffer.concat(chunks).toString('utf8');
      if (compiled) out = out.replaceAll(join(compiled, TEST_BUNDLES), ROOT).replaceAll(compiled, ROOT);
      resolve({ unit, file: unit.name, code, signal, timedOut, out, ms: Date.now() - started, ...totalsOf(out) });
    });
  });
}

const running = new Set();
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    for (const c of running) { try { process.kill(-c.pid, 'SIGKILL'); } catch { c.kill('SIGKILL'); } }
    process.exit(130);
  });
}

const units = unitsOf(files);
// Longest first, so the longest one does not start last.
const estimate = (u) => u.files.reduce((n, f) => n + secondsOf(f), 0);
const queue = [...units].sort((a, b) => estimate(b) - estimate(a));

const t0 = Date.now();
if (compiled) console.log(`compiled and bundled src/ and test/ in ${((Date.now() - tBuild) / 1000).toFixed(1)} s`);
const results = [];
const header = (r, what = r.file) => `${r.code === 0 && !r.timedOut ? 'ok' : 'FAILED'} ${what}${r.unit.entry ? `: ${r.unit.files.length} files` : ''} (${r.tests} tests, ${(r.ms / 1000).toFixed(1)} s)${r.timedOut ? ` — killed after ${fileTimeoutMs / 1000} s` : ''}`;
async function worker() {
  for (let unit = queue.shift(); unit; unit = queue.shift()) {
    const r = await runUnit(unit);
    results.push(r);
    process.stdout.write(`\n━━ ${header(r)}\n`);
    if (unit.entry) process.stdout.write(`   (${unit.files.join(', ')})\n`);
    process.stdout.write(r.out.endsWith('\n') ? r.out : `${r.out}\n`);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, units.length) }, worker));

const wall = (Date.now() - t0) / 1000;
const sum = (k) => results.reduce((s, r) => s + r[k], 0);
const failed = results.filter((r) => r.code !== 0 || r.timedOut);

/*
 * Failures. Each file of a failed unit runs again alone, with source maps, so its stack traces name the
 * .ts lines and a failure in a group is pinned to its file. The first run's result stands either way: a
 * file that passes alone failed in company (or is flaky), and the run still fails. Bounded: at most
 * RERUN_MAX files, one at a time.
 */
const RERUN_MAX = 8;
const again = failed.flatMap((r) => r.unit.files).slice(0, RERUN_MAX);
for (const file of again) {
  const r = await runUnit({ name: file, files: [file] }, true);
  process.stdout.write(`\n━━ again, alone, with source maps: ${header(r)}\n`);
  if (r.code !== 0 || r.timedOut) process.stdout.write(r.out.endsWith('\n') ? r.out : `${r.out}\n`);
}

console.log(`\n━━ ${files.length} files in ${units.length} processes, ${concurrency} at a time, ${wall.toFixed(1)} s; slowest:`);
for (const r of [...results].sort((a, b) => b.ms - a.ms).slice(0, 8)) console.log(`   ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.file}`);
for (const r of failed) console.log(`   FAILED ${r.file}${r.timedOut ? ' (timed out)' : r.signal ? ` (${r.signal})` : ` (exit ${r.code})`}`);
// One closing summary, in node:test's words, then the plain line.
const tests = sum('tests');
const fail = sum('fail') + (failed.length && sum('fail') === 0 ? failed.length : 0);
console.log(`# tests ${tests}\n# pass ${sum('pass')}\n# fail ${fail}\n# cancelled ${sum('cancelled')}\n# skipped ${sum('skipped')}\n# todo ${sum('todo')}\n# duration_ms ${Date.now() - t0}`);
console.log(`${sum('pass')} passed, ${fail} failed${sum('skipped') ? `, ${sum('skipped')} skipped` : ''}`);
if (tests === 0) {
  console.error('no test ran');
  process.exit(1);
}
process.exit(failed.length ? 1 : 0);
