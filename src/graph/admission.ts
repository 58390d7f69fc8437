import type { FastifyReply, FastifyRequest } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { GRAPH_ERRORS, sendGraphError } from './graph-errors.js';

/**
 * Shed load is told to come back soon: an overload is a moment, and a client that honours Retry-After
 * (as Graph's SDKs do) spreads its retries instead of stampeding.
 */
const RETRY_AFTER_SECONDS = 1;
/** How often a drain looks at what is still in flight. */
const DRAIN_POLL_MS = 20;

/**
 * Admission control and the shutdown drain (docs/fidelity.md). A saturated server answers at once
 * instead of queuing without bound: a Graph request over `maxInFlight` (requests of this process whose
 * answer is not finished) gets 503 `serviceNotAvailable` with `Retry-After` before it authenticates or
 * touches storage, so the cap also bounds how many Graph writes can wait on the database. On shutdown,
 * `drain` stops accepting connections, answers new requests on open ones with 503 and `Connection: close`,
 * and waits (bounded) for the requests in flight to be answered.
 */
export class Admission {
  /** Every request whose response has not closed: what a drain waits for. */
  private readonly open = new Set<FastifyReply>();
  private graph = 0;
  private draining = false;

  constructor(private readonly o: { maxInFlight: number }) {}

  /** Graph requests being served now. */
  get graphInFlight(): number { return this.graph; }

  /** Root onRequest hook: counts every request, and refuses new ones once a drain has begun. */
  readonly track = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    if (this.draining) {
      reply.header('connection', 'close');
      return this.refuse(request, reply, 'The service is shutting down. Please retry after the time in the Retry-After header.');
    }
    this.open.add(reply);
    // 'close' follows the end of every response, and a connection lost mid-request, on sockets and inject alike.
    reply.raw.once('close', () => this.open.delete(reply));
  };

  /** onRequest hook of the Graph scopes, before authentication: the in-flight cap. */
  readonly admit = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> => {
    if (this.o.maxInFlight > 0 && this.graph >= this.o.maxInFlight) return this.refuse(request, reply, GRAPH_ERRORS.SERVER_BUSY.message);
    this.graph++;
    reply.raw.once('close', () => { this.graph--; });
  };

  /**
   * Stops `server` accepting connections (idle kept-alive ones close now), refuses new requests, and
   * resolves true once every request in flight has been answered, or false after `timeoutMs`. Streams
   * that never end (the dashboard's server-sent events, a hijacked reply) are not waited for: closing
   * the app closes them.
   */
  async drain(server: { listening: boolean; close(): unknown } | null, timeoutMs: number): Promise<boolean> {
    this.draining = true;
    if (server?.listening) server.close();
    const deadline = Date.now() + timeoutMs;
    while (this.unanswered() > 0) {
      if (Date.now() >= deadline) return false;
      await sleep(DRAIN_POLL_MS);
    }
    return true;
  }

  /** Requests in flight whose answer has not been sent (a hijacked reply counts as sent). */
  unanswered(): number {
    let n = 0;
    for (const reply of this.open) if (!reply.sent) n++;
    return n;
  }

  private refuse(request: FastifyRequest, reply: FastifyReply, message: string): FastifyReply {
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
    const e = GRAPH_ERRORS.SERVER_BUSY;
    return sendGraphError(request, reply, e.status, e.code, message);
  }
}
