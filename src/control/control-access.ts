import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { isLoopbackHost } from '../domain/callback-uri.js';
import { GraphError } from '../graph/graph-errors.js';

export interface ControlAccessOptions {
  /** Null: loopback clients only. Otherwise `Authorization: Bearer <token>` from anywhere. */
  controlToken: string | null;
  /** Names the control plane answers to besides localhost and IP addresses: the --host it listens on, and --allowed-hosts. */
  listenHost: string;
  allowedHosts: readonly string[];
}

/** The request header that makes any control-plane request one a browser will not send cross-origin unasked. */
export const CONTROL_HEADER = 'x-graph-calls-control';

/** What a page on another origin may send without a CORS preflight (Fetch standard: CORS-safelisted request header). */
const SIMPLE_TYPES = new Set(['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** The dashboard's page and the paths that lead to it (dashboard.routes.ts). */
const PAGES = new Set(['', '/_emulator', '/_emulator/ui']);

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a), y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const refuse = (why: string) => new GraphError('CONTROL_FORBIDDEN', why);

/**
 * Who may drive the control plane and the dashboard (docs/control-plane.md, "Access and safety"). It needs
 * no Graph token, so beyond the loopback-or-control-token rule it must not obey a browser that a web page
 * points at it:
 * - a state-changing request must be one no page can send cross-origin without a CORS preflight (which
 *   graph-calls never grants): a JSON (or other non-form) Content-Type, or the `x-graph-calls-control: 1`
 *   header. A bodyless or text/plain POST to /_emulator/reset from any page would otherwise wipe state;
 * - an `Origin` other than the server's own is refused outright;
 * - without a control token, `Host` must name this server (localhost, any IP address, --host, --allowed-hosts):
 *   a DNS-rebinding page reaches 127.0.0.1 under its own name, which this refuses. With a control token
 *   the token is the guard, and the control plane answers under any name, as before.
 */
export function controlAccess(o: ControlAccessOptions): (request: FastifyRequest) => Promise<void> {
  const names = new Set(['localhost', o.listenHost, ...o.allowedHosts].map((h) => h.toLowerCase()));
  return async (request) => {
    // The dashboard's page itself holds no data and changes nothing: with a control token it is served to
    // anyone, so a browser (which cannot add the header to a navigation) can load it and ask for the token.
    if (o.controlToken && request.method === 'GET' && PAGES.has(request.url.split('?', 1)[0]!.replace(/\/+$/, '').toLowerCase())) return;
    if (o.controlToken) {
      const h = request.headers.authorization ?? '';
      if (!h.toLowerCase().startsWith('bearer ') || !sameSecret(h.slice(7).trim(), o.controlToken)) {
        throw refuse('The control plane needs `Authorization: Bearer <control token>` (the --control-token graph-calls was started with).');
      }
    } else {
      if (!isLoopbackHost(request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '')) {
        throw refuse('The control plane answers loopback clients only; start graph-calls with --control-token to open it to others.');
      }
      // IP literals cannot be rebound: only a name a page's owner controls can point at us.
      const host = request.hostname.toLowerCase();
      if (!names.has(host) && !isIP(host.replace(/^\[(.*)\]$/, '$1'))) {
        throw refuse(`The control plane does not answer to Host '${host}' (DNS rebinding guard); reach it as localhost or by IP address, or add the name with --allowed-hosts.`);
      }
    }
    const origin = request.headers.origin;
    if (origin !== undefined && origin.toLowerCase() !== `${request.protocol}://${request.host}`.toLowerCase()) {
      throw refuse(`The control plane refuses requests from other origins (Origin '${origin}').`);
    }
    if (!SAFE_METHODS.has(request.method) && request.headers[CONTROL_HEADER] !== '1') {
      const type = request.headers['content-type']?.split(';', 1)[0]!.trim().toLowerCase();
      if (type === undefined || type === '' || SIMPLE_TYPES.has(type)) {
        throw refuse(`A state-changing control-plane request must send Content-Type: application/json or the header '${CONTROL_HEADER}: 1' (so no web page can send it unasked); got ${type ? `'${type}'` : 'no Content-Type'}.`);
      }
    }
  };
}
