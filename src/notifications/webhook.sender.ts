import { lookup as dnsLookup } from 'node:dns/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CallbackPolicy } from '../domain/callback-uri.js';
import { remember } from '../shared/bounded-map.js';

/** What one POST to a bot's callbackUri came back with. */
export interface WebhookResponse {
  status: number;
  /** `Location` header (redirects), if any. */
  location: string | null;
  /** `Retry-After` in ms (429/503), if any. */
  retryAfterMs: number | null;
  latencyMs: number;
  /** Something about the answer worth journalling (its body was cut at the cap). */
  note?: string;
  /** With `keepBodyBytes`: the start of the response body as text, and its Content-Type (subscription handshakes). */
  body?: string;
  contentType?: string | null;
}

export interface PostOptions {
  /** Keep up to this many bytes of the response body (the subscription validation handshake reads the echo). */
  keepBodyBytes?: number;
}

export class WebhookError extends Error {
  /**
   * `final`: graph-calls would not send it — the callbackUri's host is one it does not call — so a retry
   * cannot help and the notification is settled at once.
   */
  constructor(message: string, readonly latencyMs: number, readonly final = false) {
    super(message);
  }
}

/** Outbound HTTP behind a port: the delivery worker never opens a socket itself. */
export interface WebhookSender {
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, opts?: PostOptions): Promise<WebhookResponse>;
  /** Closes kept-alive connections (at shutdown). */
  close?(): void;
}

/** Name resolution behind a port, so tests can map a name to an address without DNS. */
export type Resolver = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

export const systemResolver: Resolver = (hostname) => dnsLookup(hostname, { all: true });

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, in ms. Whatever a bot sends, the result is a
 * finite number (the retry policy clamps it to --delivery-retry-after-max-ms): `1e308` seconds is not forever.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | null {
  const v = value?.trim();
  if (!v) return null;
  const secs = Number(v);
  if (!Number.isNaN(secs)) return secs >= 0 ? Math.min(secs * 1000, Number.MAX_SAFE_INTEGER) : null;
  const at = Date.parse(v);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - now), Number.MAX_SAFE_INTEGER) : null;
}

class CallbackHostRefused extends Error {
  readonly code = 'ERR_CALLBACK_HOST_REFUSED';
}

/**
 * The connect-time half of the callbackUri rule: a `lookup` for node's sockets that resolves the name and
 * hands the socket only addresses the policy allows. The check is on the address the socket then
 * connects to, so a name that resolved to a public address at creation cannot rebind to 10.x later.
 */
export function guardedLookup(callbacks: CallbackPolicy, resolve: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
    resolve(hostname).then(
      (found) => {
        const candidates = found.filter((a) => !family || a.family === family);
        const allowed = candidates.filter((a) => callbacks.addressProblem(a.address, hostname) === null);
        let err: NodeJS.ErrnoException | null = null;
        if (allowed.length === 0) {
          err = candidates.length > 0
            ? new CallbackHostRefused(callbacks.addressProblem(candidates[0]!.address, hostname)!)
            : Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
        }
        // Off the promise chain: what the socket does with the answer is not this promise's business.
        process.nextTick(() => {
          if (err) callback(err, '');
          else if (options.all) callback(null, allowed.map((a) => ({ address: a.address, family: a.family })));
          else callback(null, allowed[0]!.address, allowed[0]!.family);
        });
      },
      (e: NodeJS.ErrnoException) => process.nextTick(() => callback(e, '')),
    );
  };
}

export interface HttpSenderOptions {
  /** Where callbacks may go (domain/callback-uri.ts): checked on the URL, and on each resolved address. */
  callbacks: CallbackPolicy;
  /** `--callback-response-bytes`: response body read before the connection is dropped. */
  maxResponseBytes: number;
  resolve?: Resolver;
}

/**
 * Kept-alive connections idle longer than this are closed by us before the bot's server closes them (node's
 * default keep-alive is 5 s), so a POST rarely meets a connection the far end is closing. Servers that send
 * `Keep-Alive: timeout=N` get N-1 s instead (node's agent reads the hint).
 */
const IDLE_SOCKET_MS = 4000;

/** Callback URLs whose verdict the sender keeps. */
const VERDICTS_KEPT = 1024;

