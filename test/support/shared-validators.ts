import { createRequire } from 'node:module';

/**
 * One request-validator compiler for every app a test process builds.
 *
 * Fastify gives each instance a fresh Ajv (@fastify/ajv-compiler) and compiles every route schema into it
 * when the app becomes ready: ~0.5 s of CPU per composed graph-calls, which was most of what an in-process
 * test file spent (a file builds an app per test). The schemas are the same module-level objects in every
 * app, and the Ajv options are the same (src/app.ts), so one process-wide compiler gives each app the
 * validators it would have compiled itself, from Ajv's own cache. Nothing about validation changes: same
 * options, same schemas, same compiled functions. A process started as graph-calls (test/support/
 * server-process.ts, fleet.ts) does not load this; it compiles its own, as `npm start` does.
 */
const fromFastify = createRequire(createRequire(import.meta.url).resolve('fastify'));
const id = fromFastify.resolve('@fastify/ajv-compiler');
fromFastify(id);
const loaded = fromFastify.cache[id];
type Selector = ((opts?: unknown) => unknown) & Record<string, unknown>;
const original = loaded?.exports as Selector | undefined;
if (loaded && typeof original === 'function' && !original.sharedByTests) {
  // The validator selector (no options); the JTD serializer selector (with options) stays per app.
  const pool = original() as (externalSchemas: unknown, options: unknown) => (route: { schema: unknown }) => unknown;
  // Per pool key (external schemas and Ajv options), the validator compiled for each schema, by its JSON.
  const compiled = new Map<string, Map<string, unknown>>();
  const one = (externalSchemas: unknown, options: { customOptions?: unknown }) => {
    const build = pool(externalSchemas, options);
    const key = JSON.stringify([externalSchemas, options.customOptions]);
    const mine = compiled.get(key) ?? new Map<string, unknown>();
    compiled.set(key, mine);
    return (route: { schema: unknown }) => {
      const k = JSON.stringify(route.schema);
      if (!mine.has(k)) mine.set(k, build(route));
      return mine.get(k);
    };
  };
  const shared: Selector = Object.assign((opts?: unknown) => (opts === undefined ? one : original(opts)), original, { sharedByTests: true });
  loaded.exports = shared;
}
