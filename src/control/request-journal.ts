import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { JournalEntry } from '../domain/journal.js';
import type { CallStore } from '../domain/ports.js';
import { INJECTED, type WithFault } from '../faults/graph-faults.hook.js';

export type { JournalEntry };

const MAX_BODY = 64 * 1024;
const CALL_IN_PATH = /\/calls\/([0-9a-f-]{36})/i;
const START = Symbol('journalStart');
const BODY = Symbol('journalBody');
type Tracked = FastifyRequest & { [START]?: number; [BODY]?: string | null };

const headersOf = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
const clip = (s: string | null) => (s && s.length > MAX_BODY ? `${s.slice(0, MAX_BODY)}…` : s);

/** Entries waiting to be written are flushed this often, or sooner when this many wait. */
const FLUSH_MS = 100;
const FLUSH_AT = 200;
/** Entries held in memory while the database is slow; past this, the oldest unwritten ones are dropped. */
const MAX_UNWRITTEN = 2000;

/**
 * The request journal: the last `capacity` Graph and token requests with their answers, kept in the
 * database (every instance's traffic in one journal), and exported as HAR at /_emulator/requests/har.
 * Entries are written in batches off the request path; a read first writes what this instance holds,
 * so a client sees its own requests at once (another instance's within about FLUSH_MS).
 */
export class RequestJournal {
  private unwritten: Array<Omit<JournalEntry, 'seq'>> = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private dropped = 0;

  constructor(private readonly store: CallStore, private readonly capacity = 5000) {}

  install(app: FastifyInstance): void {
    app.addHook('onRequest', async (request) => { (request as Tracked)[START] = performance.now(); });
    app.addHook('onSend', async (request, _reply, payload) => {
      (request as Tracked)[BODY] = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
      return payload;
    });
    app.addHook('onResponse', async (request, reply) => {
      if (request.url.startsWith('/_emulator')) return;
      const t = request as Tracked;
      const body = request.body;
      this.push({
        at: Date.now(), method: request.method, url: request.url, status: reply.statusCode,
        durationMs: performance.now() - (t[START] ?? performance.now()),
        requestId: (reply.getHeader('request-id') as string | undefined) ?? null,
        callId: CALL_IN_PATH.exec(request.url)?.[1]?.toLowerCase() ?? null,
        injectedFault: (request as WithFault)[INJECTED] ?? null,
        requestHeaders: headersOf({ ...request.headers, authorization: request.headers.authorization ? 'Bearer …' : undefined }),
        requestBody: clip(body === undefined || body === null || Buffer.isBuffer(body) ? null : JSON.stringify(body)),
        responseHeaders: headersOf(reply.getHeaders() as Record<string, unknown>),
        responseBody: clip(t[BODY] ?? null),
      });
    });
    app.addHook('onClose', async () => this.flush());
  }

  async list(f: { callId?: string; after?: number; limit: number; newestFirst?: boolean }): Promise<JournalEntry[]> {
    await this.flush();
    return this.store.listJournal({ callId: f.callId, afterSeq: f.after, limit: f.limit, newestFirst: f.newestFirst });
  }

  /** Writes what waits; serialised, so entries keep their order. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.unwritten;
    this.unwritten = [];
    this.flushing = this.flushing.then(async () => {
      if (batch.length === 0) return;
      await this.store.write((tx) => tx.appendJournal(batch, this.capacity)).catch(() => { this.dropped += batch.length; });
    });
    return this.flushing;
  }

  /** Entries lost because the database could not take them (a debugging aid: never worth a failed request). */
  get droppedEntries(): number {
    return this.dropped;
  }

  private push(e: Omit<JournalEntry, 'seq'>): void {
    this.unwritten.push(e);
    if (this.unwritten.length > MAX_UNWRITTEN) {
      this.dropped += this.unwritten.length - MAX_UNWRITTEN;
      this.unwritten.splice(0, this.unwritten.length - MAX_UNWRITTEN);
    }
    if (this.unwritten.length >= FLUSH_AT) void this.flush();
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
        comment: e.injectedFault ? `injected fault: ${e.injectedFault}` : '',
      })),
    },
  };
}
