import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { JournalEntry } from '../domain/journal.js';
import type { CallStore } from '../domain/ports.js';
import { INJECTED, type WithFault } from '../faults/graph-faults.hook.js';

export type { JournalEntry };

const CALL_IN_PATH = /\/calls\/([0-9a-f-]{36})/i;
const START = Symbol('journalStart');
const BODY = Symbol('journalBody');
const DONE = Symbol('journalDone');
type Tracked = FastifyRequest & { [START]?: number; [BODY]?: string | null; [DONE]?: true };
type Unwritten = Omit<JournalEntry, 'seq'>;

/** Entries waiting to be written are flushed this often, or sooner when this many wait. */
const FLUSH_MS = 100;
const FLUSH_AT = 200;
/** Entries held in memory while the database is slow; past this (or the byte budget), the oldest unwritten ones are dropped. */
const MAX_UNWRITTEN = 2000;

export interface JournalLimits {
  /** Entries kept in the database (--journal-entries). */
  capacity: number;
  /** Each journalled body is cut to this many bytes (--journal-body-bytes). */
  bodyBytes: number;
  /** Bytes of entries held in memory until written (--journal-buffer-bytes). */
  bufferBytes: number;
}

/** What journals and HAR files must never show: a client's credentials and the tokens issued to it. */
const REDACTED = '[redacted]';
const SECRET_FIELDS = new Set(['client_secret', 'client_assertion', 'access_token', 'refresh_token', 'id_token', 'password']);
// JSON members as OAuth (snake_case) and graph-calls' own API (camelCase) spell them. Every journalled body
// passes here, so a cheap test of the common prefixes comes first (it skips nearly every Graph body).
const MAYBE_SECRET = /"(?:client_|clientS|access|refresh|id_token|password)/;
const SECRET_MEMBER = /"(client_secret|clientSecret|client_assertion|access_token|accessToken|refresh_token|refreshToken|id_token|password)"(\s*:\s*)"(?:[^"\\]|\\.)*"/g;
const redactJson = (s: string) => (MAYBE_SECRET.test(s) ? s.replace(SECRET_MEMBER, `"$1"$2"${REDACTED}"`) : s);
/** A query string can carry credentials too (a client that puts the form in the URL): their values are redacted. */
const SECRET_IN_QUERY = /[?&](?:client_secret|client_assertion|access_token|refresh_token|id_token|password|clientSecret)=/i;
function redactUrl(url: string): string {
  if (!SECRET_IN_QUERY.test(url)) return url;
  const q = url.indexOf('?');
  const params = new URLSearchParams(url.slice(q + 1));
  for (const k of [...params.keys()]) if (SECRET_FIELDS.has(k.toLowerCase()) || k === 'clientSecret') params.set(k, REDACTED);
  return `${url.slice(0, q)}?${params.toString()}`;
}
/** Keeps the scheme (`Bearer`, `Basic`), never the credentials. */
const redactAuthorization = (v: string | undefined) => (v === undefined ? undefined : `${v.split(' ', 1)[0]} …`);

/**
 * At most `max` UTF-8 bytes of `s`. A clip is always a fresh string: V8 keeps a slice's parent alive, so a
 * 16 KiB slice of a 1 MiB body would hold the whole body (that is how a token-endpoint flood once exhausted
 * the heap). Round-tripping through a Buffer copies, and cuts on a character boundary. A body that fits is
 * kept as it is: the journal is handed fresh strings (JSON.stringify, fastify's serialised payloads).
 */
export function clipBody(s: string | null, max: number): string | null {
  if (s === null || (s.length <= max / 3) || (s.length <= max && Buffer.byteLength(s) <= max)) return s;
  const bytes = Buffer.from(s.length > max ? s.slice(0, max) : s, 'utf8');
  let end = Math.min(max, bytes.length);
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return `${bytes.toString('utf8', 0, end)}…`;
}

const headersOf = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));

