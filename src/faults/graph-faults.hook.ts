import type { FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { principalOf } from '../graph/auth.hook.js';
import { GRAPH_ERRORS, sendGraphError } from '../graph/graph-errors.js';
import type { FaultEngine, GraphFault } from './fault-rules.js';

const CALL_IN_PATH = /\/calls\/([0-9a-f-]{36})/i;
export const INJECTED = Symbol('injectedFault');
export type WithFault = FastifyRequest & { [INJECTED]?: string };

/**
 * onRequest hook for Graph routes, after authentication: applies the first graph-side fault rule that
 * matches. Injected answers carry `x-graph-calls-fault: <rule id>` and are marked in the request journal.
 */
export function graphFaults(faults: FaultEngine) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    const p = principalOf(request);
    const rule = await faults.pick({
      side: 'graph', path: request.url.split('?')[0]!, method: request.method, appId: p.appId,
      callId: CALL_IN_PATH.exec(request.url)?.[1],
    });
    if (!rule) return;
    (request as WithFault)[INJECTED] = rule.id;
    reply.header('x-graph-calls-fault', rule.id);
    const a = rule.action as GraphFault;
    switch (a.type) {
      case 'latency': {
        const ms = a.ms ?? a.minMs! + Math.random() * (a.maxMs! - a.minMs!);
        await sleep(ms);
        return;
      }
      case 'reset':
        request.raw.socket.destroy();
        return reply.hijack();
      case 'status':
        return sendGraphError(request, reply, a.status, a.code ?? defaultCode(a.status), a.message ?? `Injected fault '${rule.id}'.`);
      case 'throttle':
        // Graph's throttling answer, as src/graph/throttle.hook.ts gives it: the catalogue's 429 and Retry-After.
        reply.header('retry-after', String(a.retryAfterSeconds ?? 2));
        return sendGraphError(request, reply, GRAPH_ERRORS.TOO_MANY_REQUESTS.status, GRAPH_ERRORS.TOO_MANY_REQUESTS.code, GRAPH_ERRORS.TOO_MANY_REQUESTS.message);
    }
  };
}

function defaultCode(status: number): string {
  if (status === 503) return 'serviceNotAvailable';
  if (status === 504) return 'gatewayTimeout';
  if (status >= 500) return 'UnknownError';
  return 'BadRequest';
}
