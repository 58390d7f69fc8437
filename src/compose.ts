import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { hostname } from 'node:os';
import { buildApp } from './app.js';
import { AppRegistry, DEV_APP, loadAppsFile } from './auth/apps.js';
import { loadOrCreateKey, type NewSigningKey } from './auth/keys.js';
import { TokenService } from './auth/token.service.js';
import { ConfigError, type Config } from './config.js';
import { RequestJournal } from './control/request-journal.js';
import { CallEffects } from './domain/call-effects.js';
import { CallService } from './domain/call.service.js';
import type { CallStore, Storage } from './domain/ports.js';
import { policyProblems, toPolicy, type CompliancePolicy } from './domain/recording-policy.js';
import { FaultEngine, faultProblems, toRule, type FaultRule } from './faults/fault-rules.js';
import { Admission } from './graph/admission.js';
import { notificationRenderer } from './graph/call.mapper.js';
import { commsNotificationsBody } from './graph/notification.mapper.js';
import { MediaLibrary, SAMPLE_RATE, espeakNg, type SpeechEngine } from './media/media-library.js';
import { RecorderService } from './media/recorder.service.js';
import { removeOldRenderScratch } from './media/old-render-scratch.js';
import { MediaActionsService } from './domain/media-actions.service.js';
import { libraryMediaSources } from './media/media-sources.js';
import { RecordResponseRenderer } from './media/record-response.js';
import { registerMediaJobs } from './simulator/media-jobs.js';
import { MeetingService } from './meetings/meeting.service.js';
import { TranscriptService } from './transcripts/transcript.service.js';
import { DeliveryWorker } from './notifications/delivery.worker.js';
import { NotificationTokens } from './notifications/notification-token.js';
import { httpSender, type Resolver, type WebhookSender } from './notifications/webhook.sender.js';
import { callbackPolicy } from './domain/callback-uri.js';
import { systemClock, type Clock } from './shared/clock.js';
import { randomIds, type Ids } from './shared/ids.js';
import { shareVirtualClock } from './shared/shared-clock.js';
import { VirtualClock } from './shared/virtual-clock.js';
import { FarSideService } from './simulator/far-side.service.js';
import { behaviourProblems, FarSideBehaviours, toBehaviour, type FarSideBehaviour } from './simulator/far-side-behaviour.js';
import { JobRegistry } from './simulator/job-registry.js';
import { JobRunner } from './simulator/job-runner.js';
import { PolicyRegistry } from './simulator/policy-registry.js';
import { openStorage } from './storage/open-storage.js';
import { RosterService } from './domain/roster.service.js';
import { InviteesSimulator } from './simulator/invitees.js';
import { contentSharingSessionToWire } from './graph/roster.mapper.js';
import { ensureLocalCa } from './tls/local-ca.js';
import { ChangePublisher, transcriptChange } from './subscriptions/change-publisher.js';
import { SubscriptionService } from './subscriptions/subscription.service.js';
import { ValidationTokens } from './subscriptions/validation-tokens.js';
import { RetentionSweeper } from './retention/retention-sweeper.js';

export interface Composition {
  app: FastifyInstance;
  storage: Storage;
  store: CallStore;
  calls: CallService;
  tokens: TokenService;
  delivery: DeliveryWorker;
  jobs: JobRunner;
  farSide: FarSideService;
  policies: PolicyRegistry;
  recorder: RecorderService;
  /** playPrompt, recordResponse, tones (service-hosted media). */
  mediaActions: MediaActionsService;
  transcripts: TranscriptService;
  library: MediaLibrary;
  journal: RequestJournal;
  clock: Clock;
  /** Set with `--clock virtual`. */
  virtualClock: VirtualClock | null;
  /** With --https: the CA certificate clients trust (null with --cert/--key or http). */
  caCertPath: string | null;
  faults: FaultEngine;
  apps: AppRegistry;
  /** /subscriptions, and the change notifications new recordings (and transcripts) publish through. */
  subscriptions: SubscriptionService;
  changes: ChangePublisher;
  /** This instance's name on the leases it takes (unique per process). */
  instanceId: string;
  /** `--retention`: deletes ended calls and old journal rows in the background. */
  retention: RetentionSweeper;
  /** Starts background work (far-side jobs, deliveries). */
  start(): void;
  /** Graph's in-flight cap and the drain `close` begins with. */
  admission: Admission;
  /**
   * Drains: stops accepting, lets requests in flight finish, then stops background work and lets what is in
   * flight finish (all within --shutdown-grace-ms), closes the HTTP server and the database.
   */
  close(): Promise<void>;
}

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/** With several instances, each looks this often for work another instance left (an expired claim). */
const SHARED_POLL_MS = 2000;

