/**
 * Notification delivery benchmark (part of `npm run bench`; alone: `tsx bench/delivery.bench.ts`).
 *
 * graph-calls runs in this process with its data on disk (a fresh temp directory, removed at the end),
 * operationDelayMs of an hour so no background completion adds notifications. A webhook receiver — a plain
 * node:http server on 127.0.0.1, in a worker thread like a bot in its own process — answers 202 at once and
 * records, per request, Date.now() when the request arrived (the clock graph-calls stamps outbox rows'
 * `createdAt` with) and X-Microsoft-Skype-Message-ID. N established calls use it as their callbackUri.
 *
 * Load: one connection per call alternating startRecording/stopRecording on it; each request commits
 * notifications (at the time of writing: start 1, stop 2 — the call update, then the rendered recording's `created`),
 * which the DeliveryWorker POSTs to the receiver.
 *   - steady:     a fixed, evenly paced, moderate rate (BENCH_RATE, default 500 req/s; a small
 *                 paced client in a worker thread, because autocannon's overallRate sends each second's
 *                 quota as one burst), after a warm-up at the same rate. This is what the target is about:
 *                 commit-to-receipt p95 <= 25 ms with no configured delay.
 *   - saturation: autocannon (worker thread) as fast as the connections go: delivered notifications per second.
 * Each run's notifications are the outbox rows committed between its start and its end (+250 ms for
 * requests in flight); the bench waits (bounded) for every one to reach the receiver before computing.
 * Latency = receipt time − outbox createdAt, matched by message id. Breakdown from the delivery journal:
 * "to send" = (attempt.at − attempt.latencyMs) − createdAt, i.e. commit + waiting for the worker;
 * "on the wire" = receipt − send start.
 *
 * Exit 1 only for wrong behaviour (non-2xx / connection errors on requests, dead-lettered notifications,
 * webhook requests without a message id); timing never fails the run (a drain that hits its bound is reported
 * as pending). Knobs: BENCH_DURATION (s, default 10), BENCH_RATE,
 * BENCH_SYNC=FULL|NORMAL (SQLite `synchronous`, default FULL).
 */
import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DEV_APP } from '../src/auth/apps.js';
import { compose, type Composition } from '../src/compose.js';
import { AUTOCANNON_VERSION, BENCH_THROTTLE_LIMIT, commitStats, envNumber, establishedCalls, fmt, JSON_BODY, LOAD_CLIENT, resetRecordingState, sleep, startStopPaths, type CommitStats } from './common.js';
import { DEFAULTS, type Config } from '../src/config.js';

// ---- settings ---------------------------------------------------------------------------------------

const CALLS = 50;
const WARMUP_S = 2;
/** Drain bounds: how long to wait for a run's notifications to reach the receiver. */
const DRAIN_STEADY_MS = 10_000;
const DRAIN_SATURATION_MS = 30_000;
/** Target (issue): commit-to-receipt p95 at steady load, no configured delay. */
const TARGET_P95_MS = 25;
/** Hang guard only (never about speed): the whole bench is designed to finish well within this. */
const WATCHDOG_MS = 88_000;



/** monitorEventLoopDelay samples include its own timer interval; reported delays have it taken off. */
const LOOP_DELAY_RESOLUTION_MS = 2;
const loopDelay = (h: { percentile(p: number): number }, p: number) => Math.max(0, h.percentile(p) / 1e6 - LOOP_DELAY_RESOLUTION_MS);


// ---- webhook receiver (worker thread) ------------------------------------------------------------------

/**
 * Plain CommonJS, evaluated in a worker: no TypeScript loader needed there. Receipts are kept as two
 * parallel arrays and handed over (and forgotten) on each 'take'.
 */
