import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import { buildApp } from './app.js';
import { AppRegistry, DEV_APP, loadAppsFile } from './auth/apps.js';
import { loadOrCreateKey } from './auth/keys.js';
import { TokenService } from './auth/token.service.js';
import type { Config } from './config.js';
import { CallService } from './domain/call.service.js';
import { CallEffects } from './domain/call-effects.js';
import { FarSideService } from './domain/far-side.service.js';
import { PolicyRegistry, policyProblems, toPolicy, type CompliancePolicy } from './domain/recording-policy.js';
import { notificationRenderer } from './graph/call.mapper.js';
import { systemClock, type Clock } from './shared/clock.js';
import { VirtualClock } from './shared/virtual-clock.js';
import { MediaLibrary, SAMPLE_RATE, espeakNg, type SpeechEngine } from './media/media-library.js';
import { RecorderService } from './media/recorder.service.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync as readFile } from 'node:fs';
import { ensureLocalCa } from './tls/local-ca.js';
import { FaultEngine, faultProblems, toRule, type FaultRule } from './faults/fault-rules.js';
import { RequestJournal } from './control/request-journal.js';
import { randomIds, type Ids } from './shared/ids.js';
import { JobRunner } from './simulator/job-runner.js';
import { commsNotificationsBody } from './graph/notification.mapper.js';
import { DeliveryWorker } from './notifications/delivery.worker.js';
import { NotificationTokens } from './notifications/notification-token.js';
import { fetchSender, type WebhookSender } from './notifications/webhook.sender.js';
import { SqliteCallStore } from './storage/sqlite.store.js';

