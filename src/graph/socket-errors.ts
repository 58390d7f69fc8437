import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GRAPH_ERRORS, graphErrorBody, type GraphErrorName } from './graph-errors.js';
import { AGS_DIAGNOSTIC, JSON_CONTENT_TYPE } from './wire.js';

/**
 * Answers node's HTTP server gives itself, before fastify sees a request: a request it cannot parse
 * (fastify's `clientErrorHandler`) and an `Expect` other than 100-continue (the server's
 * `checkExpectation` event). Without these, node writes a bare 400/414/417/431 with no body; with them
 * the answer is Graph's envelope with the request-id headers, like every other answer.
 */

/** The caller's client-request-id, echoed as on every other answer; else request-id. */
function idsFor(sent: string | undefined): { requestId: string; clientRequestId: string } {
  const requestId = randomUUID();
  const ok = typeof sent === 'string' && sent.length > 0 && sent.length <= 128 && /^[\x20-\x7e]+$/.test(sent);
  return { requestId, clientRequestId: ok ? sent : requestId };
}

function graphHeaders(ids: { requestId: string; clientRequestId: string }, body: string): Record<string, string> {
  return {
    'content-type': JSON_CONTENT_TYPE,
    'content-length': String(Buffer.byteLength(body)),
    'request-id': ids.requestId,
    'client-request-id': ids.clientRequestId,
    'x-ms-ags-diagnostic': AGS_DIAGNOSTIC,
    'strict-transport-security': 'max-age=31536000',
    'cache-control': 'no-cache',
    connection: 'close',
  };
}

/** A whole HTTP/1.1 response carrying Graph's envelope, for writing straight to a socket. */
export function rawGraphResponse(name: GraphErrorName, message: string, clientRequestId?: string): string {
  const e = GRAPH_ERRORS[name];
  const ids = idsFor(clientRequestId);
  const body = graphErrorBody(e.code, message, ids);
  const head = Object.entries(graphHeaders(ids, body)).map(([k, v]) => `${k}: ${v}`).join('\r\n');
  return `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status] ?? 'Error'}\r\n${head}\r\n\r\n${body}`;
}

/** node's request line limit is the header limit (16 KiB by default): a request line this long is the URL's fault. */
const LONG_REQUEST_LINE = 8 * 1024;

function classify(err: NodeJS.ErrnoException & { rawPacket?: Buffer }): { name: GraphErrorName; message: string } {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return { name: 'REQUEST_TIMEOUT', message: GRAPH_ERRORS.REQUEST_TIMEOUT.message };
    case 'HPE_HEADER_OVERFLOW': {
      // The request line counts towards the same limit: tell a long URL (414) from many headers (431).
      const packet = err.rawPacket?.toString('latin1', 0, LONG_REQUEST_LINE + 2) ?? '';
      const eol = packet.indexOf('\r\n');
      if (/^[A-Za-z]+ /.test(packet) && (eol < 0 || eol >= LONG_REQUEST_LINE)) {
        return { name: 'URI_TOO_LONG', message: `${GRAPH_ERRORS.URI_TOO_LONG.message} The request line must be shorter than ${LONG_REQUEST_LINE} bytes.` };
      }
      return { name: 'HEADERS_TOO_LARGE', message: GRAPH_ERRORS.HEADERS_TOO_LARGE.message };
    }
    default:
      return { name: 'BAD_HTTP_REQUEST', message: `${GRAPH_ERRORS.BAD_HTTP_REQUEST.message} (${err.code ?? 'parse error'})` };
  }
}

function sentClientRequestId(packet: Buffer | undefined): string | undefined {
  if (!packet) return undefined;
  const m = /\r\nclient-request-id:[ \t]*([^\r\n]*?)[ \t]*\r\n/i.exec(packet.toString('latin1', 0, 64 * 1024));
  return m?.[1];
}

/**
 * fastify's `clientErrorHandler`: node could not parse the request (bad request line, headers over the
 * limit, a timeout). Writes the envelope and closes the connection; a socket that is already gone, or
 * that was already answered (the parser reports each later chunk again), is left alone.
 */
export function graphClientErrorHandler(error: Error, socket: Socket): void {
  const err = error as NodeJS.ErrnoException & { rawPacket?: Buffer };
  if (!Buffer.isBuffer(err.rawPacket)) err.rawPacket = undefined;
  if (err.code === 'ECONNRESET' || socket.destroyed || !socket.writable) return;
  // A response already begun on this connection cannot be followed by another.
  const current = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (current?.headersSent) { socket.destroy(err); return; }
  const { name, message } = classify(err);
  // end(), not write() + destroy(): the client still sending its oversized headers would get a reset
  // instead of the answer. The rest of what it sends is read and dropped until it closes, or 2 s pass.
  socket.end(rawGraphResponse(name, message, sentClientRequestId(err.rawPacket)));
  const timer = setTimeout(() => socket.destroy(), 2000);
  timer.unref();
  socket.once('close', () => clearTimeout(timer));
}

/** The HTTP server's `checkExpectation` event: `Expect` with anything but 100-continue is a 417. */
export function answerUnmetExpectation(req: IncomingMessage, res: ServerResponse): void {
  const sent = req.headers['client-request-id'];
  const ids = idsFor(typeof sent === 'string' ? sent : undefined);
  const e = GRAPH_ERRORS.EXPECTATION_FAILED;
  const body = graphErrorBody(e.code, `${e.message} Got 'Expect: ${String(req.headers.expect).slice(0, 200)}'.`, ids);
  res.writeHead(e.status, graphHeaders(ids, body));
  res.end(body);
}