const RECEIVER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
let ids = [], times = [], missing = 0;
const server = http.createServer((req, res) => {
  const t = Date.now();
  const id = req.headers['x-microsoft-skype-message-id'];
  if (typeof id === 'string') { ids.push(id); times.push(t); } else missing++;
  req.on('end', () => { res.writeHead(202, { 'content-length': '0' }); res.end(); });
  req.resume();
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => parentPort.postMessage({ type: 'listening', port: server.address().port }));
parentPort.on('message', (m) => {
  if (m.type === 'take') {
    parentPort.postMessage({ type: 'receipts', ids, times, missing });
    ids = []; times = []; missing = 0;
  } else if (m.type === 'close') {
    server.closeAllConnections();
    server.close(() => parentPort.close());
  }
});
`;

class Receiver {
  /** First receipt per message id (Date.now() ms). */
  readonly first = new Map<string, number>();
  duplicates = 0;
  missingId = 0;
  private constructor(private readonly worker: Worker, readonly port: number) {}

  static async start(): Promise<Receiver> {
    const worker = new Worker(RECEIVER_SOURCE, { eval: true });
    const port = await new Promise<number>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: { type: string; port: number }) => resolve(m.port));
    });
    return new Receiver(worker, port);
  }

  /** Pulls the receipts recorded since the last call into `first`. */
  async collect(): Promise<void> {
    const m = await new Promise<{ ids: string[]; times: number[]; missing: number }>((resolve) => {
      this.worker.once('message', resolve);
      this.worker.postMessage({ type: 'take' });
    });
    this.missingId += m.missing;
    for (let i = 0; i < m.ids.length; i++) {
      const id = m.ids[i]!;
      if (this.first.has(id)) this.duplicates++;
      else this.first.set(id, m.times[i]!);
    }
  }

  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' });
    const exited = new Promise<void>((r) => this.worker.once('exit', () => r()));
    const timeout = sleep(2_000).then(() => this.worker.terminate());
    await Promise.race([exited, timeout]);
  }
}

// ---- graph-calls helpers (as in recording.bench.ts) -----------------------------------------------------





/** autocannon flat out (saturation run): connection k alternates start/stop on call k. */
async function load(base: string, token: string, ids: string[], seconds: number): Promise<autocannon.Result> {
  const paths = startStopPaths(ids);
  return autocannon({
    url: base,
    connections: ids.length,
    pipelining: 1,
    duration: seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON_BODY,
    workers: 1, setupClient: LOAD_CLIENT, benchAssign: { paths, next: new Int32Array(new SharedArrayBuffer(4)) },
  });
}

// ---- paced load (steady run) -----------------------------------------------------------------------------

/**
 * autocannon's rate limit (overallRate/connectionRate) is a per-second bucket: each connection sends its
 * whole quota back to back when the second starts, then waits for the next second — bursts, not a steady
 * rate. The steady run uses this instead: call i sends one request every N/rate seconds (alternating
 * start/stop), the calls phase-shifted by 1/rate, so the server sees one request every 1/rate s. Plain
 * CommonJS in a worker thread (node:http, keep-alive, one socket per call).
 */
const PACED_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { port, paths, token, rate, durationMs, body } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: paths.length });
const n = paths.length, period = (n * 1000) / rate;
const codes = {}; let errors = 0, sent = 0; const latencies = [];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function send(path) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: {
      authorization: 'Bearer ' + token, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume(); res.on('end', () => resolve(res.statusCode)); res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}
async function loop(i) {
  for (let j = 0; ; j++) {
    const due = t0 + (i * period) / n + j * period;
    if (due - t0 >= durationMs) return;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    const start = performance.now();
    sent++;
    try { const st = await send(paths[i][j % 2]); codes[st] = (codes[st] || 0) + 1; } catch { errors++; }
    latencies.push(performance.now() - start);
  }
}
const t0 = performance.now() + 20;
Promise.all(paths.map((_, i) => loop(i))).then(() => {
  agent.destroy();
  parentPort.postMessage({ sent, codes, errors, latencies, elapsedMs: performance.now() - t0 });
});
`;

interface LoadSummary { rps: number; total: number; non2xx: number; errors: number }

function fromAutocannon(r: autocannon.Result): LoadSummary {
  return { rps: r.requests.average, total: r.requests.total, non2xx: r.non2xx, errors: r.errors };
}

/** Paced load: `rate` req/s spread evenly over the calls for `seconds`. */
async function paced(base: string, token: string, ids: string[], seconds: number, rate: number): Promise<LoadSummary> {
  const paths = startStopPaths(ids);
  const worker = new Worker(PACED_SOURCE, { eval: true, workerData: { port: Number(new URL(base).port), paths, token, rate, durationMs: seconds * 1000, body: JSON_BODY } });
  const m = await new Promise<{ sent: number; codes: Record<string, number>; errors: number; elapsedMs: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  const ok = Object.entries(m.codes).filter(([c]) => c.startsWith('2')).reduce((a, [, v]) => a + v, 0);
  const answered = Object.values(m.codes).reduce((a, v) => a + v, 0);
  return { rps: (answered * 1000) / m.elapsedMs, total: m.sent, non2xx: answered - ok, errors: m.errors };
}

// ---- journal readers ---------------------------------------------------------------------------------------

interface OutboxRow { seq: number; messageId: string; createdAt: number; state: string }
interface Attempt { seq: number; messageId: string; at: number; latencyMs: number | null; outcome: string }

async function readOutbox(comp: Composition, afterSeq: number, uptoSeq = Number.POSITIVE_INFINITY): Promise<OutboxRow[]> {
  const out: OutboxRow[] = [];
  for (let after = afterSeq; ;) {
    const page = await comp.store.listOutbox({ afterSeq: after, limit: 5_000 });
    for (const n of page) {
      if (n.seq > uptoSeq) return out;
      out.push({ seq: n.seq, messageId: n.messageId, createdAt: n.createdAt, state: n.state });
    }
    if (page.length < 5_000) return out;
    after = page[page.length - 1]!.seq;
  }
}

async function readAttempts(comp: Composition, afterSeq: number): Promise<Attempt[]> {
  const out: Attempt[] = [];
  for (let after = afterSeq; ;) {
    const page = await comp.store.listDeliveryAttempts({ afterSeq: after, limit: 5_000 });
    for (const a of page) out.push({ seq: a.seq, messageId: a.messageId, at: a.at, latencyMs: a.latencyMs, outcome: a.outcome });
    if (page.length < 5_000) return out;
    after = page[page.length - 1]!.seq;
  }
}

const lastSeq = <T extends { seq: number }>(rows: T[], fallback: number) => (rows.length ? rows[rows.length - 1]!.seq : fallback);

// ---- statistics -----------------------------------------------------------------------------------------------

interface Dist { n: number; p50: number; p95: number; p99: number; max: number }

/** Nearest-rank percentiles. */
function dist(xs: number[]): Dist {
  const s = Float64Array.from(xs).sort();
  const at = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]! : Number.NaN);
  return { n: s.length, p50: at(50), p95: at(95), p99: at(99), max: s.length ? s[s.length - 1]! : Number.NaN };
}

