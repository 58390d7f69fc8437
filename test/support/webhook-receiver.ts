import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as jose from 'jose';

/**
 * A bot's calling webhook, for tests: it validates the bearer token on EVERY request exactly as a Teams
 * calling bot does (Microsoft's comms-samples AuthenticationProvider, spec §3.2) — keys from the calling
 * platform's OpenID metadata (`jwks_uri` of `{graphCallsUrl}/v1/.well-known/OpenIdConfiguration`), issuer
 * https://api.botframework.com, audience = the bot's app id, RS256 only, `exp` enforced, a `tid` claim
 * required — and answers 403 when it does not verify. Authenticated notifications are recorded in arrival
 * order; a `respond` hook chooses each answer (status, headers, delay; default 202).
 */

export const NOTIFICATION_ISSUER = 'https://api.botframework.com';

/** One commsNotification the bot accepted (answered 2xx), with the HTTP request it came in. */
export interface ReceivedNotification {
  changeType: string;
  resourceUrl: string;
  /** The legacy `/app/calls/...` twin of resourceUrl. */
  resource: string | undefined;
  resourceData: any;
  callbackUri: string | undefined;
  /** The call the notification is about (from resourceUrl). */
  callId: string;
  /** X-Microsoft-Skype-Message-ID: stable across retries of one notification. */
  messageId: string;
  headers: IncomingHttpHeaders;
  /** The whole parsed commsNotifications body. */
  body: any;
  /** Verified token claims and protected header. */
  claims: jose.JWTPayload;
  tokenHeader: jose.ProtectedHeaderParameters;
  /** Request path (callbackUri path, e.g. `/callback`). */
  path: string;
  /** 1-based number of the authenticated request it arrived in. */
  request: number;
  /** Date.now() at arrival and when the answer was written. */
  receivedAt: number;
  answeredAt: number;
  status: number;
}

/** What the `respond` hook sees: one authenticated request. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any;
  messageId: string;
  callId: string | undefined;
  receivedAt: number;
}

/** One authenticated request and how it was answered (2xx, 5xx, redirects... everything the hook chose). */
export interface AnsweredRequest extends ReceivedRequest {
  n: number;
  status: number;
  /** The sender went away (e.g. its timeout) before the answer was written. */
  aborted: boolean;
}

export interface Rejection {
  reason: string;
  path: string;
  headers: IncomingHttpHeaders;
  receivedAt: number;
}

export interface Reply {
  /** Default 202. */
  status?: number;
  headers?: Record<string, string>;
  /** Wait this long before answering. */
  delayMs?: number;
  body?: string;
}

export type RespondHook = (req: ReceivedRequest, n: number) => Reply | void | undefined | Promise<Reply | void | undefined>;

export interface ReceiverOptions {
  /** Base URL of graph-calls (where the notification OpenID metadata lives). */
  graphCallsUrl: string;
  /** The bot's Microsoft App ID: the required audience. */
  appId: string;
  respond?: RespondHook;
  /** Listen on this port (to restart a receiver where it was); 0/undefined = any free port. */
  port?: number;
}

export interface Receiver {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** `${url}/callback`: a ready-made callbackUri. */
  callbackUri: string;
  /** Accepted (2xx-answered) notifications in arrival order. */
  notifications: ReceivedNotification[];
  /** Every authenticated request in arrival order, whatever it was answered. */
  requests: AnsweredRequest[];
  /** Requests whose token (or body) did not validate: answered 403 (400 for a bad body). */
  rejections: Rejection[];
  /** Accepted notifications about one call, in arrival order. */
  forCall(callId: string): ReceivedNotification[];
  /** Resolves with the accepted notifications once there are at least `n` (of `callId`, when given). */
  waitForCount(n: number, opts?: { callId?: string; timeoutMs?: number }): Promise<ReceivedNotification[]>;
  /** Replaces the respond hook. */
  setRespond(hook: RespondHook | undefined): void;
  close(): Promise<void>;
}

const CALL_ID = /^\/communications\/calls\/([^/]+)/;

