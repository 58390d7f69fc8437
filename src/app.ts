import Fastify, { type FastifyInstance } from 'fastify';
import type { AppRegistry } from './auth/apps.js';
import type { SigningKey } from './auth/keys.js';
import { tokenRoutes } from './auth/token.routes.js';
import type { TokenService } from './auth/token.service.js';
import { controlPlane } from './control/control-plane.js';
import type { CallService } from './domain/call.service.js';
import type { FarSideService } from './simulator/far-side.service.js';
import type { PolicyRegistry } from './simulator/policy-registry.js';
import { incomingRoutes } from './graph/incoming.routes.js';
import { callRecordingsRoutes } from './graph/call-recordings.routes.js';
import type { MediaLibrary } from './media/media-library.js';
import type { VirtualClock } from './shared/virtual-clock.js';
import type { FaultEngine } from './faults/fault-rules.js';
import { graphFaults } from './faults/graph-faults.hook.js';
import type { RequestJournal } from './control/request-journal.js';
import type { CallStore, Wakeups } from './domain/ports.js';
import { bearerAuth } from './graph/auth.hook.js';
import { callsRoutes } from './graph/calls.routes.js';
import { graphErrorHandler } from './graph/error-handler.js';
import { GRAPH_ERRORS, sendGraphError } from './graph/graph-errors.js';
import { useGraphBodies, useGraphWire } from './graph/graph-wire.plugin.js';
import { recordingActionsRoutes } from './graph/recording-actions.routes.js';
import { RouteTrie, split } from './graph/route-trie.js';
import { addGraphHeaders, type GraphVersion } from './graph/wire.js';

export interface AppDeps {
  calls: CallService;
  farSide: FarSideService;
  policies: PolicyRegistry;
  store: CallStore;
  wakeups: Wakeups;
  apps: AppRegistry;
  tokens: TokenService;
  tokenKey: SigningKey;
  notificationKey: SigningKey;
  library: MediaLibrary;
  recordingsDir: string;
  virtualClock: VirtualClock | null;
  bodyLimitBytes: number;
  controlToken: string | null;
  faults: FaultEngine;
  journal: RequestJournal;
  /** TLS key and certificate (PEM) to serve https, or null for http. */
  tls: { key: string; cert: string } | null;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  version: string;
}

export const GRAPH_VERSIONS: readonly GraphVersion[] = ['v1.0', 'beta'];

/**
 * Graph addresses bound actions with or without their namespace and in any case
 * (`/microsoft.graph.StopRecording` in the docs, `/stopRecording` from the SDKs); the router matches
 * case-insensitively, and this drops the namespace. Beta's deprecated `/app/calls` alias maps onto
 * `/communications/calls`.
 */
const NAMESPACE = /\/microsoft\.graph\./gi;
const APP_ALIAS = /^\/beta\/app\/calls(?=[/?]|$)/i;
export function rewriteGraphUrl(url: string): string {
  let out = url;
  const q = out.indexOf('?');
  let path = q >= 0 ? out.slice(0, q) : out;
  if (NAMESPACE.test(path)) path = path.replace(NAMESPACE, '/');
  NAMESPACE.lastIndex = 0;
  if (APP_ALIAS.test(path)) path = path.replace(APP_ALIAS, '/beta/communications/calls');
  out = q >= 0 ? path + out.slice(q) : path;
  return out;
}

/** Builds the HTTP application; `listen` is the caller's business (main.ts, tests use inject()). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.tls ? { https: { key: deps.tls.key, cert: deps.tls.cert } } : {}),
    logger: deps.logLevel === 'silent' ? false : { level: deps.logLevel },
    bodyLimit: deps.bodyLimitBytes,
    // Graph is strict about JSON types: {"clientContext":5} is a 400, never coerced to "5".
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    // Function segments such as getAllRecordings(meetingOrganizerUserId='…',startDateTime=…) are long.
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: 1000 },
    rewriteUrl: (req) => rewriteGraphUrl(req.url ?? '/'),
    // The dashboard's event streams never go idle: close them with the server.
    forceCloseConnections: true,
  });

  const trie = new RouteTrie();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (GRAPH_VERSIONS.some((v) => route.url.startsWith(`/${v}/`))) trie.add(route.url, methods);
  });

  deps.journal.install(app);
  // Outside every scope (unknown paths, the 404 handler): Graph's envelope and body rules.
  app.setErrorHandler(graphErrorHandler);
  useGraphBodies(app);

  await app.register(tokenRoutes, { apps: deps.apps, tokens: deps.tokens, tokenKey: deps.tokenKey, notificationKey: deps.notificationKey });
  await app.register(controlPlane, {
    store: deps.store, apps: deps.apps, farSide: deps.farSide, policies: deps.policies, library: deps.library,
    virtualClock: deps.virtualClock, recordingsDir: deps.recordingsDir, version: deps.version, controlToken: deps.controlToken,
    faults: deps.faults, journal: deps.journal, wakeups: deps.wakeups,
  });

  const authenticate = bearerAuth(deps.tokens);
  for (const version of GRAPH_VERSIONS) {
    await app.register(async (graph) => {
      useGraphWire(graph);
      graph.addHook('onRequest', authenticate);
      graph.addHook('onRequest', graphFaults(deps.faults));
      await graph.register(callsRoutes, { version, calls: deps.calls });
      await graph.register(recordingActionsRoutes, { version, calls: deps.calls });
      await graph.register(incomingRoutes, { version, calls: deps.calls });
      await graph.register(callRecordingsRoutes, { version, store: deps.store });
    }, { prefix: `/${version}` });
  }

  // Graph's answer to a path it does not serve: name the first unknown segment (400), or 405 for a
  // known path with another method. Authentication comes first, as on Graph.
  app.setNotFoundHandler(async (request, reply) => {
    addGraphHeaders(request, reply);
    const path = request.url;
    const version = GRAPH_VERSIONS.find((v) => path.toLowerCase().startsWith(`/${v}/`) || path.toLowerCase() === `/${v}`);
    if (!version) {
      const e = GRAPH_ERRORS.NOT_FOUND;
      return sendGraphError(request, reply, e.status, e.code, `No resource at '${path.split('?')[0]}'.`);
    }
    await authenticate(request);
    const miss = trie.explain(path, request.method);
    if (miss.kind === 'method') {
      const e = GRAPH_ERRORS.METHOD_NOT_ALLOWED;
      return sendGraphError(request, reply, e.status, e.code, `The HTTP method '${request.method}' is not allowed on '${path.split('?')[0]}'.`);
    }
    // Name the segment as the client spelled it (before the namespace prefix was dropped).
    const segment = miss.kind === 'segment' ? (split(request.originalUrl)[miss.index] ?? miss.segment) : version;
    const e = GRAPH_ERRORS.UNKNOWN_SEGMENT;
    return sendGraphError(request, reply, e.status, e.code, `Resource not found for the segment '${segment}'.`);
  });

  return app;
}
