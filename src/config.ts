import { resolve } from 'node:path';
import { allowListProblems } from './domain/callback-uri.js';

/**
 * The one validated, frozen configuration. CLI flags and environment variables map onto the same
 * fields; defaults live here and nowhere else. Every problem is reported at once.
 */
export interface Config {
  readonly host: string;
  /** 0 = pick a free port. */
  readonly port: number;
  /** Absolute data directory; ignored when `inMemory`. */
  readonly dataDir: string;
  readonly inMemory: boolean;
  /** `--db postgres://USER@HOST:PORT/DB`: PostgreSQL, shared by every instance started with it; null = SQLite in the data directory. */
  readonly db: string | null;
  /** How long a claim on a delivery or job lasts before another instance may take it over (ms). */
  readonly leaseMs: number;
  /** PostgreSQL connections this instance may hold (`--db-pool-size`). */
  readonly dbPoolSize: number;
  /** A job that throws is retried this many times in all, with backoff, then dead-lettered. */
  readonly jobMaxAttempts: number;
  /** Request-journal entries kept (newest first). */
  readonly journalEntries: number;
  /**
   * `--retention 7d`: ended calls, with every row that belongs to them, are deleted this long after they
   * ended (on the call clock), and journal entries and delivery attempts this long after they were written; 0 = kept forever.
   */
  readonly retentionMs: number;
  /** Calls deleted per cleanup transaction (`--retention-batch`): each batch is one short transaction. */
  readonly retentionBatch: number;
  /** `--apps FILE`: extra app registrations (JSON array). */
  readonly appsFile: string | null;
  /** How long the simulated far side takes to answer a call or admit the bot to a meeting. */
  readonly answerDelayMs: number;
  /** How long a running operation (startRecording) takes to complete, and a hang-up to finish. */
  readonly operationDelayMs: number;
  /** SQLite `synchronous` pragma. FULL survives power loss; NORMAL survives a process crash. */
  readonly sqliteSynchronous: 'FULL' | 'NORMAL';
  /** Largest accepted request body, in bytes (Graph answers 413 above its limit). */
  readonly bodyLimitBytes: number;
  /** Lifetime of issued access tokens, in seconds (Entra: ~3599). */
  readonly tokenLifetimeSeconds: number;
  readonly logLevel: 'silent' | 'error' | 'warn' | 'info' | 'debug';
  /** Notification delivery: attempts before dead-lettering, backoff, per-attempt timeout, parallel calls. */
  readonly deliveryMaxAttempts: number;
  readonly deliveryRetryBaseMs: number;
  readonly deliveryRetryMaxMs: number;
  readonly deliveryTimeoutMs: number;
  readonly deliveryConcurrency: number;
  /** Unanswered incoming calls end after this long (Graph: 15 s), policy invites after policyInviteTimeoutMs (5 s). */
  readonly incomingTimeoutMs: number;
  readonly policyInviteTimeoutMs: number;
  /** Calls without keepAlive for this long end (Graph: 45 minutes). */
  readonly keepAliveTimeoutMs: number;
  /** `real` (default) or `virtual`: time moves only through POST /_emulator/clock/advance. */
  readonly clock: 'real' | 'virtual';
  /** Where virtual time starts (ISO-8601). */
  readonly clockStart: string;
  /** `--faults FILE`: fault-injection rules (JSON array) active from the start. */
  readonly faultsFile: string | null;
  /** Without it the control plane answers loopback clients only; with it, anyone presenting it. */
  readonly controlToken: string | null;
  /** `--https`: serve TLS with a local CA made in `<data>/tls/` (or `--cert`/`--key` files). */
  readonly https: boolean;
  readonly certFile: string | null;
  readonly keyFile: string | null;
  /** Recording files: one mixed channel, or one channel per participant. */
  readonly recordingChannels: 'mixed' | 'perParticipant';
  /** Recording files: 16-bit PCM WAV, or MP3 (mono, 32 kbit/s, LAME in WebAssembly). */
  readonly recordingFormat: 'wav' | 'mp3';
  /** `--policies FILE`: compliance-recording policies (JSON array). */
  readonly policiesFile: string | null;
  /** `--far-side FILE`: how simulated callees answer (JSON array of far-side behaviours). */
  readonly farSideFile: string | null;
  /** How long an outgoing call or transfer target rings unanswered before it ends with 408/10057. */
  readonly ringingTimeoutMs: number;
  /**
   * `--roles-from registry` (default): a request's roles are its token's, less any the app no longer holds
   * (a removed role stops working at once). `token`: the token's roles until it expires, as on Entra.
   */
  readonly rolesFrom: 'token' | 'registry';
  /** Graph's throttling of calls: requests per window per app per tenant (Graph: 50,000 per 15 s); 0 = off. */
  readonly throttleLimit: number;
  readonly throttleWindowMs: number;
  /** Graph requests served at once by this process; more are answered 503 at once. 0 = no cap. */
  readonly maxInFlight: number;
  /** Sockets: time to receive a request's headers, and all of it (0 = no limit). */
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Sockets: how long a kept-alive connection may wait for its next request, and may stay silent mid-request (0 = no limit). */
  readonly idleTimeoutMs: number;
  readonly socketTimeoutMs: number;
  /** Sockets: requests served on one connection before it is closed, and connections open at once (0 = no limit). */
  readonly maxRequestsPerSocket: number;
  readonly maxConnections: number;
  /** On SIGTERM: how long requests and deliveries in flight have to finish. */
  readonly shutdownGraceMs: number;
  // ---- journal and control-plane hardening: memory held for unauthenticated clients, who may drive /_emulator/ ----
  /** Journalled request and response bodies are cut to this many bytes each. */
  readonly journalBodyBytes: number;
  /** Journal entries waiting to be written are held up to this many bytes; past it the oldest are dropped. */
  readonly journalBufferBytes: number;
  /** Largest token-endpoint form body (Entra's requests are a few hundred bytes). */
  readonly tokenBodyLimitBytes: number;
  /** Host names the control plane and dashboard answer to, beyond localhost, IP literals and `host` (DNS rebinding). */
  readonly allowedHosts: readonly string[];
  // ---- outbound callbacks (docs/configuration.md "callbackUri") ----
  /** Beyond loopback and public hosts, where callbacks may go: CIDRs and host names (`*.suffix`). */
  readonly allowCallbackHosts: readonly string[];
  /** Longest accepted callbackUri, in characters. */
  readonly callbackUriMaxLength: number;
  /** Bytes of a bot's response body read; past it the connection is dropped. */
  readonly callbackResponseBytes: number;
  /** The longest Retry-After a bot's answer is honoured for. */
  readonly deliveryRetryAfterMaxMs: number;
  // ---- change-notification subscriptions (docs/configuration.md "Subscriptions") ----
  /** `--recording-callback-notifications`: graph-calls' own recording-ready commsNotification to the callbackUri (not Graph). */
  readonly recordingCallbackNotifications: boolean;
  /** How long a notificationUrl has to answer the validation handshake (Graph: 10 s). */
  readonly subscriptionValidationTimeoutMs: number;
}