export interface Composition {
  app: FastifyInstance;
  store: SqliteCallStore;
  calls: CallService;
  tokens: TokenService;
  delivery: DeliveryWorker;
  farSide: FarSideService;
  policies: PolicyRegistry;
  recorder: RecorderService;
  library: MediaLibrary;
  clock: Clock;
  /** Set with `--clock virtual`. */
  virtualClock: VirtualClock | null;
  recordingsDir: string;
  /** With --https: the CA certificate clients trust (null with --cert/--key or http). */
  caCertPath: string | null;
  faults: FaultEngine;
  apps: AppRegistry;
  /** Starts background work (far-side jobs). */
  start(): void;
  /** Stops background work, closes the HTTP server and the database. */
  close(): Promise<void>;
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The composition root: the one place that chooses implementations (SQLite, system clock, random ids)
 * and wires them together. main.ts adds process concerns (argv, env, signals, listen); tests call this
 * with their own config and ports.
 */
export async function compose(config: Config, ports: { clock?: Clock; ids?: Ids; sender?: WebhookSender; random?: () => number; speech?: SpeechEngine } = {}): Promise<Composition> {
  const virtualClock = !ports.clock && config.clock === 'virtual' ? new VirtualClock(Date.parse(config.clockStart)) : null;
  const clock = ports.clock ?? virtualClock ?? systemClock;
  const ids = ports.ids ?? randomIds;
  const fileApps = config.appsFile ? loadAppsFile(config.appsFile) : [];
  const store = new SqliteCallStore({ dataDir: config.inMemory ? null : config.dataDir, synchronous: config.sqliteSynchronous });
  const apps = new AppRegistry([DEV_APP, ...fileApps], store);
  try {
    const tokenKey = await loadOrCreateKey(store, 'token-signing');
    const notificationKey = await loadOrCreateKey(store, 'notification-signing');
    // Tokens live in real time even on a virtual clock: clients and bots check them against their own clocks.
    const tokens = new TokenService({ apps, key: tokenKey, clock: systemClock, lifetimeSeconds: config.tokenLifetimeSeconds });
    const tempRecordings = config.inMemory ? mkdtempSync(join(tmpdir(), 'graph-calls-recordings-')) : null;
    const recordingsDir = tempRecordings ?? join(config.dataDir, 'recordings');
    const library = new MediaLibrary(recordingsDir, ports.speech ?? espeakNg());
    const policies = new PolicyRegistry(store, config.policiesFile ? loadPoliciesFile(config.policiesFile) : []);
    const effects = new CallEffects({ clock, ids, render: notificationRenderer, apps });
    const farSide = new FarSideService({
      store, effects, apps, policies, answerDelayMs: config.answerDelayMs,
      incomingTimeoutMs: config.incomingTimeoutMs, policyInviteTimeoutMs: config.policyInviteTimeoutMs, keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    });
    const calls = new CallService({ store, effects, farSide, operationDelayMs: config.operationDelayMs });
    const recorder = new RecorderService({ store, effects, library, dir: recordingsDir, sampleRate: SAMPLE_RATE, channels: config.recordingChannels, format: config.recordingFormat });
    let tls: { key: string; cert: string } | null = null;
    let caCertPath: string | null = null;
    if (config.certFile && config.keyFile) tls = { cert: readFile(config.certFile, 'utf8'), key: readFile(config.keyFile, 'utf8') };
    else if (config.https) {
      const made = ensureLocalCa(config.dataDir);
      tls = { cert: made.cert, key: made.key };
      caCertPath = made.caCertPath;
    }
    const faults = new FaultEngine(ports.random);
    for (const rule of config.faultsFile ? loadFaultsFile(config.faultsFile) : []) faults.add(rule);
    const journal = new RequestJournal();
    const app = await buildApp({
      tls, faults, journal,
      calls, farSide, policies, store, apps, tokens, tokenKey, notificationKey, library, recordingsDir, virtualClock,
      bodyLimitBytes: config.bodyLimitBytes, controlToken: config.controlToken, logLevel: config.logLevel, version: VERSION,
    });
    const jobs = new JobRunner({
      store, clock, run: (job) => (job.kind === 'renderRecordings' ? recorder.runJob(job) : farSide.runJob(job)),
      onError: (job, err) => app.log.error({ err, job }, 'far-side job failed'),
    });
    const delivery = new DeliveryWorker({
      store, clock, sender: ports.sender ?? fetchSender, tokens: new NotificationTokens(notificationKey, systemClock),
      render: commsNotificationsBody, timeoutMs: config.deliveryTimeoutMs, concurrency: config.deliveryConcurrency,
      policy: { maxAttempts: config.deliveryMaxAttempts, baseDelayMs: config.deliveryRetryBaseMs, maxDelayMs: config.deliveryRetryMaxMs, maxRedirects: 5 },
      random: ports.random, faults, onError: (err) => app.log.error({ err }, 'notification delivery failed'),
    });
    return {
      app, store, calls, tokens, apps, delivery, farSide, policies, recorder, library, clock, virtualClock, recordingsDir, caCertPath, faults,
      start: () => {
        jobs.start();
        delivery.start();
      },
      async close() {
        jobs.stop();
        delivery.stop();
        await app.close();
        await jobs.idle();
        await delivery.idle();
        await store.shutdown();
        if (tempRecordings) rmSync(tempRecordings, { recursive: true, force: true });
      },
    };
  } catch (err) {
    store.close();
    throw err;
  }
}

function loadPoliciesFile(path: string): CompliancePolicy[] {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!Array.isArray(doc)) throw new Error(`${path}: expected a JSON array of policies`);
  const problems = doc.flatMap((p, i) => policyProblems(p, `${path}[${i}]`));
  if (problems.length) throw new Error(problems.join('\n'));
  return doc.map((p) => toPolicy(p as Record<string, unknown>));
}

function loadFaultsFile(path: string): FaultRule[] {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!Array.isArray(doc)) throw new Error(`${path}: expected a JSON array of fault rules`);
  const problems = doc.flatMap((r, i) => faultProblems(r, `${path}[${i}]`));
  if (problems.length) throw new Error(problems.join('\n'));
  return doc.map((r, i) => toRule(r as Record<string, unknown>, `file-${i + 1}`));
}