interface RunResult {
  name: string;
  rate: number;
  loadS: number;
  http: LoadSummary;
  notifications: number;
  received: number;
  pending: number;
  dead: number;
  drainMs: number;
  drained: boolean;
  /** Window notifications / (last receipt − first commit), per second. */
  overallPerS: number;
  /** Receipts that landed during the load phase / load phase length, per second. */
  duringLoadPerS: number;
  committedPerS: number;
  backlogAtLoadEnd: number;
  /** Main thread during the load phase: event-loop utilization (0..1) and loop delay (ms). */
  elu: number;
  loopDelayP50: number;
  loopDelayP99: number;
  commit: CommitStats;
  latency: Dist;
  toSend: Dist;
  onWire: Dist;
  roundTrip: Dist;
}

// ---- one run --------------------------------------------------------------------------------------------------

interface Ctx { comp: Composition; base: string; token: string; ids: string[]; receiver: Receiver; probe: Probe }

/**
 * Cheap outbox probes for polling while deliveries run: the SQLite engine's handle (private; the recording
 * bench reads it too), so a poll costs one indexed query instead of parsing every row through listOutbox.
 * Falls back to listOutbox if the handle is not there.
 */
interface Probe { maxSeq(): Promise<number>; pendingIn(afterSeq: number, uptoSeq: number): Promise<number> }
function probe(comp: Composition): Probe {
  const db = (comp.storage as unknown as { db?: { prepare(sql: string): { pluck(): { get(...a: unknown[]): unknown } } } }).db;
  if (db && typeof db.prepare === 'function') {
    const max = db.prepare('SELECT COALESCE(MAX(seq), 0) FROM outbox').pluck();
    const pending = db.prepare("SELECT COUNT(*) FROM outbox WHERE state = 'pending' AND seq > ? AND seq <= ?").pluck();
    return { maxSeq: async () => max.get() as number, pendingIn: async (a, b) => pending.get(a, b) as number };
  }
  return {
    maxSeq: async () => lastSeq(await readOutbox(comp, 0), 0),
    pendingIn: async (a, b) => (await readOutbox(comp, a, b)).filter((r) => r.state === 'pending').length,
  };
}