export const DEFAULTS: Config = Object.freeze({
  host: '127.0.0.1',
  port: 4000,
  dataDir: resolve('.graph-calls'),
  inMemory: false,
  db: null,
  leaseMs: 10_000,
  dbPoolSize: 20,
  jobMaxAttempts: 8,
  journalEntries: 5000,
  retentionMs: 7 * 24 * 3_600_000,
  retentionBatch: 100,
  appsFile: null,
  answerDelayMs: 300,
  operationDelayMs: 200,
  sqliteSynchronous: 'FULL',
  bodyLimitBytes: 1024 * 1024,
  tokenLifetimeSeconds: 3599,
  logLevel: 'warn',
  deliveryMaxAttempts: 8,
  deliveryRetryBaseMs: 500,
  deliveryRetryMaxMs: 30_000,
  deliveryTimeoutMs: 5_000,
  deliveryConcurrency: 64,
  policiesFile: null,
  farSideFile: null,
  ringingTimeoutMs: 60_000,
  incomingTimeoutMs: 15_000,
  clock: 'real',
  recordingChannels: 'mixed',
  controlToken: null,
  faultsFile: null,
  https: false,
  certFile: null,
  keyFile: null,
  recordingFormat: 'wav',
  clockStart: '2026-01-01T09:00:00.000Z',
  policyInviteTimeoutMs: 5_000,
  keepAliveTimeoutMs: 45 * 60_000,
  rolesFrom: 'registry',
  throttleLimit: 50_000,
  throttleWindowMs: 15_000,
  maxInFlight: 512,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 72_000,
  socketTimeoutMs: 120_000,
  maxRequestsPerSocket: 0,
  maxConnections: 10_000,
  shutdownGraceMs: 10_000,
  journalBodyBytes: 16 * 1024,
  journalBufferBytes: 8 * 1024 * 1024,
  tokenBodyLimitBytes: 64 * 1024,
  allowedHosts: Object.freeze([]) as readonly string[],
  allowCallbackHosts: Object.freeze([]) as readonly string[],
  callbackUriMaxLength: 2048,
  callbackResponseBytes: 64 * 1024,
  deliveryRetryAfterMaxMs: 60 * 60_000,
  recordingCallbackNotifications: false,
  subscriptionValidationTimeoutMs: 10_000,
});

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

