import type { FastifyInstance, FastifyRequest } from 'fastify';
import { meetingSettingsRoutes } from './meeting-settings.routes.js';
import { appProblems, toApp, type AppRegistry } from '../auth/apps.js';
import type { FarSideService } from '../simulator/far-side.service.js';
import type { CallbackPolicy } from '../domain/callback-uri.js';
import type { CallStore, Wakeups } from '../domain/ports.js';
import type { PolicyRegistry } from '../simulator/policy-registry.js';
import { GraphError } from '../graph/graph-errors.js';
import { useGraphWire } from '../graph/graph-wire.plugin.js';
import type { MediaLibrary } from '../media/media-library.js';
import type { VirtualClock } from '../shared/virtual-clock.js';
import { emulatorRoutes } from './emulator.routes.js';
import { mediaRoutes } from './media.routes.js';
import { simulatorRoutes } from './simulator.routes.js';
import { farSideRoutes } from './far-side.routes.js';
import { faultProblems, toRule, type FaultEngine } from '../faults/fault-rules.js';
import { toHar, type RequestJournal } from './request-journal.js';
import { dashboardRoutes } from './dashboard/dashboard.routes.js';
import { normaliseId } from '../shared/ids.js';
import { randomUUID } from 'node:crypto';
import { controlAccess } from './control-access.js';
import { contentSharingRoutes } from './content-sharing.routes.js';
import type { InviteesSimulator } from '../simulator/invitees.js';
import { tonesRoutes } from './tones.routes.js';
import type { MediaActionsService } from '../domain/media-actions.service.js';
import { subscriptionControlRoutes } from '../subscriptions/subscription-control.routes.js';
import type { SubscriptionService } from '../subscriptions/subscription.service.js';

export interface ControlPlaneOptions {
  store: CallStore;
  apps: AppRegistry;
  farSide: FarSideService;
  policies: PolicyRegistry;
  library: MediaLibrary;
  virtualClock: VirtualClock | null;
  wakeups: Wakeups;
  version: string;
  /** Null: loopback clients only. Otherwise `Authorization: Bearer <token>` from anywhere. */
  controlToken: string | null;
  /** The --host listened on and --allowed-hosts: the names the control plane answers to (DNS rebinding). */
  listenHost: string;
  allowedHosts: readonly string[];
  faults: FaultEngine;
  journal: RequestJournal;
  /** The callbackUri rule (with --allow-callback-hosts) for apps and incoming calls. */
  callbacks: CallbackPolicy;
  /** The far side of roster control (content-sharing sessions). */
  invitees: InviteesSimulator;
  /** Far-side key presses (tones.routes.ts). */
  mediaActions: MediaActionsService;
  /** Lifecycle events on demand (src/subscriptions/subscription-control.routes.ts). */
  subscriptions?: SubscriptionService;
}

/**
 * The control plane: everything under /_emulator/, in its own plugin scope with its own access rules
 * (design.md §6.8, control-access.ts). Graph tokens are never asked for here, and Graph routes never see these.
 */
