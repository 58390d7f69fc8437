import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CliError, type CliIo } from '../cli/io.js';
import { requestJson, type Target } from '../cli/transport.js';
import { callIdOf, notificationLine, type CommsNotification, changeLine, type ChangeNotification } from './notification-line.js';
import { NotificationVerifier, refusal } from './notification-verifier.js';

/**
 * `graph-calls bot`: a calling bot to watch. It listens on a loopback port, checks every notification's
 * token as a Teams bot must (401 when it does not verify, and says why), prints each notification on one
 * line (or the raw body with `--json`), and with `--answer` answers incoming calls and compliance-recording
 * invites through Graph, as a bot does.
 */
export interface BotOptions {
  target: Target;
  app: { clientId: string; clientSecret: string; tenantId: string };
  port: number;
  /** The callbackUri path the bot registers and answers with. */
  path: string;
  answer: boolean;
  json: boolean;
  /** Register the bot's URL as the app's calling webhook (PATCH /_emulator/apps/{clientId}) on start. */
  register: boolean;
}

/** Larger notification bodies are refused (Graph's are a few KiB; a roster of hundreds stays well below). */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) { req.destroy(); reject(new Error('body too large')); return; }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Client-credentials tokens for Graph, reused until a minute before they expire. */
class GraphToken {
  private cached: { token: string; until: number } | null = null;
  constructor(private readonly target: Target, private readonly app: BotOptions['app']) {}

  async get(): Promise<string> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.token;
    const body = await requestJson(this.target, `/${this.app.tenantId}/oauth2/v2.0/token`, {
      method: 'POST',
      form: new URLSearchParams({ grant_type: 'client_credentials', client_id: this.app.clientId, client_secret: this.app.clientSecret, scope: 'https://graph.microsoft.com/.default' }),
    });
    this.cached = { token: body.access_token, until: Date.now() + (Number(body.expires_in) - 60) * 1000 };
    return this.cached.token;
  }
}

/** The items of a changeNotificationCollection (they name a subscriptionId), or null for anything else. */
function changeNotifications(text: string): ChangeNotification[] | null {
  try {
    const body = JSON.parse(text) as { value?: unknown };
    if (!Array.isArray(body.value) || body.value.length === 0) return null;
    return body.value.every((n) => typeof (n as ChangeNotification)?.subscriptionId === 'string') ? body.value as ChangeNotification[] : null;
  } catch {
    return null;
  }
}

export async function runBot(o: BotOptions, io: CliIo): Promise<void> {
  const verifier = new NotificationVerifier(o.target, o.app.clientId);
  const graphToken = new GraphToken(o.target, o.app);
  const say = (line: string) => io.stderr.write(`graph-calls bot: ${line}\n`);
  let callbackUri = '';

  /** POST /communications/calls/{id}/answer (call-answer docs), with the bot as the call's callbackUri. */
  async function answer(n: CommsNotification): Promise<void> {
    const id = callIdOf(n);
    try {
      const token = await graphToken.get();
      await requestJson(o.target, `/v1.0/communications/calls/${encodeURIComponent(id)}/answer`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
        body: { callbackUri, acceptedModalities: ['audio'], mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' } },
      });
      say(`answered ${id}${n.resourceData?.incomingContext?.observedParticipantId ? ' (compliance-recording invite)' : ''}`);
    } catch (err) {
      say(`could not answer ${id}: ${(err as Error).message}`);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') { res.writeHead(405, { allow: 'POST' }).end(); return; }
    let text: string;
    try { text = await readBody(req); } catch { res.writeHead(413).end(); return; }
    // A /subscriptions validation handshake: echo the token as text/plain within 10 s (change-notification docs).
    const validationToken = new URL(req.url ?? '/', 'http://bot').searchParams.get('validationToken');
    if (validationToken !== null) {
      say(`answered a subscription validation handshake on ${req.url?.split('?')[0]}`);
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(validationToken);
      return;
    }
    const change = changeNotifications(text);
    if (change) {
      // Change notifications carry no bearer token (Graph's webhook contract): the subscriber checks clientState
      // (and, for rich ones, validationTokens); the bot prints them and answers 202.
      res.writeHead(202).end();
      const at = new Date();
      if (o.json) io.stdout.write(`${text.trim()}\n`);
      else for (const n of change) io.stdout.write(changeLine(n, at));
      return;
    }
    try {
      await verifier.verify(req.headers.authorization);
    } catch (err) {
      // A real bot refuses the request; here it also says why, so an injected badToken fault is visible.
      say(`REFUSED a notification to ${req.url}: ${refusal(err)} (answered 401)`);
      res.writeHead(401, { 'content-type': 'text/plain' }).end(refusal(err));
      return;
    }
    let body: { value?: CommsNotification[] };
    try { body = JSON.parse(text) as typeof body; } catch { body = {}; }
    if (!Array.isArray(body.value)) {
      say(`REFUSED a request to ${req.url}: the body is not a commsNotifications (answered 400)`);
      res.writeHead(400).end();
      return;
    }
    // Answer the webhook first (Graph expects a quick 2xx), then act on what it said.
    res.writeHead(202).end();
    const at = new Date();
    if (o.json) io.stdout.write(`${JSON.stringify(body)}\n`);
    for (const n of body.value) {
      if (!o.json) io.stdout.write(notificationLine(n, at));
      if (o.answer && n.changeType === 'created' && n.resourceData?.state === 'incoming') void answer(n);
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      say(`error handling a request: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: Error & { code?: string }) => reject(err.code === 'EADDRINUSE'
      ? new CliError(`bot: port ${o.port} is in use (is another bot running?); pick another with --port N`, 2)
      : err));
    server.listen(o.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  callbackUri = `http://127.0.0.1:${port}${o.path}`;
  try {
    // Fetch the keys now: a wrong --url fails here, at once, not on the first notification.
    await verifier.ready();
    if (o.register) {
      await requestJson(o.target, `/_emulator/apps/${encodeURIComponent(o.app.clientId)}`, { method: 'PATCH', body: { callbackUri } });
      say(`registered ${callbackUri} as the calling webhook of app ${o.app.clientId} (incoming calls and policy invites come here)`);
    }
    say(`listening on ${callbackUri}; notification tokens checked against ${o.target.base}/v1/.well-known/OpenIdConfiguration${o.answer ? '; answering incoming calls' : ''}`);
    if (!io.signal) return await new Promise<never>(() => undefined);
    if (!io.signal.aborted) await new Promise<void>((resolve) => io.signal!.addEventListener('abort', () => resolve(), { once: true }));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