type FlagSpec =
  /** `duration`: whole milliseconds, or a whole number with a unit (`7d`, `12h`, `30m`, `45s`, `250ms`). */
  | { key: keyof Config; kind: 'int' | 'string' | 'bool' | 'duration' }
  /** One of `values`; `upper` compares and stores it upper-cased (SQLite pragma values). */
  | { key: keyof Config; kind: 'enum'; values: readonly string[]; upper?: boolean };

const FLAGS: Record<string, FlagSpec> = {
  '--port': { key: 'port', kind: 'int' },
  '--host': { key: 'host', kind: 'string' },
  '--data': { key: 'dataDir', kind: 'string' },
  '--in-memory': { key: 'inMemory', kind: 'bool' },
  '--db': { key: 'db', kind: 'string' },
  '--lease-ms': { key: 'leaseMs', kind: 'int' },
  '--db-pool-size': { key: 'dbPoolSize', kind: 'int' },
  '--job-max-attempts': { key: 'jobMaxAttempts', kind: 'int' },
  '--journal-entries': { key: 'journalEntries', kind: 'int' },
  '--retention': { key: 'retentionMs', kind: 'duration' },
  '--retention-batch': { key: 'retentionBatch', kind: 'int' },
  '--apps': { key: 'appsFile', kind: 'string' },
  '--answer-delay-ms': { key: 'answerDelayMs', kind: 'int' },
  '--operation-delay-ms': { key: 'operationDelayMs', kind: 'int' },
  '--sqlite-synchronous': { key: 'sqliteSynchronous', kind: 'enum', values: ['FULL', 'NORMAL'], upper: true },
  '--body-limit': { key: 'bodyLimitBytes', kind: 'int' },
  '--log-level': { key: 'logLevel', kind: 'enum', values: ['silent', 'error', 'warn', 'info', 'debug'] },
  '--delivery-max-attempts': { key: 'deliveryMaxAttempts', kind: 'int' },
  '--delivery-retry-base-ms': { key: 'deliveryRetryBaseMs', kind: 'int' },
  '--delivery-retry-max-ms': { key: 'deliveryRetryMaxMs', kind: 'int' },
  '--delivery-timeout-ms': { key: 'deliveryTimeoutMs', kind: 'int' },
  '--delivery-concurrency': { key: 'deliveryConcurrency', kind: 'int' },
  '--policies': { key: 'policiesFile', kind: 'string' },
  '--far-side': { key: 'farSideFile', kind: 'string' },
  '--ringing-timeout-ms': { key: 'ringingTimeoutMs', kind: 'int' },
  '--incoming-timeout-ms': { key: 'incomingTimeoutMs', kind: 'int' },
  '--clock': { key: 'clock', kind: 'enum', values: ['real', 'virtual'] },
  '--clock-start': { key: 'clockStart', kind: 'string' },
  '--recording-channels': { key: 'recordingChannels', kind: 'enum', values: ['mixed', 'perParticipant'] },
  '--https': { key: 'https', kind: 'bool' },
  '--control-token': { key: 'controlToken', kind: 'string' },
  '--faults': { key: 'faultsFile', kind: 'string' },
  '--cert': { key: 'certFile', kind: 'string' },
  '--key': { key: 'keyFile', kind: 'string' },
  '--recording-format': { key: 'recordingFormat', kind: 'enum', values: ['wav', 'mp3'] },
  '--policy-invite-timeout-ms': { key: 'policyInviteTimeoutMs', kind: 'int' },
  '--keep-alive-timeout-ms': { key: 'keepAliveTimeoutMs', kind: 'int' },
  '--roles-from': { key: 'rolesFrom', kind: 'enum', values: ['token', 'registry'] },
  '--throttle-limit': { key: 'throttleLimit', kind: 'int' },
  '--throttle-window-ms': { key: 'throttleWindowMs', kind: 'int' },
  '--max-in-flight': { key: 'maxInFlight', kind: 'int' },
  '--headers-timeout-ms': { key: 'headersTimeoutMs', kind: 'int' },
  '--request-timeout-ms': { key: 'requestTimeoutMs', kind: 'int' },
  '--idle-timeout-ms': { key: 'idleTimeoutMs', kind: 'int' },
  '--socket-timeout-ms': { key: 'socketTimeoutMs', kind: 'int' },
  '--max-requests-per-socket': { key: 'maxRequestsPerSocket', kind: 'int' },
  '--max-connections': { key: 'maxConnections', kind: 'int' },
  '--shutdown-grace-ms': { key: 'shutdownGraceMs', kind: 'int' },
  '--journal-body-bytes': { key: 'journalBodyBytes', kind: 'int' },
  '--journal-buffer-bytes': { key: 'journalBufferBytes', kind: 'int' },
  '--token-body-limit': { key: 'tokenBodyLimitBytes', kind: 'int' },
  '--allowed-hosts': { key: 'allowedHosts', kind: 'string' },
  '--allow-callback-hosts': { key: 'allowCallbackHosts', kind: 'string' },
  '--callback-uri-max-length': { key: 'callbackUriMaxLength', kind: 'int' },
  '--callback-response-bytes': { key: 'callbackResponseBytes', kind: 'int' },
  '--delivery-retry-after-max-ms': { key: 'deliveryRetryAfterMaxMs', kind: 'int' },
  '--recording-callback-notifications': { key: 'recordingCallbackNotifications', kind: 'bool' },
  '--subscription-validation-timeout-ms': { key: 'subscriptionValidationTimeoutMs', kind: 'int' },
};