const first = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v) ?? null;

/**
 * The real sender: node:http(s) with kept-alive connections (cheaper than fetch: no web streams, no abort
 * signals), one timeout over the whole attempt (lookup, connect, TLS, answer and body), redirects not
 * followed (a redirect re-homes the call instead, after the retry policy has checked the target), and a
 * cap on the response body: past it the connection is destroyed, so a bot answering with gigabytes costs
 * --callback-response-bytes. TLS trusts node's CA store, NODE_EXTRA_CA_CERTS included.
 */
export function httpSender(o: HttpSenderOptions): WebhookSender {
  const lookup = guardedLookup(o.callbacks, o.resolve ?? systemResolver);
  const agents = { http: new HttpAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }), https: new HttpsAgent({ keepAlive: true, timeout: IDLE_SOCKET_MS }) };
  // The URL rule depends on the URL alone, and a call's URL repeats on every notification: its verdict and
  // parsed URL are kept (bounded; the oldest judged is forgotten first) instead of parsing it twice per POST.
  // node's request reads the URL it is given and never changes it, so one object serves every POST.
  const verdicts = new Map<string, { problem: string | null; target: URL | null }>();
  const judged = (url: string) => {
    const known = verdicts.get(url);
    if (known) return known;
    const problem = o.callbacks.uriProblem(url);
    return remember(verdicts, url, { problem, target: problem ? null : new URL(url) }, VERDICTS_KEPT);
  };
  return {
    post(url, headers, body, timeoutMs, opts = {}) {
      const t0 = performance.now();
      // Literal addresses never reach `lookup`: the URL rule judges them (and anything stored before it).
      const { problem, target } = judged(url);
      if (problem || !target) return Promise.reject(new WebhookError(`graph-calls does not call this callbackUri: ${problem}`, 0, true));
      const tls = target.protocol === 'https:';
      return new Promise<WebhookResponse>((resolve, reject) => {
        let response: IncomingMessage | null = null;
        let settled = false;
        const kept: Buffer[] = [];
        let keptBytes = 0;
        const settle = (fn: () => void) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          fn();
        };
        const answered = (res: IncomingMessage, note?: string) => settle(() => resolve({
          status: res.statusCode ?? 0,
          location: first(res.headers.location),
          retryAfterMs: parseRetryAfter(first(res.headers['retry-after']), Date.now()),
          latencyMs: performance.now() - t0,
          ...(note ? { note } : {}),
          ...(opts.keepBodyBytes ? { body: Buffer.concat(kept).toString('utf8'), contentType: first(res.headers['content-type']) } : {}),
        }));
        const failed = (message: string, final = false) => settle(() => reject(new WebhookError(message, performance.now() - t0, final)));

        const req = (tls ? httpsRequest : httpRequest)(target, {
          method: 'POST',
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          agent: tls ? agents.https : agents.http,
          lookup,
        });
        const timer = setTimeout(() => {
          // A bot that has answered has answered, however slowly its body trickles in.
          if (response) answered(response, `response body not finished within ${timeoutMs} ms`);
          else failed(`timed out after ${timeoutMs} ms`);
          req.destroy();
        }, timeoutMs);
        timer.unref();
        req.on('response', (res) => {
          response = res;
          let read = 0;
          res.on('data', (chunk: Buffer) => {
            read += chunk.length;
            if (opts.keepBodyBytes && keptBytes < opts.keepBodyBytes) {
              const piece = chunk.subarray(0, opts.keepBodyBytes - keptBytes);
              kept.push(piece);
              keptBytes += piece.length;
            }
            if (read <= o.maxResponseBytes) return;
            answered(res, `response body over ${o.maxResponseBytes} bytes (--callback-response-bytes): the rest was not read`);
            res.destroy();
          });
          // A body cut short by the bot still leaves its status.
          res.on('end', () => answered(res));
          res.on('error', () => answered(res));
          res.on('close', () => answered(res));
        });
        req.on('error', (err: NodeJS.ErrnoException) => {
          if (response) answered(response);
          else if (err instanceof CallbackHostRefused) failed(err.message, true);
          else failed(err.code ?? err.message);
        });
        req.end(body);
      });
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}