export async function controlPlane(app: FastifyInstance, o: ControlPlaneOptions): Promise<void> {
  // graph-calls' own API speaks Graph's envelope and headers, so the tools that read Graph errors read ours.
  useGraphWire(app);
  // Before any body is read: the dashboard and every route below are behind it (control-access.ts).
  app.addHook('onRequest', controlAccess({ controlToken: o.controlToken, listenHost: o.listenHost, allowedHosts: o.allowedHosts }));

  const routes: Array<{ method: string; url: string }> = [];
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) if (m !== 'HEAD') routes.push({ method: m, url: r.url });
  });

  await app.register(emulatorRoutes, { store: o.store, apps: o.apps, version: o.version });
  await app.register(simulatorRoutes, { farSide: o.farSide, policies: o.policies, apps: o.apps, callbacks: o.callbacks });
  await app.register(farSideRoutes, { farSide: o.farSide });
  await app.register(mediaRoutes, { farSide: o.farSide, store: o.store, library: o.library, virtualClock: o.virtualClock });
  await app.register(dashboardRoutes, { store: o.store, apps: o.apps, journal: o.journal, wakeups: o.wakeups });
  await app.register(contentSharingRoutes, { invitees: o.invitees });
  await app.register(tonesRoutes, { media: o.mediaActions });
  if (o.subscriptions) await app.register(subscriptionControlRoutes, { subscriptions: o.subscriptions });
  await app.register(meetingSettingsRoutes, { store: o.store });

  app.get('/_emulator/apps', async () => ({
    value: o.apps.list().map(({ clientSecret: _secret, ...a }) => a),
  }));

  app.post('/_emulator/apps', async (request, reply) => {
    const problems = appProblems(request.body, 'app', o.callbacks);
    if (problems.length) throw new GraphError('INVALID_BODY', problems.join('; '));
    const { clientSecret: _secret, ...saved } = await o.apps.put(toApp(request.body as Record<string, unknown>));
    return reply.code(201).send(saved);
  });

  app.delete('/_emulator/apps/:clientId', async (request, reply) => {
    if (!(await o.apps.remove((request.params as { clientId: string }).clientId))) throw new GraphError('NOT_FOUND', 'No such app is registered.');
    return reply.code(204).send();
  });

  /**
   * A clean slate for the next test: forgets every call, notification, recording, subscription, journal entry
   * and fault rule (with its counts and throttle windows); keys, apps, policies, media and the clock stay.
   */
  app.post('/_emulator/reset', async (_request, reply) => {
    // The journal's buffered entries are written first, so they are cleared with the rest and do not
    // reappear after the reset (they are written in batches off the request path).
    await o.journal.flush();
    await o.faults.clear();
    await o.store.write((tx) => tx.clearCalls());
    return reply.code(204).send();
  });

  // ---- fault injection (docs/faults.md) ----
  app.get('/_emulator/faults', async () => ({ value: await o.faults.list() }));
  app.post('/_emulator/faults', async (request, reply) => {
    const problems = faultProblems(request.body);
    if (problems.length) throw new GraphError('INVALID_BODY', problems.join('; '));
    return reply.code(201).send(await o.faults.add(toRule(request.body as Record<string, unknown>, randomUUID().slice(0, 8))));
  });
  app.delete('/_emulator/faults/:faultId', async (request, reply) => {
    if (!(await o.faults.remove((request.params as { faultId: string }).faultId))) throw new GraphError('NOT_FOUND', 'No such fault rule.');
    return reply.code(204).send();
  });
  app.delete('/_emulator/faults', async (_request, reply) => {
    await o.faults.clear();
    return reply.code(204).send();
  });

  // ---- journals ----
  const journalQuery = (request: FastifyRequest) => {
    const q = request.query as Record<string, string | undefined>;
    const top = Math.min(Math.max(Number(q.top ?? q.$top ?? 1000) || 1000, 1), 5000);
    return { callId: q.callId ? normaliseId(q.callId) : undefined, after: Number(q.after ?? 0) || 0, limit: top };
  };
  app.get('/_emulator/requests', async (request) => ({ value: await o.journal.list(journalQuery(request)) }));
  app.get('/_emulator/requests/har', async (request, reply) => {
    reply.header('content-disposition', 'attachment; filename="graph-calls-requests.har"');
    return toHar(await o.journal.list(journalQuery(request)), `${request.protocol}://${request.host}`, o.version);
  });
  /** Notifications delivered, as HAR: each attempt is a POST to the bot's callbackUri and its answer. */
  app.get('/_emulator/deliveries/har', async (request, reply) => {
    const q = journalQuery(request);
    const attempts = await o.store.listDeliveryAttempts({ callId: q.callId, afterSeq: q.after, limit: q.limit });
    reply.header('content-disposition', 'attachment; filename="graph-calls-deliveries.har"');
    return {
      log: {
        version: '1.2', creator: { name: 'graph-calls', version: o.version },
        entries: attempts.map((a) => ({
          startedDateTime: new Date(a.at - (a.latencyMs ?? 0)).toISOString(), time: a.latencyMs ?? 0,
          request: { method: 'POST', url: a.url, httpVersion: 'HTTP/1.1', headers: [{ name: 'x-microsoft-skype-message-id', value: a.messageId }], cookies: [], queryString: [], headersSize: -1, bodySize: -1 },
          response: { status: a.status ?? 0, statusText: a.error ?? '', httpVersion: 'HTTP/1.1', headers: [], cookies: [], content: { size: 0, mimeType: '' }, redirectURL: '', headersSize: -1, bodySize: -1 },
          cache: {}, timings: { send: 0, wait: a.latencyMs ?? 0, receive: 0 },
          comment: `attempt ${a.attempt}: ${a.outcome}${a.error?.includes('injected fault') ? ' (injected)' : ''}`,
        })),
      },
    };
  });

  /** This plane's own OpenAPI document, built from the routes registered above (it cannot drift). */
  app.get('/_emulator/openapi.json', async (request) => {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const r of routes) {
      const path = r.url.replace(/:([A-Za-z]+)/g, '{$1}');
      const params = [...r.url.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
      paths[path] ??= {};
      paths[path]![r.method.toLowerCase()] = {
        operationId: `${r.method.toLowerCase()}${path.replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
        parameters: params,
        responses: { default: { description: 'See docs/control-plane.md' } },
      };
    }
    return {
      openapi: '3.1.0',
      info: { title: 'graph-calls control plane', version: o.version, description: 'The far side of Teams, time, journals and configuration of graph-calls. See docs/control-plane.md.' },
      servers: [{ url: `${request.protocol}://${request.host}` }],
      paths,
    };
  });
}