const ENV: Record<string, string> = {
  GRAPH_CALLS_PORT: '--port',
  GRAPH_CALLS_HOST: '--host',
  GRAPH_CALLS_DATA: '--data',
  GRAPH_CALLS_DB: '--db',
  GRAPH_CALLS_APPS: '--apps',
  GRAPH_CALLS_ANSWER_DELAY_MS: '--answer-delay-ms',
  GRAPH_CALLS_LOG_LEVEL: '--log-level',
  GRAPH_CALLS_POLICIES: '--policies',
  GRAPH_CALLS_FAR_SIDE: '--far-side',
  GRAPH_CALLS_CLOCK: '--clock',
  GRAPH_CALLS_CONTROL_TOKEN: '--control-token',
  GRAPH_CALLS_ALLOW_CALLBACK_HOSTS: '--allow-callback-hosts',
  GRAPH_CALLS_RETENTION: '--retention',
};

/** Builds the config from argv (flags win) and env. Throws ConfigError listing every problem. */
export function loadConfig(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, overrides: Partial<Config> = {}): Config {
  const raw = new Map<string, string | true>();
  const problems: string[] = [];
  for (const [name, flag] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw.set(flag, v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = FLAGS[name];
    if (!spec) { problems.push(`unknown option '${arg}'`); continue; }
    if (spec.kind === 'bool') { raw.set(name, true); continue; }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) { problems.push(`option '${name}' needs a value`); continue; }
    raw.set(name, value);
  }
  const out: Record<string, unknown> = { ...DEFAULTS };
  for (const [flag, value] of raw) {
    const spec = FLAGS[flag]!;
    const text = String(value);
    switch (spec.kind) {
      case 'bool': out[spec.key] = value === true || text === 'true' || text === '1'; break;
      case 'int': {
        const n = Number(text);
        if (!Number.isInteger(n) || n < 0) problems.push(`${flag} must be a non-negative integer, got '${text}'`);
        else if (spec.key === 'port' && n > 65535) problems.push(`--port must be at most 65535, got ${n}`);
        else out[spec.key] = n;
        break;
      }
      case 'duration': {
        const ms = parseDuration(text);
        if (ms === null) problems.push(`${flag} must be a duration such as 7d, 12h, 30m, 45s or 250ms (a bare number is milliseconds; 0 keeps everything), got '${text}'`);
        else out[spec.key] = ms;
        break;
      }
      case 'enum': {
        const v = spec.upper ? text.toUpperCase() : text;
        const allowed = spec.values.length === 2 ? spec.values.join(' or ') : spec.values.join('|');
        if (!spec.values.includes(v)) problems.push(`${flag} must be ${allowed}, got '${text}'`);
        else out[spec.key] = v;
        break;
      }
      default: out[spec.key] = text;
    }
  }
  Object.assign(out, overrides);
  if (typeof out.dataDir === 'string') out.dataDir = resolve(out.dataDir);
  if (typeof out.appsFile === 'string') out.appsFile = resolve(out.appsFile);
  if (typeof out.policiesFile === 'string') out.policiesFile = resolve(out.policiesFile);
  if (typeof out.farSideFile === 'string') out.farSideFile = resolve(out.farSideFile);
  if (typeof out.faultsFile === 'string') out.faultsFile = resolve(out.faultsFile);
  if (Number.isNaN(Date.parse(String(out.clockStart)))) problems.push(`--clock-start must be an ISO-8601 date-time, got '${String(out.clockStart)}'`);
  if ((out.certFile === null) !== (out.keyFile === null)) problems.push('--cert and --key go together');
  if (out.certFile !== null) { out.certFile = resolve(String(out.certFile)); out.keyFile = resolve(String(out.keyFile)); out.https = true; }
  if (out.recordingFormat === 'mp3' && out.recordingChannels === 'perParticipant') problems.push('--recording-format mp3 records one mixed channel: drop --recording-channels perParticipant');
  if ((out.deliveryMaxAttempts as number) < 1) problems.push('--delivery-max-attempts must be at least 1');
  if (out.db !== null && !/^postgres(ql)?:\/\//i.test(String(out.db))) problems.push(`--db must be a postgres://USER@HOST:PORT/DB URL, got '${String(out.db)}'`);
  if (out.db !== null && out.inMemory) problems.push('--in-memory and --db exclude each other: --db keeps state in PostgreSQL');
  if ((out.dbPoolSize as number) < 2) problems.push('--db-pool-size must be at least 2');
  if ((out.leaseMs as number) < 1000) problems.push('--lease-ms must be at least 1000');
  if ((out.jobMaxAttempts as number) < 1) problems.push('--job-max-attempts must be at least 1');
  if ((out.deliveryConcurrency as number) < 1) problems.push('--delivery-concurrency must be at least 1');
  // `--allowed-hosts a,b`: host names as a browser puts them in Host (no scheme, no port), compared lower-cased.
  if (typeof out.allowedHosts === 'string') out.allowedHosts = Object.freeze(out.allowedHosts.split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const h of out.allowedHosts as string[]) if (!/^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)$/.test(h)) problems.push(`--allowed-hosts takes host names without scheme or port (a,b), got '${h}'`);
  if ((out.throttleWindowMs as number) < 1) problems.push('--throttle-window-ms must be at least 1');
  // Node refuses a headers timeout longer than the request timeout (the headers are part of the request).
  const headersMs = out.headersTimeoutMs as number, requestMs = out.requestTimeoutMs as number;
  if (headersMs > 0 && requestMs > 0 && headersMs > requestMs) problems.push(`--headers-timeout-ms (${headersMs}) must not exceed --request-timeout-ms (${requestMs})`);
  // `--allow-callback-hosts 10.0.0.0/8,bot.internal`: checked here, applied by domain/callback-uri.ts.
  if (typeof out.allowCallbackHosts === 'string') out.allowCallbackHosts = Object.freeze(out.allowCallbackHosts.split(',').map((h) => h.trim()).filter(Boolean));
  for (const p of allowListProblems(out.allowCallbackHosts as string[])) problems.push(`--allow-callback-hosts: ${p}`);
  if ((out.callbackUriMaxLength as number) < 1) problems.push('--callback-uri-max-length must be at least 1');
  if ((out.retentionBatch as number) < 1) problems.push('--retention-batch must be at least 1');
  if ((out.subscriptionValidationTimeoutMs as number) < 1) problems.push('--subscription-validation-timeout-ms must be at least 1');
  if (problems.length) throw new ConfigError(problems);
  return Object.freeze(out as unknown as Config);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `7d`, `12h`, `30m`, `45s`, `250ms`, or a bare whole number of milliseconds; null when it is none of these. */
export function parseDuration(text: string): number | null {
  const m = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * DURATION_UNITS[m[2] ?? 'ms']!;
  return Number.isSafeInteger(ms) ? ms : null;
}