/**
 * The composition root: the one place that chooses implementations (storage engine, system clock,
 * random ids) and wires them together. main.ts adds process concerns (argv, env, signals, listen); tests
 * call this with their own config and ports.
 */
export async function compose(config: Config, ports: { clock?: Clock; ids?: Ids; sender?: WebhookSender; resolve?: Resolver; random?: () => number; speech?: SpeechEngine; newSigningKey?: NewSigningKey } = {}): Promise<Composition> {
  // Virtual time: timers fire one by one, and each one's work (jobs, commits) settles before the next.
  let runner: JobRunner | null = null;
  const settle = async () => {
    for (let i = 0; i < 8; i++) await new Promise<void>((r) => setImmediate(r));
    await runner?.idle();
    for (let i = 0; i < 8; i++) await new Promise<void>((r) => setImmediate(r));
  };
  const virtualClock = !ports.clock && config.clock === 'virtual' ? new VirtualClock(Date.parse(config.clockStart), () => settle()) : null;
  const clock = ports.clock ?? virtualClock ?? systemClock;
  const ids = ports.ids ?? randomIds;
  // Where callbacks may go: one rule for every callbackUri accepted and every connection the sender opens.
  const callbacks = callbackPolicy({ allow: config.allowCallbackHosts, maxUriLength: config.callbackUriMaxLength });
  const fileApps = config.appsFile ? fromFile('--apps', config.appsFile, (f) => loadAppsFile(f, callbacks)) : [];
  const filePolicies = config.policiesFile ? fromFile('--policies', config.policiesFile, loadPoliciesFile) : [];
  const fileFarSide = config.farSideFile ? fromFile('--far-side', config.farSideFile, loadFarSideFile) : [];
  const fileFaults = config.faultsFile ? fromFile('--faults', config.faultsFile, loadFaultsFile) : [];
  const storage = await openStorage({ db: config.db, dataDir: config.inMemory ? null : config.dataDir, sqliteSynchronous: config.sqliteSynchronous, poolSize: config.dbPoolSize });
  const store = storage.calls;
  const instanceId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  try {
    // Renders go to memory; an older version rendered through <data>/recordings/ (old-render-scratch.ts).
    if (!config.inMemory) removeOldRenderScratch(config.dataDir);
    const apps = await AppRegistry.open(storage.config, storage.wakeups, [DEV_APP, ...fileApps]);
    const tokenKey = await loadOrCreateKey(storage.config, 'token-signing', ports.newSigningKey);
    const notificationKey = await loadOrCreateKey(storage.config, 'notification-signing', ports.newSigningKey);
    // Tokens live in real time even on a virtual clock: clients and bots check them against their own clocks.
    const tokens = new TokenService({ apps, key: tokenKey, clock: systemClock, lifetimeSeconds: config.tokenLifetimeSeconds, rolesFrom: config.rolesFrom });
    const library = new MediaLibrary(storage.config, ports.speech ?? espeakNg());
    const policies = await PolicyRegistry.open(storage.config, storage.wakeups, filePolicies);
    const behaviours = await FarSideBehaviours.open(storage.config, storage.wakeups, fileFarSide);
    // Change notifications (src/subscriptions/): recordings and transcripts are announced to /subscriptions subscribers.
    const changes = new ChangePublisher({ clock, ids });
    // Transcripts: queued in the transaction that ends a call or a transcription window, made by the renderTranscripts job.
    const transcripts = new TranscriptService({
      store, clock, ids, library,
      publisher: { transcriptStored: async (tx, t, f) => { await changes.publishResourceChange(tx, transcriptChange(t, f)); } },
    });
    const effects = new CallEffects({
      clock, ids, render: notificationRenderer, apps,
      onCallEnded: (tx, c) => transcripts.callEnded(tx, c),
      onTranscriptionEnded: (tx, callId, w) => transcripts.queue(tx, callId, w),
    });
    const farSide = new FarSideService({
      store, effects, apps, policies, answerDelayMs: config.answerDelayMs,
      behaviours, ringingTimeoutMs: config.ringingTimeoutMs, operationDelayMs: config.operationDelayMs,
      incomingTimeoutMs: config.incomingTimeoutMs, policyInviteTimeoutMs: config.policyInviteTimeoutMs, keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    });
    const calls = new CallService({ store, effects, farSide, operationDelayMs: config.operationDelayMs });
    const roster = new RosterService({ store, effects, farSide, operationDelayMs: config.operationDelayMs });
    const invitees = new InviteesSimulator({
      store, effects, renderSession: (s) => contentSharingSessionToWire(s, 'beta'),
      onJoined: (tx, c, part) => farSide.participantJoined(tx, c, part),
    });
    const recorder = new RecorderService({
      changes, recordingCallbackNotifications: config.recordingCallbackNotifications,
      store, effects, library, sampleRate: SAMPLE_RATE, channels: config.recordingChannels, format: config.recordingFormat,
    });
    const mediaActions = new MediaActionsService({ store, effects, sources: libraryMediaSources(library) });
    const responses = new RecordResponseRenderer({ store, blobs: storage.config, library, media: mediaActions, sampleRate: SAMPLE_RATE });
    let tls: { key: string; cert: string } | null = null;
    let caCertPath: string | null = null;
    if (config.certFile && config.keyFile) tls = { cert: readFileSync(config.certFile, 'utf8'), key: readFileSync(config.keyFile, 'utf8') };
    else if (config.https) {
      const made = ensureLocalCa(config.dataDir);
      tls = { cert: made.cert, key: made.key };
      caCertPath = made.caCertPath;
    }
    const faults = await FaultEngine.open(storage.config, storage.wakeups, ports.random);
    for (const rule of fileFaults) await faults.add(rule);
    const journal = new RequestJournal(store, { capacity: config.journalEntries, bodyBytes: config.journalBodyBytes, bufferBytes: config.journalBufferBytes });
    const admission = new Admission({ maxInFlight: config.maxInFlight });
    const sender = ports.sender ?? httpSender({ callbacks, maxResponseBytes: config.callbackResponseBytes, resolve: ports.resolve });
    const subscriptions = new SubscriptionService({ store, clock, ids, sender, callbacks, changes, validationTimeoutMs: config.subscriptionValidationTimeoutMs });
    const app = await buildApp({
      subscriptions,
      tls, faults, journal, wakeups: storage.wakeups,
      calls, farSide, policies, store, apps, tokens, tokenKey, notificationKey, library, virtualClock, mediaActions, blobs: storage.config,
      bodyLimitBytes: config.bodyLimitBytes, controlToken: config.controlToken, logLevel: config.logLevel, version: VERSION, callbacks,
      tokenBodyLimitBytes: config.tokenBodyLimitBytes, listenHost: config.host, allowedHosts: config.allowedHosts,
      admission, roster, invitees, meetings: new MeetingService({ store, clock }),
      throttle: config.throttleLimit > 0 ? { limit: config.throttleLimit, windowMs: config.throttleWindowMs } : null,
      http: {
        headersTimeoutMs: config.headersTimeoutMs, requestTimeoutMs: config.requestTimeoutMs, idleTimeoutMs: config.idleTimeoutMs,
        socketTimeoutMs: config.socketTimeoutMs, maxRequestsPerSocket: config.maxRequestsPerSocket, maxConnections: config.maxConnections,
      },
    });
    // One registry of durable work: each module fills in the kinds it runs.
    const registry = new JobRegistry();
    farSide.registerJobs(registry);
    invitees.registerJobs(registry);
    registry.register('renderRecordings', (job) => recorder.runJob(job));
    registerMediaJobs(registry, { media: mediaActions, responses });
    registry.register('subscriptionLifecycle', (job) => subscriptions.runLifecycleJob(job));
    registry.register('subscriptionExpiry', (job) => subscriptions.runExpiryJob(job));
    registry.register('renderTranscripts', (job) => transcripts.runJob(job));
    const pollMs = storage.shared ? SHARED_POLL_MS : 0;
    const jobs = new JobRunner({
      store, wakeups: storage.wakeups, clock, jobs: registry, owner: instanceId, leaseMs: config.leaseMs, maxAttempts: config.jobMaxAttempts, pollMs,
      onError: (job, err) => app.log.error({ err, job }, job ? 'job failed; it will be retried' : 'job runner could not reach the database'),
    });
    const delivery = new DeliveryWorker({
      store, wakeups: storage.wakeups, clock, owner: instanceId, leaseMs: config.leaseMs, pollMs,
      sender, tokens: new NotificationTokens(notificationKey, systemClock),
      render: commsNotificationsBody, timeoutMs: config.deliveryTimeoutMs, concurrency: config.deliveryConcurrency,
      policy: {
        maxAttempts: config.deliveryMaxAttempts, baseDelayMs: config.deliveryRetryBaseMs, maxDelayMs: config.deliveryRetryMaxMs, maxRedirects: 5,
        maxRetryAfterMs: config.deliveryRetryAfterMaxMs, callbacks,
      },
      validationTokens: new ValidationTokens(tokenKey, systemClock),
      random: ports.random, faults, onError: (err) => app.log.error({ err }, 'notification delivery failed'),
    });
    // Ended calls and journal rows past --retention go in small batches in the background (one instance at a time, holding a lease).
    const retention = new RetentionSweeper({
      store, clock, retentionMs: config.retentionMs, batchCalls: config.retentionBatch, owner: instanceId, leaseMs: config.leaseMs,
      onError: (err) => app.log.error({ err }, 'retention: cleanup failed; it runs again at the next sweep'),
    });
    runner = jobs;
    if (virtualClock) {
      await shareVirtualClock(virtualClock, storage.config, storage.wakeups);
      // Virtual time drives retention too: an advance returns once what it made expire is gone.
      virtualClock.onAdvanced(async () => { await retention.sweep().catch((err) => app.log.error({ err }, 'retention: cleanup failed')); });
    }
    return {
      subscriptions, changes, retention,
      app, storage, store, calls, tokens, apps, delivery, jobs, farSide, policies, recorder, mediaActions, transcripts, library, journal, clock, virtualClock, caCertPath, faults, instanceId, admission,
      start: () => {
        jobs.start();
        delivery.start();
        retention.start();
      },
      async close() {
        const deadline = Date.now() + config.shutdownGraceMs;
        // Requests first, with the workers still running: what they commit is delivered if time allows.
        if (!(await admission.drain(app.server, config.shutdownGraceMs))) {
          app.log.warn({ unanswered: admission.unanswered() }, 'shutdown: requests still in flight after --shutdown-grace-ms; closing them');
        }
        jobs.stop();
        delivery.stop();
        retention.stop();
        // Closes what is left: idle connections, event streams, and requests that outlived the grace.
        await app.close();
        // Work in flight finishes or is abandoned: its claim then expires (--lease-ms) and the work runs again
        // after a restart or on another instance; the outbox and the jobs are durable, so nothing is lost.
        const left = Math.max(0, deadline - Date.now());
        const settled = await Promise.race([Promise.all([jobs.idle(), delivery.idle(), retention.idle()]).then(() => true), sleep(left, false, { ref: false })]);
        if (!settled) app.log.warn('shutdown: jobs or deliveries still in flight after --shutdown-grace-ms; their claims will expire');
        sender.close?.();
        await journal.flush();
        await storage.close();
      },
    };
  } catch (err) {
    await storage.close().catch(() => undefined);
    throw err;
  }
}

/** A file named on the command line that cannot be used is a configuration problem (main.ts: exit status 2). */
function fromFile<T>(flag: string, path: string, load: (path: string) => T): T {
  try {
    return load(path);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ConfigError([message.includes(path) ? `${flag}: ${message}` : `${flag} ${path}: ${message}`]);
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

function loadFarSideFile(path: string): FarSideBehaviour[] {
  const doc = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  if (!Array.isArray(doc)) throw new Error(`${path}: expected a JSON array of far-side behaviours`);
  const problems = doc.flatMap((b, i) => behaviourProblems(b, `${path}[${i}]`));
  if (problems.length) throw new Error(problems.join('\n'));
  return doc.map((b) => toBehaviour(b as Record<string, unknown>));
}
