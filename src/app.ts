import Fastify, { type FastifyInstance } from 'fastify';
import type { AppRegistry } from './auth/apps.js';
import type { SigningKey } from './auth/keys.js';
import { tokenRoutes } from './auth/token.routes.js';
import type { TokenService } from './auth/token.service.js';
import { controlPlane } from './control/control-plane.js';
import type { CallService } from './domain/call.service.js';
import type { CallbackPolicy } from './domain/callback-uri.js';
import type { FarSideService } from './simulator/far-side.service.js';
import type { PolicyRegistry } from './simulator/policy-registry.js';
import { incomingRoutes } from './graph/incoming.routes.js';
import { callRecordingsRoutes } from './graph/call-recordings.routes.js';
import { meetingsRoutes } from './meetings/meetings.routes.js';
import type { MeetingService } from './meetings/meeting.service.js';
import { transcriptsRoutes } from './transcripts/transcripts.routes.js';
import type { MediaLibrary } from './media/media-library.js';
import type { VirtualClock } from './shared/virtual-clock.js';
import type { FaultEngine } from './faults/fault-rules.js';
import { graphFaults } from './faults/graph-faults.hook.js';
import type { Admission } from './graph/admission.js';
import { throttle, type ThrottleOptions } from './graph/throttle.hook.js';
import type { RequestJournal } from './control/request-journal.js';
import type { CallStore, ConfigStore, Wakeups } from './domain/ports.js';
import { bearerAuth } from './graph/auth.hook.js';
import { callsRoutes } from './graph/calls.routes.js';
import { graphErrorHandler, graphFrameworkErrors, MAX_SEGMENT_LENGTH } from './graph/error-handler.js';
import { GRAPH_ERRORS, sendGraphError } from './graph/graph-errors.js';
import { useGraphBodies, useGraphWire } from './graph/graph-wire.plugin.js';
import { recordingActionsRoutes } from './graph/recording-actions.routes.js';
import { transferRoutes } from './graph/transfer.routes.js';
import { transcriptionRoutes } from './graph/transcription.routes.js';
import { mediaActionsRoutes } from './graph/media-actions.routes.js';
import { recordedResponseRoutes } from './graph/recorded-response.routes.js';
import type { MediaActionsService } from './domain/media-actions.service.js';
import { RouteTrie, split } from './graph/route-trie.js';
import { answerUnmetExpectation, graphClientErrorHandler } from './graph/socket-errors.js';
import { addGraphHeaders, type GraphVersion } from './graph/wire.js';
import type { RosterService } from './domain/roster.service.js';
import type { InviteesSimulator } from './simulator/invitees.js';
import { participantActionsRoutes } from './graph/participant-actions.routes.js';
import { appHostedMediaRoutes } from './graph/app-hosted-media.routes.js';
import { subscriptionsRoutes } from './subscriptions/subscriptions.routes.js';
import type { SubscriptionService } from './subscriptions/subscription.service.js';

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
  virtualClock: VirtualClock | null;
  bodyLimitBytes: number;
  /** The token endpoint's own, smaller limit: it answers anyone, unauthenticated. */
  tokenBodyLimitBytes: number;
  controlToken: string | null;
  /** The --host listened on and --allowed-hosts: names the control plane and dashboard answer to. */
  listenHost: string;
  allowedHosts: readonly string[];
  faults: FaultEngine;
  journal: RequestJournal;
  /** The callbackUri rule with --allow-callback-hosts, for every body and document that names one. */
  callbacks: CallbackPolicy;
  /** TLS key and certificate (PEM) to serve https, or null for http. */
  tls: { key: string; cert: string } | null;
  logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  version: string;
  /** The Graph in-flight cap and the shutdown drain. */
  admission: Admission;
  /** Graph's per-app, per-tenant throttling of calls; null = off. */
  throttle: ThrottleOptions | null;
  http: HttpLimits;
  /** Roster control (domain/roster.service.ts) and its far side (simulator/invitees.ts). */
  roster: RosterService;
  invitees: InviteesSimulator;
  /** Service-hosted media actions, and the blobs recorded responses are kept in. */
  mediaActions: MediaActionsService;
  blobs: ConfigStore;
  /** /subscriptions (src/subscriptions/). */
  subscriptions: SubscriptionService;
  /** onlineMeeting create and lookup (meetings/). */
  meetings: MeetingService;
}

/** What a client's connection may cost (docs/configuration.md); 0 = no limit. */
export interface HttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** A kept-alive connection waiting for its next request. */
  idleTimeoutMs: number;
  /** A connection on which nothing moves, even mid-request. */
  socketTimeoutMs: number;
  maxRequestsPerSocket: number;
  maxConnections: number;
}

/**
 * How often node looks for requests past their headers or request timeout. Its default (30 s) would let
 * a stalled request outlive a 10 s limit by half a minute; the sweep only visits requests still arriving.
 */