/** The call a notification is about: from its URL, or, for a finished recording, from the recording's callId. */
export function callIdOf(resourceUrl: string | undefined, resourceData?: { callId?: unknown } | null): string | undefined {
  const fromUrl = resourceUrl ? CALL_ID.exec(resourceUrl)?.[1] : undefined;
  if (fromUrl) return fromUrl;
  return resourceUrl?.includes('/recordings/') && typeof resourceData?.callId === 'string' ? resourceData.callId : undefined;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startReceiver(o: ReceiverOptions): Promise<Receiver> {
  let respond = o.respond;
  const notifications: ReceivedNotification[] = [];
  const requests: AnsweredRequest[] = [];
  const rejections: Rejection[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());

  // Keys come from the metadata's jwks_uri, resolved once (and again after a failure), as bot SDKs do.
  let jwks: Promise<ReturnType<typeof jose.createRemoteJWKSet>> | null = null;
  const keys = () => {
    jwks ??= (async () => {
      const res = await fetch(`${o.graphCallsUrl}/v1/.well-known/OpenIdConfiguration`);
      if (!res.ok) throw new Error(`OpenID metadata: HTTP ${res.status}`);
      const meta = (await res.json()) as { jwks_uri?: string };
      if (!meta.jwks_uri) throw new Error('OpenID metadata has no jwks_uri');
      return jose.createRemoteJWKSet(new URL(meta.jwks_uri));
    })().catch((err) => { jwks = null; throw err; });
    return jwks;
  };

  async function authenticate(header: string | undefined) {
    const m = /^Bearer (\S+)$/.exec(header ?? '');
    if (!m) throw new Error('missing or malformed Authorization header');
    return jose.jwtVerify(m[1]!, await keys(), {
      issuer: NOTIFICATION_ISSUER,
      audience: o.appId,
      algorithms: ['RS256'],
      requiredClaims: ['exp', 'tid'],
    });
  }

  const sleep = (ms: number) => new Promise<void>((r) => { const t = setTimeout(() => { timers.delete(t); r(); }, ms); timers.add(t); });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const path = req.url ?? '/';
    const text = await readBody(req);
    const reject = (status: number, reason: string) => {
      rejections.push({ reason, path, headers: req.headers, receivedAt });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(reason);
      changed();
    };
    if (req.method !== 'POST') return reject(405, `method ${req.method}`);
    let verified: Awaited<ReturnType<typeof authenticate>>;
    try {
      verified = await authenticate(req.headers.authorization);
    } catch (err) {
      const e = err as Error & { code?: string };
      return reject(403, `${e.code ?? e.name}: ${e.message}`);
    }
    let body: any;
    try {
      body = JSON.parse(text);
    } catch {
      return reject(400, 'body is not JSON');
    }
    if (!body || !Array.isArray(body.value)) return reject(400, 'body is not a commsNotifications');

    const messageId = String(req.headers['x-microsoft-skype-message-id'] ?? '');
    const n = requests.length + 1;
    const seen: ReceivedRequest = { method: req.method, path, headers: req.headers, body, messageId, callId: callIdOf(body.value[0]?.resourceUrl, body.value[0]?.resourceData), receivedAt };
    const answered: AnsweredRequest = { ...seen, n, status: 0, aborted: false };
    requests.push(answered);
    let aborted = false;
    res.on('close', () => { if (!res.writableFinished) aborted = true; });

    const reply = (await respond?.(seen, n)) ?? {};
    if (reply.delayMs) await sleep(reply.delayMs);
    const status = reply.status ?? 202;
    answered.status = status;
    if (aborted || res.destroyed) {
      answered.aborted = true;
      changed();
      return;
    }
    res.writeHead(status, reply.headers ?? {}).end(reply.body ?? '');
    const answeredAt = Date.now();
    if (status >= 200 && status < 300) {
      for (const v of body.value as any[]) {
        notifications.push({
          changeType: v.changeType, resourceUrl: v.resourceUrl, resource: v.resource, resourceData: v.resourceData,
          callbackUri: v.callbackUri, callId: callIdOf(v.resourceUrl, v.resourceData) ?? '', messageId, headers: req.headers, body,
          claims: verified.payload, tokenHeader: verified.protectedHeader, path, request: n, receivedAt, answeredAt, status,
        });
      }
    }
    changed();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const forCall = (callId: string) => notifications.filter((x) => x.callId === callId);

  return {
    url, port, callbackUri: `${url}/callback`, notifications, requests, rejections, forCall,
    setRespond: (hook) => { respond = hook; },
    waitForCount(n, opts = {}) {
      const timeoutMs = opts.timeoutMs ?? 5000;
      const list = () => (opts.callId ? forCall(opts.callId) : notifications);
      return new Promise((resolve, reject) => {
        const check = () => {
          if (list().length < n) return;
          done();
          resolve(list().slice());
        };
        const timer = setTimeout(() => {
          done();
          const got = list().map((x) => `${x.changeType} ${x.resourceUrl}`).join('\n  ');
          reject(new Error(`receiver ${url}: timed out after ${timeoutMs} ms waiting for ${n} notifications${opts.callId ? ` of call ${opts.callId}` : ''}; got ${list().length}:\n  ${got}`
            + (rejections.length ? `\nrejections: ${rejections.map((r) => r.reason).join('; ')}` : '')));
        }, timeoutMs);
        const done = () => { clearTimeout(timer); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