/** A request body as the client sent it, less its secrets: forms stay forms (HAR shows them as such), anything parsed as JSON. */
function requestText(request: FastifyRequest): string | null {
  const body = request.body;
  if (body === undefined || body === null || Buffer.isBuffer(body)) return null;
  if (typeof body === 'object' && String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(body as Record<string, string>)) form.append(k, SECRET_FIELDS.has(k.toLowerCase()) ? REDACTED : String(v));
    return form.toString();
  }
  return redactJson(JSON.stringify(body));
}

/** The bytes journalled for an entry, roughly: what its strings take as UTF-8. */
function sizeOf(e: Unwritten): number {
  let n = 256 + Buffer.byteLength(e.url) + (e.requestBody ? Buffer.byteLength(e.requestBody) : 0) + (e.responseBody ? Buffer.byteLength(e.responseBody) : 0);
  for (const h of [e.requestHeaders, e.responseHeaders]) for (const k in h) n += k.length + Buffer.byteLength(h[k]!);
  return n;
}

/**
 * The request journal: the last `capacity` Graph and token requests with their answers, kept in the
 * database (every instance's traffic in one journal), and exported as HAR at /_emulator/requests/har.
 * Entries are written in batches off the request path; a read first writes what this instance holds,
 * so a client sees its own requests at once (another instance's within about FLUSH_MS).
 *
 * Every buffer is bounded in bytes, since anyone who can reach the port can fill it: bodies are
 * copied and cut to `bodyBytes` (a body is never kept whole once its answer is sent), entries waiting
 * for the database take at most `bufferBytes` (and MAX_UNWRITTEN), and at most one batch is being written
 * while the next waits. Credentials and issued tokens are redacted before anything is kept.
 */
export class RequestJournal {
  private unwritten: Unwritten[] = [];
  private unwrittenBytes = 0;
  private readonly sizes: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  /** A flush that has not started yet: it will take everything pushed until it does. */
  private queued: Promise<void> | null = null;
  private dropped = 0;
  private readonly limits: JournalLimits;

  constructor(private readonly store: CallStore, limits: Partial<JournalLimits> = {}) {
    this.limits = { capacity: 5000, bodyBytes: 16 * 1024, bufferBytes: 8 * 1024 * 1024, ...limits };
  }

