import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/**
 * One request-validator compiler for every app a test process builds, and compiled validators kept for the
 * other test processes of the run.
 *
 * Fastify gives each instance a fresh Ajv (@fastify/ajv-compiler) and compiles every route schema into it
 * when the app becomes ready: ~0.5 s of CPU per composed graph-calls, which was much of what an in-process
 * test file spent (most build an app per test or per group). The schemas and the Ajv options are the same
 * in every app (src/app.ts), so here the apps of a process share one compiler, and each validator is
 * compiled once per schema (by its JSON). Under `npm test` each compiled validator is also written as
 * Ajv's standalone code (the same generated function, as a module) into the run's scratch tree
 * (GC_TEST_BUILD_DIR), and a later test process loads it instead of compiling again. Nothing about
 * validation changes: same options, same schemas, the same generated code. A process started as
 * graph-calls (test/support/server-process.ts, fleet.ts) does not load this; it compiles its own, as
 * `npm start` does.
 */
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const id = fromFastify.resolve('@fastify/ajv-compiler');
const fromCompiler = createRequire(id);
fromFastify(id);
const loaded = fromFastify.cache[id];
type Validator = (data: unknown) => unknown;
type Build = ((route: { schema: unknown }) => Validator) & Record<symbol, { ajv: unknown }>;
type Selector = ((opts?: unknown) => unknown) & Record<string | symbol, unknown>;
const original = loaded?.exports as Selector | undefined;
const BUILD = process.env.GC_TEST_BUILD_DIR;
const CACHE = BUILD && existsSync(BUILD) ? join(BUILD, '.validators') : undefined;

if (loaded && typeof original === 'function' && !original.sharedByTests) {
  const pool = original() as (externalSchemas: unknown, options: object) => Build;
  const standaloneCode = (fromCompiler('ajv/dist/standalone') as { default: (ajv: unknown, v: Validator) => string }).default;
  const AjvReference = original.AjvReference as symbol;
  // Per pool key (external schemas and Ajv options), the validator compiled for each schema, by its JSON.
  const compiled = new Map<string, Map<string, Validator>>();
  const one = (externalSchemas: unknown, options: { customOptions?: object }) => {
    // Ajv keeps each validator's source only when asked (`code.source`); it changes nothing else.
    const build = pool(externalSchemas, { ...options, customOptions: { ...options.customOptions, code: { source: true } } });
    const key = JSON.stringify([externalSchemas, options.customOptions]);
    const mine = compiled.get(key) ?? new Map<string, Validator>();
    compiled.set(key, mine);
    return (route: { schema: unknown }) => {
      const json = JSON.stringify(route.schema);
      let v = mine.get(json);
      if (v) return v;
      const file = CACHE && join(CACHE, `${createHash('sha256').update(key).update('\0').update(json).digest('hex').slice(0, 32)}.cjs`);
      if (file && existsSync(file)) {
        v = createRequire(file)(file) as Validator;
      } else {
        v = build(route);
        if (file) {
          try {
            const code = standaloneCode(build[AjvReference]!.ajv, v);
            mkdirSync(CACHE!, { recursive: true });
            // Written whole, then renamed: another process never reads half a file.
            const tmp = `${file}.${process.pid}.tmp`;
            writeFileSync(tmp, code);
            renameSync(tmp, file);
          } catch {
            // Not kept (a schema standalone code cannot express): the next process compiles it too.
          }
        }
      }
      mine.set(json, v);
      return v;
    };
  };
  // The validator selector (no options); the JTD serializer selector (with options) stays per app.
  loaded.exports = Object.assign((opts?: unknown) => (opts === undefined ? one : original(opts)), original, { sharedByTests: true });
}