const TIMEOUT_SWEEP_MS = 1000;

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
  // Node's timeouts are for receiving a request, never for answering it: a long response (the dashboard's
  // event stream, a recording download) is bounded only by socketTimeoutMs, while nothing moves on it.
  const server = { headersTimeout: deps.http.headersTimeoutMs, connectionsCheckingInterval: TIMEOUT_SWEEP_MS };
  const app = Fastify({
    ...(deps.tls ? { https: { key: deps.tls.key, cert: deps.tls.cert, ...server } } : { http: server }),
    requestTimeout: deps.http.requestTimeoutMs,
    keepAliveTimeout: deps.http.idleTimeoutMs,
    connectionTimeout: deps.http.socketTimeoutMs,
    maxRequestsPerSocket: deps.http.maxRequestsPerSocket,
    // A request that arrives while draining is answered by Admission, in Graph's envelope.
    return503OnClosing: false,
    // Logs go to stderr: stdout carries only the ready line (design.md §3), which supervisors read.
    logger: deps.logLevel === 'silent' ? false : { level: deps.logLevel, stream: process.stderr },
    bodyLimit: deps.bodyLimitBytes,
    // Graph is strict about JSON types: {"clientContext":5} is a 400, never coerced to "5".
    ajv: { customOptions: { coerceTypes: false, allErrors: false } },
    routerOptions: { caseSensitive: false, ignoreTrailingSlash: true, maxParamLength: MAX_SEGMENT_LENGTH },
    // What fastify and node answer themselves (bad percent-encoding, unparsable requests) in Graph's envelope too.
    frameworkErrors: graphFrameworkErrors,
    clientErrorHandler: graphClientErrorHandler,
    rewriteUrl: (req) => rewriteGraphUrl(req.url ?? '/'),
    // The dashboard's event streams never go idle: close them with the server.
    forceCloseConnections: true,
  });
  // Over the cap node closes new connections at once; below the process's file limit, accepting cannot fail.
  if (deps.http.maxConnections > 0) app.server.maxConnections = deps.http.maxConnections;

  app.server.on('checkExpectation', answerUnmetExpectation);

  const trie = new RouteTrie();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (GRAPH_VERSIONS.some((v) => route.url.startsWith(`/${v}/`))) trie.add(route.url, methods);
  });

  deps.journal.install(app);
  app.addHook('onRequest', deps.admission.track);
  // Outside every scope (unknown paths, the 404 handler): Graph's envelope and body rules.
  app.setErrorHandler(graphErrorHandler);
  useGraphBodies(app);

  await app.register(tokenRoutes, { apps: deps.apps, tokens: deps.tokens, tokenKey: deps.tokenKey, notificationKey: deps.notificationKey, bodyLimitBytes: deps.tokenBodyLimitBytes });
  await app.register(controlPlane, {
    store: deps.store, apps: deps.apps, farSide: deps.farSide, policies: deps.policies, library: deps.library,
    virtualClock: deps.virtualClock, version: deps.version, controlToken: deps.controlToken,
    listenHost: deps.listenHost, allowedHosts: deps.allowedHosts,
    faults: deps.faults, journal: deps.journal, wakeups: deps.wakeups, callbacks: deps.callbacks,
    invitees: deps.invitees, mediaActions: deps.mediaActions, subscriptions: deps.subscriptions,
  });
  await app.register(recordedResponseRoutes, { store: deps.store, blobs: deps.blobs });

  const authenticate = bearerAuth(deps.tokens);
  // One limiter for both versions: /v1.0 and /beta are one service with one budget.
  const throttled = deps.throttle ? throttle(deps.throttle) : null;
  for (const version of GRAPH_VERSIONS) {
    await app.register(async (graph) => {
      useGraphWire(graph);
      // Shedding first: refusing must cost less than serving.
      graph.addHook('onRequest', deps.admission.admit);
      graph.addHook('onRequest', authenticate);
      if (throttled) graph.addHook('onRequest', throttled);
      graph.addHook('onRequest', graphFaults(deps.faults));
      await graph.register(callsRoutes, { version, calls: deps.calls, callbacks: deps.callbacks });
      await graph.register(recordingActionsRoutes, { version, calls: deps.calls, callbacks: deps.callbacks });
      await graph.register(mediaActionsRoutes, { version, media: deps.mediaActions });
      await graph.register(incomingRoutes, { version, calls: deps.calls, callbacks: deps.callbacks });
      await graph.register(callRecordingsRoutes, { version, store: deps.store });
      await graph.register(transferRoutes, { version, calls: deps.calls, callbacks: deps.callbacks });
      await graph.register(transcriptionRoutes, { version, calls: deps.calls, callbacks: deps.callbacks });
      await graph.register(participantActionsRoutes, { version, roster: deps.roster, library: deps.library });
      await graph.register(appHostedMediaRoutes, { version, roster: deps.roster, library: deps.library });
      await graph.register(subscriptionsRoutes, { version, subscriptions: deps.subscriptions });
      await graph.register(meetingsRoutes, { version, store: deps.store, meetings: deps.meetings });
      await graph.register(transcriptsRoutes, { version, store: deps.store });
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
