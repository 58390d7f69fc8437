import type { FastifyInstance, FastifyRequest } from 'fastify';
import { INJECTED, type WithFault } from '../faults/graph-faults.hook.js';

export interface JournalEntry {
  seq: number;
  at: number;
  method: string;
  url: string;
  status: number;
  durationMs: number;
  requestId: string | null;
  callId: string | null;
  /** Fault rule that answered or delayed it, if any. */
  injectedFault: string | null;
  requestHeaders: Record<string, string>;
  requestBody: string | null;
  responseHeaders: Record<string, string>;
  responseBody: string | null;
}

const MAX_BODY = 64 * 1024;
const CALL_IN_PATH = /\/calls\/([0-9a-f-]{36})/i;
const START = Symbol('journalStart');
const BODY = Symbol('journalBody');
type Tracked = FastifyRequest & { [START]?: number; [BODY]?: string | null };

const headersOf = (h: Record<string, unknown>) => Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]));
const clip = (s: string | null) => (s && s.length > MAX_BODY ? `${s.slice(0, MAX_BODY)}…` : s);

/**
 * The request journal: the last `capacity` Graph and token requests with their answers, kept in memory
 * (a debugging aid, not state: a restart starts it afresh). Exported as HAR at /_emulator/requests/har.
 */
export class RequestJournal {
  private readonly entries: JournalEntry[] = [];
  private seq = 0;

  constructor(private readonly capacity = 5000) {}

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
        seq: ++this.seq, at: Date.now(), method: request.method, url: request.url, status: reply.statusCode,
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
  }

  list(f: { callId?: string; after?: number; limit: number }): JournalEntry[] {
    return this.entries.filter((e) => e.seq > (f.after ?? 0) && (!f.callId || e.callId === f.callId)).slice(0, f.limit);
  }

  private push(e: JournalEntry): void {
    this.entries.push(e);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
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
