import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { resolve } from 'node:path';
import { rootCertificates } from 'node:tls';
import { CliError, str, type CliIo, type Flags } from './io.js';

/**
 * How the CLI reaches a graph-calls: its base URL and, for `https://`, the certificate authorities it
 * trusts — the system's, NODE_EXTRA_CA_CERTS, and graph-calls' own local CA (`<data>/tls/ca.pem`, made by
 * `--https`), so commands work against `npm start -- --https` with nothing to set up.
 */
export interface Target {
  base: string;
  /** The trusted CAs (PEM), or undefined for http. */
  ca: string[] | undefined;
  /** The local CA file that was found (or looked for), for error messages. */
  localCa: string;
}

export const DEFAULT_URL = 'http://127.0.0.1:4000';
const TIMEOUT_MS = 10_000;

/** `--url` (or GRAPH_CALLS_URL), `--ca FILE`, `--data DIR` (or GRAPH_CALLS_DATA) for the local CA. */
export function targetOf(flags: Flags, io: CliIo): Target {
  const base = (str(flags, 'url') ?? io.env.GRAPH_CALLS_URL ?? DEFAULT_URL).replace(/\/+$/, '');
  let parsed: URL;
  try { parsed = new URL(base); } catch { throw new CliError(`--url must be an http(s) URL, got '${base}'`, 2); }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new CliError(`--url must be an http(s) URL, got '${base}'`, 2);
  const cwd = io.cwd ?? process.cwd();
  const explicitCa = str(flags, 'ca');
  const localCa = explicitCa ? resolve(cwd, explicitCa) : resolve(cwd, str(flags, 'data') ?? io.env.GRAPH_CALLS_DATA ?? '.graph-calls', 'tls', 'ca.pem');
  if (parsed.protocol === 'http:') return { base, ca: undefined, localCa };
  if (explicitCa && !existsSync(localCa)) throw new CliError(`--ca ${localCa}: no such file`, 2);
  const ca = [...rootCertificates];
  const extra = io.env.NODE_EXTRA_CA_CERTS;
  if (extra && existsSync(extra)) ca.push(readFileSync(extra, 'utf8'));
  if (existsSync(localCa)) ca.push(readFileSync(localCa, 'utf8'));
  return { base, ca, localCa };
}

/** OpenSSL's and Node's codes for a certificate the client does not accept. */
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_UNTRUSTED', 'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Names what went wrong on the way: nothing listening, an untrusted certificate, the wrong scheme. */
export function connectionProblem(err: unknown, target: Target, url: string): CliError {
  const e = err as Error & { code?: string };
  const code = e.code ?? '';
  const origin = new URL(url).origin;
  if (CERT_CODES.has(code)) {
    const fix = existsSync(target.localCa)
      ? `it is not the certificate of the local CA in ${target.localCa}; pass the CA that signed it with --ca FILE`
      : `no local CA at ${target.localCa}: pass --data DIR (the server's data directory) or --ca FILE`;
    return new CliError(`the certificate of ${origin} is not trusted (${code}: ${e.message}); ${fix}`);
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(e.message)) {
    return new CliError(`${origin} does not answer TLS (${code || e.message}); is graph-calls serving http? Try ${origin.replace(/^https:/, 'http:')}`);
  }
  if (code === 'ECONNRESET' && origin.startsWith('http:')) {
    return new CliError(`${origin} closed the connection without an answer (ECONNRESET); if graph-calls runs with --https, use ${origin.replace(/^http:/, 'https:')}`);
  }
  if (code === 'ETIMEDOUT' || e.name === 'TimeoutError') return new CliError(`graph-calls at ${origin} did not answer within ${TIMEOUT_MS / 1000} s`);
  return new CliError(`cannot reach graph-calls at ${origin} (${code || e.message}); is it running?`);
}

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: IncomingMessage;
}

/** One HTTP request; resolves once the status line and headers arrived (the body is left to the caller). */
export function send(target: Target, path: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams } = {}): Promise<Answer> {
  const url = path.startsWith('http') ? path : `${target.base}${path}`;
  const u = new URL(url);
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers };
  // The control plane obeys only requests a web page could not have sent (docs/control-plane.md, "Access and safety").
  if (u.pathname.startsWith('/_emulator/')) headers['x-graph-calls-control'] = '1';
  let payload: Buffer | undefined;
  if (init.body !== undefined) {
    if (init.body instanceof URLSearchParams) headers['content-type'] ??= 'application/x-www-form-urlencoded';
    payload = Buffer.from(String(init.body));
    headers['content-length'] = String(payload.length);
  }
  const make = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolveAnswer, reject) => {
    const req = make(u, { method: init.method ?? 'GET', headers, ca: target.ca, timeout: TIMEOUT_MS, agent: false }, (res) => {
      req.setTimeout(0);
      resolveAnswer({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (err) => reject(connectionProblem(err, target, url)));
    req.end(payload);
  });
}

async function text(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The error a failed answer carries: Graph's envelope, Entra's error body, or the text itself. */
export function problemOf(status: number, body: string): string {
  try {
    const doc = JSON.parse(body) as { error?: { message?: string } | string; error_description?: string };
    return `${status}: ${doc.error_description ?? (typeof doc.error === 'object' ? doc.error.message : doc.error) ?? body}`;
  } catch {
    return `${status}: ${body}`;
  }
}

/** A JSON request; a non-2xx answer is a CliError naming the status and the server's message. */
export async function requestJson(target: Target, path: string, init: { method?: string; body?: unknown; form?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<any> {
  const body = init.form ?? (init.body === undefined ? undefined : JSON.stringify(init.body));
  const headers = { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers };
  const res = await send(target, path, { method: init.method, headers, body });
  const raw = await text(res.body);
  if (res.status < 200 || res.status >= 300) throw new CliError(problemOf(res.status, raw));
  return raw ? JSON.parse(raw) : undefined;
}