const NO_COMMIT_STATS: CommitStats = { commands: 0, transactions: 0, maxBatch: 0, flushMs: 0, commitMs: 0, syncs: 0, syncMs: 0 };

/** Outbox and journal positions before a run, so the run sees only its own rows. */
async function marks(ctx: Ctx, attemptsAfter: number): Promise<{ outbox: number; attempts: number }> {
  return { outbox: await ctx.probe.maxSeq(), attempts: lastSeq(await readAttempts(ctx.comp, attemptsAfter), attemptsAfter) };
}

/** Waits until no row in (fromSeq, toSeq] is pending (delivered or dead), or the bound passes. */
async function drain(ctx: Ctx, fromSeq: number, toSeq: number, boundMs: number): Promise<{ ms: number; drained: boolean }> {
  const t0 = Date.now();
  for (;;) {
    const done = (await ctx.probe.pendingIn(fromSeq, toSeq)) === 0;
    const ms = Date.now() - t0;
    if (done || ms >= boundMs) return { ms, drained: done };
    await sleep(50);
  }
}

async function run(ctx: Ctx, name: string, seconds: number, rate: number, drainBoundMs: number, pos: { outbox: number; attempts: number }): Promise<RunResult> {
  const { comp } = ctx;
  const delay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  commitStats(comp.storage, true);
  const elu0 = performance.eventLoopUtilization();
  delay.enable();
  const tStart = Date.now();
  const r = rate > 0 ? await paced(ctx.base, ctx.token, ctx.ids, seconds, rate) : fromAutocannon(await load(ctx.base, ctx.token, ctx.ids, seconds));
  const tEnd = Date.now();
  delay.disable();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  const commit = commitStats(comp.storage) ?? NO_COMMIT_STATS;
  await sleep(250); // requests in flight when the load stopped are still served and committed
  const endSeq = await ctx.probe.maxSeq();
  const d = await drain(ctx, pos.outbox, endSeq, drainBoundMs);
  await ctx.receiver.collect();
  const rows = await readOutbox(comp, pos.outbox, endSeq);
  const attempts = new Map<string, Attempt>();
  for (const a of await readAttempts(comp, pos.attempts)) if (!attempts.has(a.messageId)) attempts.set(a.messageId, a);

  const latency: number[] = [], toSend: number[] = [], onWire: number[] = [], roundTrip: number[] = [];
  let firstCommit = Number.POSITIVE_INFINITY, lastReceipt = Number.NEGATIVE_INFINITY, duringLoad = 0, committedByEnd = 0, receivedByEnd = 0;
  for (const row of rows) {
    firstCommit = Math.min(firstCommit, row.createdAt);
    if (row.createdAt <= tEnd) committedByEnd++;
    const got = ctx.receiver.first.get(row.messageId);
    if (got === undefined) continue;
    latency.push(got - row.createdAt);
    lastReceipt = Math.max(lastReceipt, got);
    if (got >= tStart && got <= tEnd) duringLoad++;
    if (got <= tEnd) receivedByEnd++;
    const a = attempts.get(row.messageId);
    if (a && a.latencyMs !== null) {
      const sentAt = a.at - a.latencyMs;
      toSend.push(sentAt - row.createdAt);
      onWire.push(got - sentAt);
      roundTrip.push(a.latencyMs);
    }
  }
  const loadS = (tEnd - tStart) / 1000;
  return {
    name, rate, loadS,
    http: r,
    notifications: rows.length,
    received: latency.length,
    pending: rows.filter((x) => x.state === 'pending').length,
    dead: rows.filter((x) => x.state === 'dead').length,
    drainMs: d.ms, drained: d.drained,
    overallPerS: latency.length && lastReceipt > firstCommit ? (latency.length * 1000) / (lastReceipt - firstCommit) : 0,
    duringLoadPerS: loadS > 0 ? duringLoad / loadS : 0,
    committedPerS: loadS > 0 ? committedByEnd / loadS : 0,
    backlogAtLoadEnd: committedByEnd - receivedByEnd,
    elu, loopDelayP50: loopDelay(delay, 50), loopDelayP99: loopDelay(delay, 99), commit,
    latency: dist(latency), toSend: dist(toSend), onWire: dist(onWire), roundTrip: dist(roundTrip),
  };
}

