import { existsSync } from 'node:fs';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * How a test starts one of the project's .ts files in a process of its own (`src/main.ts`, a fixture).
 *
 * Under `npm test` (scripts/run-tests.mjs) the sources are compiled once per run into a scratch tree
 * named by GC_TEST_BUILD_DIR; running the compiled twin skips tsx's loader hooks, which cost each child
 * ~2 s of CPU before it did anything (on Node 20 every module goes through the hooks thread). Outside the
 * runner, or for a file that has no twin, it runs the .ts under tsx, as `npm start` does.
 */

const BUILD = process.env.GC_TEST_BUILD_DIR;
const ROOT = process.cwd();
/**
 * Source maps for the compiled children only when the runner asks (GC_TEST_SOURCE_MAPS=1: when it runs a
 * failed file again, see scripts/run-tests.mjs): node parses a bundle's whole map as it loads it, ~0.15 s
 * of CPU a process, paid by every server and CLI command a run starts.
 */
const MAPS = process.env.GC_TEST_SOURCE_MAPS === '1' ? ['--enable-source-maps'] : [];

/** The compiled twin of `tsFile` (a path, absolute or from the repository root, or a file: URL), if any. */
function twinOf(tsFile: string): string | undefined {
  if (!BUILD) return undefined;
  const abs = tsFile.startsWith('file:') ? fileURLToPath(tsFile) : isAbsolute(tsFile) ? tsFile : resolve(ROOT, tsFile);
  // A path taken from import.meta.url already points into the scratch tree.
  const rel = abs.startsWith(BUILD) ? relative(BUILD, abs) : relative(ROOT, abs);
  if (rel.startsWith('..')) return undefined;
  const twin = join(BUILD, rel).replace(/\.ts$/, '.js');
  return existsSync(twin) ? twin : undefined;
}

/** node arguments that run `tsFile`: its compiled twin, or the .ts under tsx. */
export function scriptArgs(tsFile: string): string[] {
  const twin = twinOf(tsFile);
  return twin ? [...MAPS, twin] : ['--import', 'tsx', tsFile.startsWith('file:') ? fileURLToPath(tsFile) : tsFile];
}

/**
 * For a child that imports project modules itself (`node -e 'await import(url)'`): the URL to import
 * `tsFile` by, and the node arguments that make that import work.
 */
export function moduleFor(tsFile: string): { url: string; nodeArgs: string[] } {
  const twin = twinOf(tsFile);
  if (twin) return { url: pathToFileURL(twin).href, nodeArgs: [] };
  return { url: tsFile.startsWith('file:') ? tsFile : pathToFileURL(resolve(ROOT, tsFile)).href, nodeArgs: ['--import', 'tsx'] };
}

/**
 * node arguments that run graph-calls as `npm start` does, before its own flags. src/main.ts runs itself
 * only when started as main.ts, so its compiled form is imported and its runServer called, with the same
 * last-resort handler main.ts has. Under `npm test` that is the runner's one-file bundle of the server
 * (scripts/run-tests.mjs serverBundle: half the CPU to its ready line), else the compiled twin.
 * Compiled, a new data directory's two signing keys come from the test-only pool the in-process apps use
 * (signing-key-pool.ts; generating them was ~0.2 s of a server's ~0.8 s of CPU to its ready line); run
 * from the .ts sources (`viaTsx`, `npm start`, the bin) it generates them, as in production.
 */
export function serverArgs(): string[] {
  const bundle = BUILD ? join(BUILD, 'server.bundle.js') : undefined;
  const main = bundle && existsSync(bundle) ? { url: pathToFileURL(bundle).href, nodeArgs: [] } : moduleFor('src/main.ts');
  if (main.nodeArgs.length) return ['--import', 'tsx', 'src/main.ts'];
  const pool = moduleFor('test/support/signing-key-pool.ts');
  const keys = pool.nodeArgs.length ? '{}' : `{ newSigningKey: (await import(${JSON.stringify(pool.url)})).poolSigningKey }`;
  const script = `const { runServer } = await import(${JSON.stringify(main.url)});
runServer(process.argv.slice(1), ${keys}).catch((err) => { process.stderr.write(\`graph-calls: \${err instanceof Error ? err.message : String(err)}\\n\`); process.exit(1); });`;
  return [...MAPS, '--input-type=module', '-e', script, '--'];
}

/**
 * node arguments that run `graph-calls` (bin/graph-calls.js): under `npm test` the runner's one-file
 * bundle of that bin (scripts/run-tests.mjs cliBundle: the same code without tsx's loader, a fifth
 * of the CPU a command), else the bin itself.
 */
export function cliArgs(): string[] {
  const bundle = BUILD ? join(BUILD, '.cli', 'graph-calls.js') : undefined;
  return bundle && existsSync(bundle) ? [...MAPS, bundle] : [join(ROOT, 'bin', 'graph-calls.js')];
}
