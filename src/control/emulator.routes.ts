import type { FastifyInstance } from 'fastify';
import type { AppRegistry } from '../auth/apps.js';
import { DEV_APP } from '../auth/apps.js';
import type { CallStore } from '../domain/ports.js';
import { normaliseId } from '../shared/ids.js';
import { GraphError } from '../graph/graph-errors.js';
import { nextLink, pageParams } from '../graph/paging.js';

export interface EmulatorRoutesOptions {
  store: CallStore;
  apps: AppRegistry;
  version: string;
}

/**
 * /_emulator/*: graph-calls' own control plane, never mixed into Graph paths. It needs no Graph token.
 * Today: what this server is, the notifications committed to the outbox, and recording segments.
 */
export async function emulatorRoutes(app: FastifyInstance, o: EmulatorRoutesOptions): Promise<void> {
  app.get('/_emulator/health', async () => ({ status: 'ok' }));

  app.get('/_emulator/info', async (request) => {
    const origin = `${request.protocol}://${request.host}`;
    return {
      name: 'graph-calls',
      version: o.version,
      graph: { v1: `${origin}/v1.0`, beta: `${origin}/beta` },
      tokenEndpoint: `${origin}/${DEV_APP.tenantId}/oauth2/v2.0/token`,
      notificationOpenIdConfiguration: `${origin}/v1/.well-known/OpenIdConfiguration`,
      developmentApp: { tenantId: DEV_APP.tenantId, clientId: DEV_APP.clientId, clientSecret: DEV_APP.clientSecret },
      apps: o.apps.list().map((a) => ({ tenantId: a.tenantId, clientId: a.clientId, displayName: a.displayName, roles: a.roles })),
    };
  });

  /** Notifications committed for delivery, oldest first; `callId` filters, `after` pages by sequence. */
  app.get('/_emulator/outbox', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const limit = Math.min(Number(q.top ?? 100) || 100, 1000);
    const after = Number(q.after ?? 0) || 0;
    const rows = await o.store.listOutbox({ callId: q.callId ? normaliseId(q.callId) : undefined, afterSeq: after, limit });
    return { value: rows, next: rows.length === limit ? rows.at(-1)!.seq : null };
  });

  /**
   * The delivery journal: every attempt, oldest first; `callId` filters, `$top`/`$skiptoken` page.
   * `order=newest` lists newest first (the CLI's `journal`), its `$skiptoken` then paging to older attempts.
   */
  app.get('/_emulator/deliveries', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const { top, after } = pageParams(request);
    const callId = q.callId ? normaliseId(q.callId) : undefined;
    const newestFirst = q.order === 'newest';
    const rows = newestFirst
      ? await o.store.listDeliveryAttempts({ callId, newestFirst, beforeSeq: after || undefined, limit: top + 1 })
      : await o.store.listDeliveryAttempts({ callId, afterSeq: after, limit: top + 1 });
    const body: Record<string, unknown> = {
      value: rows.slice(0, top).map((a) => ({ ...a, at: new Date(a.at).toISOString() })),
    };
    if (rows.length > top) {
      const base = `${request.protocol}://${request.host}/_emulator/deliveries`;
      body['@odata.nextLink'] = `${nextLink(base, top, rows[top - 1]!.seq)}${callId ? `&callId=${callId}` : ''}${newestFirst ? '&order=newest' : ''}`;
    }
    return body;
  });

  /** Durable jobs that failed on every attempt and were set aside (newest first), with their last error. */
  app.get('/_emulator/jobs/dead', async (request) => {
    const q = request.query as Record<string, string | undefined>;
    const limit = Math.min(Math.max(Number(q.top ?? 100) || 100, 1), 1000);
    return { value: (await o.store.deadJobs(limit)).map((j) => ({ ...j, dueAt: new Date(j.dueAt).toISOString() })) };
  });

  app.get('/_emulator/calls/:id/recordingSegments', async (request) => {
    const id = normaliseId((request.params as { id: string }).id);
    if (!(await o.store.getCall(id))) throw new GraphError('CALL_NOT_FOUND');
    return { value: await o.store.listSegments(id) };
  });
}