  install(app: FastifyInstance): void {
    const max = this.limits.bodyBytes;
    app.addHook('onRequest', async (request, reply) => {
      (request as Tracked)[START] = performance.now();
      if (request.url.startsWith('/_emulator')) return;
      // A request never answered (an injected `reset` fault destroys the socket, and a hijacked reply
      // skips onResponse) is journalled when its response closes unfinished: status 0, no body, as HAR
      // writes a request that got no response.
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished && !(request as Tracked)[DONE]) this.record(request, reply, 0);
      });
    });
    app.addHook('onSend', async (request, _reply, payload) => {
      if (request.url.startsWith('/_emulator')) return payload;
      // Only the part that is kept is decoded: a large binary answer is never turned into a string whole.
      const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8', 0, Math.min(payload.length, max + 4)) : null;
      (request as Tracked)[BODY] = text === null ? null : clipBody(redactJson(text), max);
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      if (request.url.startsWith('/_emulator') || (request as Tracked)[DONE]) return;
      this.record(request, reply, reply.statusCode);
    });
    app.addHook('onClose', async () => this.flush());
  }

  private record(request: FastifyRequest, reply: FastifyReply, status: number): void {
    const t = request as Tracked;
    t[DONE] = true;
    const max = this.limits.bodyBytes;
    this.push({
      at: Date.now(), method: request.method, url: redactUrl(request.url), status,
      durationMs: performance.now() - (t[START] ?? performance.now()),
      requestId: (reply.getHeader('request-id') as string | undefined) ?? null,
      callId: CALL_IN_PATH.exec(request.url)?.[1]?.toLowerCase() ?? null,
      injectedFault: (request as WithFault)[INJECTED] ?? null,
      requestHeaders: headersOf({ ...request.headers, authorization: redactAuthorization(request.headers.authorization) }),
      requestBody: clipBody(requestText(request), max),
      responseHeaders: headersOf(reply.getHeaders() as Record<string, unknown>),
      responseBody: status === 0 ? null : t[BODY] ?? null,
    });
  }

  async list(f: { callId?: string; after?: number; limit: number; newestFirst?: boolean }): Promise<JournalEntry[]> {
    await this.flush();
    return this.store.listJournal({ callId: f.callId, afterSeq: f.after, limit: f.limit, newestFirst: f.newestFirst });
  }

  /**
   * Writes what waits, after any write in progress (so entries keep their order). While the database is
   * slow, entries wait in the bounded buffer, not in batches queued behind it.
   */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.queued) return this.queued;
    const step = this.flushing.then(() => {
      this.queued = null;
      const batch = this.unwritten;
      this.unwritten = [];
      this.unwrittenBytes = 0;
      this.sizes.length = 0;
      if (batch.length === 0) return;
      return this.store.write((tx) => tx.appendJournal(batch, this.limits.capacity)).catch(() => { this.dropped += batch.length; });
    });
    this.queued = step;
    this.flushing = step;
    return step;
  }

  /** Entries lost because the database could not take them, or not soon enough (a debugging aid: never worth a failed request). */
  get droppedEntries(): number {
    return this.dropped;
  }

  /** Bytes of entries waiting to be written (at most --journal-buffer-bytes, or one entry). */
  get bufferedBytes(): number {
    return this.unwrittenBytes;
  }

  private push(e: Unwritten): void {
    const size = sizeOf(e);
    this.unwritten.push(e);
    this.sizes.push(size);
    this.unwrittenBytes += size;
    let drop = 0;
    while (this.unwritten.length - drop > 1 && (this.unwritten.length - drop > MAX_UNWRITTEN || this.unwrittenBytes > this.limits.bufferBytes)) {
      this.unwrittenBytes -= this.sizes[drop]!;
      drop++;
    }
    if (drop) {
      this.unwritten.splice(0, drop);
      this.sizes.splice(0, drop);
      this.dropped += drop;
    }
    if (this.unwritten.length >= FLUSH_AT || this.unwrittenBytes >= this.limits.bufferBytes / 4) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), FLUSH_MS);
      this.timer.unref();
    }
  }
}

/** HAR 1.2 of journal entries (importable into browser dev tools and HAR viewers). */
export function toHar(entries: JournalEntry[], origin: string, version: string): unknown {
  const pairs = (h: Record<string, string>) => Object.entries(h).map(([name, value]) => ({ name, value }));
  return {
    log: {
      version: '1.2',
      creator: { name: 'graph-calls', version },
      entries: entries.map((e) => ({
        startedDateTime: new Date(e.at - e.durationMs).toISOString(),
        time: e.durationMs,
        request: {
          method: e.method, url: `${origin}${e.url}`, httpVersion: 'HTTP/1.1', headers: pairs(e.requestHeaders), cookies: [],
          queryString: [...new URL(`${origin}${e.url}`).searchParams].map(([name, value]) => ({ name, value })),
          ...(e.requestBody ? { postData: { mimeType: e.requestHeaders['content-type'] ?? 'application/json', text: e.requestBody } } : {}),
          headersSize: -1, bodySize: e.requestBody?.length ?? 0,
        },
        response: {
          status: e.status, statusText: '', httpVersion: 'HTTP/1.1', headers: pairs(e.responseHeaders), cookies: [],
          content: { size: e.responseBody?.length ?? 0, mimeType: e.responseHeaders['content-type'] ?? '', text: e.responseBody ?? '' },
          redirectURL: e.responseHeaders.location ?? '', headersSize: -1, bodySize: e.responseBody?.length ?? 0,
        },
        cache: {}, timings: { send: 0, wait: e.durationMs, receive: 0 },
        comment: [e.injectedFault ? `injected fault: ${e.injectedFault}` : '', e.status === 0 ? 'no response: the connection closed first' : ''].filter(Boolean).join('; '),
      })),
    },
  };
}