/** After a run: stop recordings left running, let those notifications drain, and return the new positions. */
async function settle(ctx: Ctx, pos: { outbox: number; attempts: number }): Promise<{ outbox: number; attempts: number }> {
  await sleep(250); // requests in flight when autocannon stopped are still served
  await resetRecordingState(ctx.comp.store, ctx.base, ctx.token, ctx.ids);
  await sleep(50);
  await drain(ctx, pos.outbox, await ctx.probe.maxSeq(), 5_000);
  return marks(ctx, pos.attempts);
}

// ---- main -----------------------------------------------------------------------------------------------------

/** Runs the delivery benchmark and prints its report; resolves to the exit code (1 only for wrong behaviour). */
export async function runDeliveryBench(): Promise<number> {
  const durationS = envNumber('BENCH_DURATION', 10, (n) => Number.isFinite(n) && n > 0 && n <= 20, 'a number of seconds in (0, 20]');
  const rate = envNumber('BENCH_RATE', 500, (n) => Number.isInteger(n) && n >= 1, 'a positive integer (req/s)');
  const syncRaw = (process.env.BENCH_SYNC || 'FULL').toUpperCase();
  if (syncRaw !== 'FULL' && syncRaw !== 'NORMAL') throw new Error(`BENCH_SYNC must be FULL or NORMAL, got '${process.env.BENCH_SYNC}'`);
  const sync: Config['sqliteSynchronous'] = syncRaw;

  const cpus = os.cpus();
  console.log('graph-calls notification delivery benchmark');
  console.log(`machine:  ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  console.log(`load:     ${CALLS} connections, one call each, startRecording/stopRecording alternately, pipelining 1: steady = ${rate} req/s evenly paced ` +
    `(node:http client in a worker thread) for ${durationS} s after a ${WARMUP_S} s warm-up; saturation = autocannon ${AUTOCANNON_VERSION} (worker thread) flat out for ${durationS} s`);

  const dataDir = mkdtempSync(join(os.tmpdir(), 'graph-calls-delivery-bench-'));
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const watchdog = setTimeout(() => {
    console.error('delivery bench: watchdog fired, the run hung; exiting');
    cleanup();
    process.exit(2);
  }, WATCHDOG_MS);
  watchdog.unref();

  let comp: Composition | null = null;
  let receiver: Receiver | null = null;
  const failures: string[] = [];
  try {
    receiver = await Receiver.start();
    const callbackUri = `http://127.0.0.1:${receiver.port}/callback`;
    const config: Config = Object.freeze({
      ...DEFAULTS, host: '127.0.0.1', port: 0, inMemory: false, dataDir,
      answerDelayMs: 10, operationDelayMs: 3_600_000, sqliteSynchronous: sync, logLevel: 'silent' as const,
      throttleLimit: BENCH_THROTTLE_LIMIT,
    });
    comp = await compose(config);
    comp.start();
    await comp.app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(comp.app.server.address() as AddressInfo).port}`;
    const { accessToken: token } = await comp.tokens.issue(DEV_APP);
    const ids = await establishedCalls(comp.store, base, token, CALLS, callbackUri);
    const ctx: Ctx = { comp, base, token, ids, receiver, probe: probe(comp) };
    console.log(`setup:    ${ids.length} established calls, callbackUri ${callbackUri} (node:http in a worker thread, answers 202); ` +
      `deliveryConcurrency ${config.deliveryConcurrency}; SQLite WAL on disk, synchronous=${sync}; receipt clock Date.now() (1 ms resolution)`);

    // Setup notifications (call created/established) drained first, so the runs start with an empty outbox.
    await drain(ctx, 0, await ctx.probe.maxSeq(), 5_000);
    let pos = await marks(ctx, 0);

    const warm = await paced(base, token, ids, WARMUP_S, rate);
    if (warm.non2xx + warm.errors > 0) failures.push(`warm-up: ${warm.non2xx} non-2xx, ${warm.errors} errors`);
    pos = await settle(ctx, pos);
    const steady = await run(ctx, 'steady', durationS, rate, DRAIN_STEADY_MS, pos);
    pos = await settle(ctx, pos);
    const saturation = await run(ctx, 'saturation', durationS, 0, DRAIN_SATURATION_MS, pos);
    await receiver.collect();

    // ---- report ----
    const runs = [steady, saturation];
    for (const r of runs) {
      if (r.http.non2xx + r.http.errors > 0) failures.push(`${r.name}: ${r.http.non2xx} non-2xx, ${r.http.errors} errors`);
      if (r.dead > 0) failures.push(`${r.name}: ${r.dead} notification(s) dead-lettered`);
    }
    if (receiver.missingId > 0) failures.push(`${receiver.missingId} webhook request(s) without x-microsoft-skype-message-id`);

    const cell = (cells: string[], widths: number[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log('');
    const w1 = [10, 7, 5, 7, 6, 8, 7, 4, 9, 11, 10, 7, 8];
    console.log(cell(['run', 'offered', 'req/s', 'non-2xx', 'notifs', 'received', 'pending', 'dead', 'commits/s', 'deliv/s load', 'deliv/s all', 'backlog', 'drain ms'], w1));
    for (const r of runs) {
      console.log(cell([r.name, r.rate ? `${fmt(r.rate)}/s` : 'max', fmt(r.http.rps), fmt(r.http.non2xx + r.http.errors), fmt(r.notifications), fmt(r.received),
        fmt(r.pending), fmt(r.dead), fmt(r.committedPerS), fmt(r.duringLoadPerS), fmt(r.overallPerS), fmt(r.backlogAtLoadEnd),
        `${fmt(r.drainMs)}${r.drained ? '' : '!'}`], w1));
    }
    console.log('(notifs: outbox rows committed by the run; commits/s and "deliv/s load": notifications committed / received during the load phase;');
    console.log(' "deliv/s all": received / (last receipt − first commit); backlog: committed but not yet received when the load stopped;');
    console.log(' pending: still undelivered after the drain wait (bounded: steady ' + `${DRAIN_STEADY_MS / 1000} s, saturation ${DRAIN_SATURATION_MS / 1000} s)` +
      (runs.some((r) => !r.drained) ? '; "!" = drain bound reached' : '') + ')');

    console.log('');
    console.log('commit-to-receipt latency, ms (receipt Date.now() − outbox createdAt, matched by message id):');
    const w2 = [22, 8, 6, 6, 6, 7];
    console.log(cell(['run / part', 'n', 'p50', 'p95', 'p99', 'max'], w2));
    for (const r of runs) {
      const line = (label: string, d: Dist, digits = 0) =>
        console.log(cell([label, fmt(d.n), fmt(d.p50, digits), fmt(d.p95, digits), fmt(d.p99, digits), fmt(d.max, digits)], w2));
      line(`${r.name}`, r.latency);
      line('  commit -> send', r.toSend, 1);
      line('  send -> receipt', r.onWire, 1);
      line('  HTTP round trip', r.roundTrip, 1);
    }
    console.log('("commit -> send": createdAt to the attempt\'s start (journal at − latencyMs): commit, worker wake-up, waiting behind');
    console.log(' the same call\'s earlier notification; "send -> receipt": fetch start to the receiver seeing the request)');

    console.log('');
    console.log('main thread during the load phase (graph-calls, delivery worker and bench share it; autocannon and the receiver have their own threads):');
    for (const r of runs) {
      const c = r.commit;
      console.log(`  ${r.name.padEnd(10)} event-loop utilization ${fmt(100 * r.elu)}%, loop delay p50 ${fmt(r.loopDelayP50, 1)} ms / p99 ${fmt(r.loopDelayP99, 1)} ms; ` +
        `SQLite ${fmt(c.transactions / r.loadS)} tx/s, ${fmt(c.transactions ? c.commands / c.transactions : 0, 1)} writes/tx, ` +
        `COMMIT ${fmt(c.transactions ? c.commitMs / c.transactions : 0, 2)} ms/tx, in flush ${fmt(r.loadS ? (100 * c.flushMs) / (r.loadS * 1000) : 0)}%`);
    }

    console.log('');
    console.log(`delivery throughput (saturation): ${fmt(saturation.overallPerS)} notifications/s first commit to last receipt, ` +
      `${fmt(saturation.duringLoadPerS)}/s during the load phase against ${fmt(saturation.committedPerS)}/s committed; ` +
      `${saturation.drained ? `backlog drained in ${fmt(saturation.drainMs)} ms` : `NOT drained within ${fmt(saturation.drainMs)} ms`}, ${fmt(saturation.pending)} pending at the end`);
    const ok = steady.received > 0 && steady.latency.p95 <= TARGET_P95_MS && steady.pending === 0;
    console.log(`target commit-to-receipt p95 <= ${TARGET_P95_MS} ms at steady load (${fmt(rate)} req/s, no configured delay): ${ok ? 'met' : 'NOT met'} ` +
      `(p95 ${fmt(steady.latency.p95)} ms, p99 ${fmt(steady.latency.p99)} ms, ${fmt(steady.pending)} pending) [SQLite synchronous=${sync}]`);
    if (receiver.duplicates > 0) console.log(`note: ${receiver.duplicates} duplicate deliveries (at-least-once; first receipt counted)`);

    if (failures.length) console.log(`\nFAILED: ${failures.join('; ')}`);
    else console.log('\nall requests answered 2xx; no notification dead-lettered');
  } finally {
    if (comp) await comp.close();
    if (receiver) await receiver.close();
    cleanup();
    clearTimeout(watchdog);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return failures.length > 0 ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runDeliveryBench().then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      console.error(`delivery bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      process.exitCode = 1;
    },
  );
}
