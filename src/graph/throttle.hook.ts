import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenBuckets } from '../shared/token-bucket.js';
import { principalOf } from './auth.hook.js';
import { GRAPH_ERRORS, sendGraphError } from './graph-errors.js';

export interface ThrottleOptions {
  /** Requests each app may make per window in each tenant (Graph: 50,000). */
  limit: number;
  /** Graph: 15 s. */
  windowMs: number;
  now?: () => number;
}

/** The calls resource, as the router sees it (after the `/app/calls` alias is rewritten). */
const CALLS_PATH = /^\/(?:v1\.0|beta)\/communications\/calls(?:[/?]|$)/i;

/**
 * onRequest hook for Graph routes, after authentication: Graph's throttling of the calls resource. The
 * limit is per app per tenant (the token's `appid` and `tid`), as Graph's "Cloud communication service
 * limits" state it (throttling-limits: Calls, 50,000 requests per 15 seconds per app per tenant); every
 * method counts. Over it: 429 `TooManyRequests` with `Retry-After` in whole seconds, before any fault rule
 * or handler runs, as Graph's gateway refuses before the service sees the request. Counted in this
 * process only (fidelity.md). Recording reads under /users and /communications/onlineMeetings are other
 * Graph services with other limits, and are not counted here.
 */
export function throttle(o: ThrottleOptions) {
  const buckets = new TokenBuckets(o.limit, o.windowMs, o.now);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    if (!CALLS_PATH.test(request.url)) return;
    const p = principalOf(request);
    const waitMs = buckets.take(`${p.appId}|${p.tenantId}`);
    if (waitMs === 0) return;
    reply.header('retry-after', String(Math.ceil(waitMs / 1000)));
    const e = GRAPH_ERRORS.TOO_MANY_REQUESTS;
    return sendGraphError(request, reply, e.status, e.code, e.message);
  };
}
