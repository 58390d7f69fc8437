/**
 * `npm run bench`: startRecording/stopRecording on graph-calls against a plain node:http server doing the
 * same HTTP work, all in one run, every figure issue 11 asks for, ending with a targets block.
 *
 * Closed loop (the saturation rows), as in docs research stack.md §2: autocannon, 50 connections,
 * pipelining 1, a 2 s warm-up before each 10 s run. Every connection owns one established call and
 * alternates startRecording/stopRecording on it. Servers:
 *   - graph-calls on SQLite, bot in the loop (issue 11): in this process, data on disk (a fresh temp
 *     directory, removed at the end), on 50 established calls whose callbackUri is a live webhook in
 *     ANOTHER PROCESS (a node:http child answering 202, counting receipts and reporting them over IPC);
 *   - graph-calls on SQLite, callback down: the same graph-calls, 50 other calls whose callbackUri is port 9,
 *     so every delivery fails at once and backs off (no notification is ever delivered). Their retries share
 *     the process with the other rows;
 *   - node:http: the baseline, in this process;
 *   - graph-calls on PostgreSQL, bot in the loop: one instance, and two instances on the same database with
 *     the connections split evenly across them, on 50 calls whose callbackUri is the same webhook. Each
 *     instance is its own process (`node --import tsx src/main.ts --db URL --port 0 ...`); the second is
 *     started for its rows and stopped after them, so the one-instance rows run alone. The bench creates its
 *     own database (graph_calls_bench_<random>) on the machine's server (BENCH_PG_ADMIN_URL, default
 *     postgres://root@127.0.0.1:5432/postgres) and drops it at the end, also on failure or a signal. When
 *     PostgreSQL is not reachable those rows are skipped (said so in the output) and the rest runs;
 *     BENCH_PG=0 skips them on purpose. (The callback-down PostgreSQL rows are gone: the issue asks for
 *     the bot in the loop, and they cost ~50 s.)
 *
 * Open loop (the latency rows, issue 11 "p99 <= 10 ms at a steady 1,000 req/s"): a generator of our own
 * (open-loop.ts, in a worker thread) schedules BENCH_RATE requests per second (default 1,000) whatever the
 * server's answers, over 200 more established calls whose callbackUri is the webhook, each call alternating
 * start/stop with at most one request in flight; latency counts from each send's scheduled instant (no
 * coordinated omission), sends that found no idle call are reported as late (or dropped, past a 1 s
 * backlog). Against graph-calls SQLite (bot in the loop) and, for reference, node:http, each after its own
 * 2 s warm-up on the same schedule. Reported: achieved rate, p50/p95/p99/max, late/dropped, the
 * generator's own lag, and for graph-calls the notifications delivered per second and commit-to-receipt.
 *
 * The servers are interleaved over two rounds (closed rows, then open rows, in each round).
 *
 * Notifications: for every bot-in-the-loop row (SQLite and PostgreSQL, closed and open loop), the
 * notifications committed during its measured phase, receipts per second at the webhook during it, and
 * commit-to-receipt p50/p95/p99 (outbox createdAt -> webhook receipt, both Date.now() on this machine).
 * The outbox is read through each engine's control plane (GET /_emulator/outbox of the SQLite graph-calls
 * and of the first PostgreSQL instance: both instances share one database), incrementally, at quiet points
 * only. After each graph-calls row the bench waits (bounded, 15 s) for the webhook's notifications to drain,
 * so the next row (node:http shares this process) is not measured under the previous row's backlog; after
 * the last row it waits (bounded, BENCH_DRAIN_MS) for every outbox row addressed to the webhook to drain,
 * and FAILS (exit 1) if any is still pending or dead, or was marked delivered without the webhook seeing it.
 *
 * Every request must succeed (202); any non-2xx or connection error, warm-ups included, fails the run
 * (exit 1). Timing never does: the closing targets block says MET / NOT MET for each issue-11 target.
 *
 * Open-loop requests have a 60 s hang guard (unanswered by then = an error); the table also shows each
 * send's lag (scheduled instant -> written: the generator's timer granularity, and the wait of late sends)
 * and service time (written -> answered), so the generator's part can be told from the server's.
 *
 * Runtime with the defaults: 14 runs of 2 s + 10 s, plus setup, per-row resets and drains and the second
 * PostgreSQL instance's starts: about 4-5 min on the 2-core machine (3.5 min at BENCH_DURATION=3 with its
 * load average at 15). Knobs:
 * BENCH_DURATION (seconds per measured run, default 10), BENCH_RATE (open-loop requests per second,
 * default 1000), BENCH_SYNC=FULL|NORMAL (SQLite `synchronous`, default FULL; the targets are for FULL),
 * BENCH_DRAIN_MS (the drain bound, default 60000), BENCH_WORKERS (autocannon worker threads, default 1;
 * 0 puts it on the main thread), BENCH_PG=0.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { DEV_APP } from '../src/auth/apps.js';
import { compose, type Composition } from '../src/compose.js';
import type { Storage } from '../src/domain/ports.js';
import { openStorage } from '../src/storage/open-storage.js';
import {
  AUTOCANNON_VERSION, BENCH_THROTTLE_LIMIT, commitStats, envNumber, establishedCalls, fetchDevToken, fmt, JSON_BODY, LOAD_CLIENT, percentile, post, resetRecordingState, sleep,
  startStopPaths, usage, type CallLookup, type CommitStats,
} from './common.js';
import { openLoop, type OpenLoopResult } from './open-loop.js';
import { createBenchDatabase, killAllInstances, reason, startInstance, type BenchDatabase, type Instance } from './postgres.js';
import { DEFAULTS, type Config } from '../src/config.js';

// ---- settings ---------------------------------------------------------------------------------------

const CONNECTIONS = 50;
const ROUNDS = 2;
const WARMUP_S = 2;
/** Issue 11 targets (SQLite, synchronous=FULL, this machine, one run); the closing block checks each. */
const TARGET_RATIO_BOT = 0.35;
const TARGET_RATIO_DOWN = 0.5;
/** p99 at a steady 1,000 req/s (open loop, bot in the loop), and commit-to-receipt p95 at that rate. */
const TARGET_RATE = 1000;
const TARGET_P99_MS = 10;
const TARGET_C2R_P95_MS = 25;
/** After the last row: how long to wait for the bot calls' outbox to drain before failing the run (BENCH_DRAIN_MS). */
const DRAIN_BOUND_MS = envNumber('BENCH_DRAIN_MS', 60_000, (n) => Number.isFinite(n) && n >= 0 && n <= 120_000, 'a number of ms in [0, 120000]');
/** The same far side for every graph-calls: calls answer after 10 ms; startRecording never completes by itself. */
const ANSWER_DELAY_MS = 10;
const OPERATION_DELAY_MS = 3_600_000;

const DURATION_S = envNumber('BENCH_DURATION', 10, (n) => Number.isFinite(n) && n > 0 && n <= 600, 'a number of seconds in (0, 600]');
const WORKERS = envNumber('BENCH_WORKERS', 1, (n) => Number.isInteger(n) && n >= 0 && (n === 0 || CONNECTIONS % n === 0),
  `0 or an integer dividing ${CONNECTIONS}`);
const SYNC: Config['sqliteSynchronous'] = (() => {
  const s = (process.env.BENCH_SYNC || 'FULL').toUpperCase();
  if (s !== 'FULL' && s !== 'NORMAL') usage(`BENCH_SYNC must be FULL or NORMAL, got '${process.env.BENCH_SYNC}'`);
  return s;
})();
const PG_WANTED = process.env.BENCH_PG !== '0';
/** Open loop: requests per second (BENCH_RATE), over OPEN_CALLS established calls of their own. */
const RATE = envNumber('BENCH_RATE', TARGET_RATE, (n) => Number.isFinite(n) && n > 0 && n <= 20_000, 'a number of requests per second in (0, 20000]');
const OPEN_CALLS = 200;
/**
 * Per open-loop request: a hang guard, not a timing (a request unanswered this long is an error and fails the
 * run). Generous, because an overloaded server answers late rather than never.
 */
const OPEN_TIMEOUT_MS = 60_000;
/** After each graph-calls row: how long to wait for the webhook's notifications to drain before the next row. */
const SETTLE_BOUND_MS = 15_000;

// ---- node:http baseline -------------------------------------------------------------------------------

const GRAPH_JSON = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const ACTION = /^\/beta\/communications\/calls\/([^/?]+)\/(startRecording|stopRecording)$/;
const OK_RESULT = { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' };

/** The same POST done by hand: read and parse the JSON body, check clientContext, answer 202 + Location + the operation. */
function plainServer(): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = req.method === 'POST' ? ACTION.exec(req.url ?? '') : null;
      if (!m) {
        res.writeHead(404).end();
        return;
      }
      let body: { clientContext?: unknown };
      try {
        body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { clientContext?: unknown }) : {};
      } catch {
        res.writeHead(400).end();
        return;
      }
      const clientContext = body.clientContext ?? null;
      if (clientContext !== null && typeof clientContext !== 'string') {
        res.writeHead(400).end();
        return;
      }
      const start = m[2] === 'startRecording';
      const type = start ? 'startRecordingOperation' : 'stopRecordingOperation';
      const id = randomUUID();
      const base = `http://${req.headers.host}/beta`;
      const json = JSON.stringify({
        '@odata.context': `${base}/$metadata#${type}`,
        '@odata.type': `#microsoft.graph.${type}`,
        id, clientContext, status: start ? 'running' : 'completed', resultInfo: start ? null : OK_RESULT,
      });
      res.writeHead(202, {
        'content-type': GRAPH_JSON,
        'content-length': Buffer.byteLength(json),
        location: `${base}/communications/calls/${m[1]}/operations/${id}`,
      });
      res.end(json);
    });
  });
}

// ---- the bot's webhook, in another process ------------------------------------------------------------

/**
 * A plain node:http server in a child process (`node -e`, no TypeScript loader): answers every POST 202 once
 * its body has arrived, and records per request Date.now() on arrival (the clock graph-calls stamps outbox
 * rows' `createdAt` with; same machine, same wall clock) and X-Microsoft-Skype-Message-ID. The parent asks
 * for the receipts over the IPC channel ('take'); 'close' ends it. It exits by itself if the parent goes.
 */
const WEBHOOK_SOURCE = `
const http = require('node:http');
let ids = [], times = [], missing = 0, total = 0;
const server = http.createServer((req, res) => {
  const t = Date.now();
  total++;
  const id = req.headers['x-microsoft-skype-message-id'];
  if (typeof id === 'string') { ids.push(id); times.push(t); } else missing++;
  req.on('end', () => { res.writeHead(202, { 'content-length': '0' }); res.end(); });
  req.resume();
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.send({ type: 'listening', port: server.address().port }));
process.on('message', (m) => {
  if (m.type === 'take') {
    process.send({ type: 'receipts', ids, times, missing, total });
    ids = []; times = []; missing = 0;
  } else if (m.type === 'close') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
`;

class Webhook {
  /** First receipt per message id (Date.now() ms). */
  readonly first = new Map<string, number>();
  duplicates = 0;
  missingId = 0;
  /** Requests the child has seen in all (its own count). */
  total = 0;
  private constructor(private readonly child: ChildProcess, readonly port: number) {}

  static async start(): Promise<Webhook> {
    const child = spawn(process.execPath, ['-e', WEBHOOK_SOURCE], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const port = await withTimeout(new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`webhook process exited (${code}) before listening`)));
      child.once('message', (m: { type: string; port: number }) => resolve(m.port));
    }), 10_000);
    return new Webhook(child, port);
  }

  get pid(): number | undefined { return this.child.pid; }

  /** Pulls the receipts recorded since the last call into `first`. */
  async collect(): Promise<void> {
    const m = await withTimeout(new Promise<{ ids: string[]; times: number[]; missing: number; total: number }>((resolve) => {
      this.child.once('message', resolve);
      this.child.send({ type: 'take' });
    }), 10_000);
    this.missingId += m.missing;
    this.total = m.total;
    for (let i = 0; i < m.ids.length; i++) {
      const id = m.ids[i]!;
      if (this.first.has(id)) this.duplicates++;
      else this.first.set(id, m.times[i]!);
    }
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ type: 'close' });
    await Promise.race([exited, sleep(2_000).then(() => { this.child.kill('SIGKILL'); })]);
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

interface OutboxRow { seq: number; messageId: string; callbackUri: string; createdAt: number; state: string }

/**
 * Outbox rows after `from` through the control plane (`GET /_emulator/outbox`, 1,000 a page, oldest first),
 * and the highest seq among them (`from` when there is none).
 */
async function readOutbox(base: string, from = 0): Promise<{ rows: OutboxRow[]; last: number }> {
  const out: OutboxRow[] = [];
  let last = from;
  for (let after = from; ;) {
    const res = await fetch(`${base}/_emulator/outbox?top=1000&after=${after}`);
    if (res.status !== 200) throw new Error(`GET /_emulator/outbox: ${res.status} ${await res.text()}`);
    const page = (await res.json()) as { value: OutboxRow[]; next: number | null };
    for (const r of page.value) {
      out.push({ seq: r.seq, messageId: r.messageId, callbackUri: r.callbackUri, createdAt: r.createdAt, state: r.state });
      last = Math.max(last, r.seq);
    }
    if (page.next === null || page.value.length === 0) return { rows: out, last };
    after = page.next;
  }
}

// ---- load ------------------------------------------------------------------------------------------------

/**
 * One autocannon run; connection k alternates start/stop on call k. With several URLs, autocannon
 * assigns connection i to urls[i % urls.length]: the load splits evenly across the instances.
 */
async function load(urls: string[], token: string, ids: string[], seconds: number): Promise<autocannon.Result> {
  const paths = startStopPaths(ids);
  let k = 0;
  const inline = (client: autocannon.Client) => {
    const own = paths[k++];
    if (!own) throw new Error(`bench: connection ${k - 1} has no call assigned`);
    client.setRequests(own.map((path) => ({ path })));
  };
  return autocannon({
    url: urls.length === 1 ? urls[0]! : urls,
    connections: CONNECTIONS,
    pipelining: 1,
    duration: seconds,
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON_BODY,
    ...(WORKERS > 0
      ? { workers: WORKERS, setupClient: LOAD_CLIENT, benchAssign: { paths, next: new Int32Array(new SharedArrayBuffer(4)) } }
      : { setupClient: inline }),
  });
}

/** One server the rounds measure. `graphCalls` is null for the node:http baseline. */
interface Target {
  key: 'sqlite-bot' | 'sqlite' | 'pg1' | 'pg2' | 'node:http';
  /** Row label in the tables. */
  label: string;
  urls(): string[];
  token: string;
  ids: string[];
  graphCalls: { calls: CallLookup; resetBase: string } | null;
  commit(reset?: boolean): CommitStats | null;
  /** Runs before the target's warm-up and after its measured run (the second PostgreSQL instance comes and goes). */
  before?(): Promise<void>;
  after?(): Promise<void>;
}

interface Row {
  key: Target['key'];
  label: string;
  round: number;
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  codes: string;
  bytesPerResponse: number;
  commit: CommitStats | null;
  /** Length of the load phase (autocannon's `duration`). */
  loadMs: number;
  /** Wall clock (Date.now()) when the measured load started and ended. */
  tStart: number;
  tEnd: number;
}

function row(t: Target, round: number, r: autocannon.Result, commit: CommitStats | null, tStart: number, tEnd: number): Row {
  const codes = Object.entries(r.statusCodeStats).map(([c, v]) => `${c}×${v.count}`).join(' ');
  return {
    key: t.key, label: t.label, round, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, codes,
    bytesPerResponse: r.requests.total > 0 ? r.throughput.total / r.requests.total : 0, commit, loadMs: r.duration * 1000,
    tStart, tEnd,
  };
}

/** A server the open-loop rows measure (graph-calls SQLite with the bot in the loop, and node:http). */
interface OpenTarget {
  key: 'open-sqlite-bot' | 'open-node:http';
  label: string;
  url: string;
  token: string;
  ids: string[];
  graphCalls: { calls: CallLookup; resetBase: string } | null;
}

interface OpenRow {
  key: OpenTarget['key'];
  label: string;
  round: number;
  r: OpenLoopResult;
  /** Measured sends answered 2xx per second of the measured window. */
  achieved: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const pad = (cells: string[], widths: number[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
const withTimeout = <T>(p: Promise<T>, ms: number) => Promise.race([p, sleep(ms).then(() => { throw new Error(`timed out after ${ms} ms`); })]);

/** Smoke: one start/stop cycle by hand, to show what each request returns. */
async function smoke(base: string, token: string, id: string): Promise<string> {
  const start = await post(`${base}/beta/communications/calls/${id}/startRecording`, token, JSON.parse(JSON_BODY));
  const stop = await post(`${base}/beta/communications/calls/${id}/stopRecording`, token, JSON.parse(JSON_BODY));
  if (start.status !== 202 || stop.status !== 202) {
    throw new Error(`smoke ${base}: startRecording ${start.status} ${start.text} / stopRecording ${stop.status} ${stop.text}`);
  }
  return `startRecording -> 202 (${start.text.length} B body, Location ${start.headers.get('location') ? 'set' : 'MISSING'}), stopRecording -> 202`;
}

// ---- notifications: drain check and per-row figures ------------------------------------------------------

/**
 * One engine's outbox rows addressed to the webhook, read through its control plane (the SQLite graph-calls,
 * or the first PostgreSQL instance: one database for both). Read incrementally at quiet points only (between
 * rows, nothing in flight), so every row below the highest seq read has committed and later ones get higher seqs.
 */
class OutboxTracker {
  rows: OutboxRow[] = [];
  /** Highest seq read so far, any row (the callback-down calls' rows are read once, then skipped). */
  private last = 0;
  constructor(readonly name: string, readonly base: string, private readonly hookUri: string) {}

  pending(): number {
    let n = 0;
    for (const r of this.rows) if (r.state === 'pending') n++;
    return n;
  }

  /** Reads what is new, and re-reads from the oldest row still pending (its state may have changed). */
  async refresh(): Promise<void> {
    const oldest = this.rows.findIndex((r) => r.state === 'pending');
    const from = oldest < 0 ? this.last : this.rows[oldest]!.seq - 1;
    const keep = oldest < 0 ? this.rows : this.rows.slice(0, oldest);
    const { rows, last } = await readOutbox(this.base, from);
    this.rows = keep.concat(rows.filter((r) => r.callbackUri === this.hookUri));
    this.last = Math.max(this.last, last);
  }
}

/**
 * Waits (bounded by `boundMs`) until no webhook notification is pending on any engine. Returns how long it
 * waited and how many were still pending at the first read and at the end.
 */
async function settle(sources: OutboxTracker[], boundMs: number): Promise<{ ms: number; pendingFirst: number; pendingLeft: number }> {
  const t0 = Date.now();
  let pendingFirst = -1;
  for (;;) {
    for (const s of sources) await s.refresh();
    const pending = sources.reduce((a, s) => a + s.pending(), 0);
    if (pendingFirst < 0) pendingFirst = pending;
    if (pending === 0 || Date.now() - t0 > boundMs) return { ms: Date.now() - t0, pendingFirst, pendingLeft: pending };
    await sleep(100);
  }
}

interface NotifStats { committed: number; received: number; perS: number; p50: number; p95: number; p99: number }

/**
 * The notifications one engine committed during [tStart, tEnd] (outbox createdAt, Date.now() at commit), their
 * commit-to-receipt (webhook's first receipt by X-Microsoft-Skype-Message-ID, its Date.now()), and the receipts
 * per second of that engine's notifications while the window lasted (whenever they were committed).
 */
function notifStats(rows: OutboxRow[], first: Map<string, number>, tStart: number, tEnd: number): NotifStats {
  const lat: number[] = [];
  let committed = 0;
  let during = 0;
  for (const x of rows) {
    const got = first.get(x.messageId);
    if (got !== undefined && got >= tStart && got <= tEnd) during++;
    if (x.createdAt < tStart || x.createdAt > tEnd) continue;
    committed++;
    if (got !== undefined) lat.push(got - x.createdAt);
  }
  const sorted = Float64Array.from(lat).sort();
  return {
    committed, received: lat.length, perS: tEnd > tStart ? (during * 1000) / (tEnd - tStart) : 0,
    p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99),
  };
}

// ---- main --------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cpus = os.cpus();
  const began = Date.now();
  const elapsed = () => `+${fmt((Date.now() - began) / 1000)} s`;
  console.log('graph-calls recording benchmark');
  console.log(`machine:  ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  console.log(`closed:   autocannon ${AUTOCANNON_VERSION}, ${CONNECTIONS} connections, pipelining 1, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, ` +
    `load generator ${WORKERS > 0 ? `in ${WORKERS} worker thread(s)` : 'on the main thread'}, loopback only`);
  console.log(`open:     ${fmt(RATE)} req/s scheduled (open loop, latency from the scheduled instant), ${OPEN_CALLS} calls, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, ` +
    `generator in a worker thread (node:http keep-alive Agent)`);
  console.log(`rounds:   ${ROUNDS}, servers interleaved (closed rows, then open rows, in each round)`);

  const tmp = mkdtempSync(join(os.tmpdir(), 'graph-calls-bench-'));
  const dataDir = join(tmp, 'sqlite');
  let comp: Composition | null = null;
  let db: BenchDatabase | null = null;
  let pgStorage: Storage | null = null;
  const instances: Instance[] = [];
  const plain = plainServer();
  // The open-loop generator leaves sockets idle between bursts; graph-calls (fastify) keeps them 72 s, so alike here.
  plain.keepAliveTimeout = 72_000;
  let webhook: Webhook | null = null;
  let failures = 0;
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  /** Last resort (signal, watchdog): end the child processes, drop the database (bounded), remove the temp dir. */
  const emergency = async (code: number) => {
    killAllInstances();
    webhook?.kill();
    if (db) await withTimeout(db.drop(), 5_000).catch((err: unknown) => console.error(`bench: could not drop ${db!.name}: ${reason(err)}`));
    cleanup();
    process.exit(code);
  };
  const onSignal = () => void emergency(130);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Hang guard only (never about speed): generous against the expected run time (7 rows a round).
  const watchdog = setTimeout(() => {
    console.error('bench: watchdog fired, the run hung; exiting');
    void emergency(2);
  }, (ROUNDS * 7 * (WARMUP_S + DURATION_S + 15 + SETTLE_BOUND_MS / 1000) + 240) * 1000 + DRAIN_BOUND_MS);
  watchdog.unref();

  try {
    // ---- SQLite, in this process ----
    mkdirSync(dataDir);
    const config: Config = Object.freeze({
      ...DEFAULTS, host: '127.0.0.1', port: 0, inMemory: false, dataDir,
      answerDelayMs: ANSWER_DELAY_MS, operationDelayMs: OPERATION_DELAY_MS, sqliteSynchronous: SYNC, logLevel: 'silent' as const,
      throttleLimit: BENCH_THROTTLE_LIMIT,
    });
    comp = await compose(config);
    comp.start();
    await comp.app.listen({ host: '127.0.0.1', port: 0 });
    const graphBase = `http://127.0.0.1:${(comp.app.server.address() as AddressInfo).port}`;
    const pragma = (comp.storage as unknown as { db?: { pragma(s: string, o: { simple: true }): unknown } }).db?.pragma('synchronous', { simple: true });
    // FULL on disk: the connection runs OFF and the engine fdatasyncs the WAL before it acknowledges
    // anything (src/storage/sqlite/wal-sync.ts), so the pragma alone would read 0.
    const confirmed = pragma === undefined ? ''
      : pragma === 0 && SYNC === 'FULL' ? ' (connection PRAGMA synchronous = OFF; the engine syncs the WAL off the event loop before every 2xx: FULL durability)'
      : ` (PRAGMA synchronous = ${pragma === 2 ? 'FULL' : pragma === 1 ? 'NORMAL' : String(pragma)})`;
    console.log(`SQLite:   graph-calls in this process (engine ${comp.storage.engine}), WAL on disk in ${dataDir}, synchronous=${SYNC}${confirmed}`);

    const sqlite = comp;
    const { accessToken: token } = await sqlite.tokens.issue(DEV_APP);
    // Three sets of calls on the same graph-calls: 50 whose callbackUri is the live webhook (the bot in the
    // loop, closed loop), 50 whose callbackUri is port 9 (callback down: every delivery fails at once and
    // backs off), and OPEN_CALLS more on the webhook for the open-loop rows.
    webhook = await Webhook.start();
    const hookUri = `http://127.0.0.1:${webhook.port}/callback`;
    const botIds = await establishedCalls(sqlite.store, graphBase, token, CONNECTIONS, hookUri);
    const ids = await establishedCalls(sqlite.store, graphBase, token, CONNECTIONS);
    const openIds = await establishedCalls(sqlite.store, graphBase, token, OPEN_CALLS, hookUri);
    console.log(`webhook:  ${hookUri}, node:http in a child process (pid ${webhook.pid}), answers 202, reports receipts over IPC`);
    console.log(`setup:    ${botIds.length} established calls with the webhook as callbackUri (bot in the loop); ${await smoke(graphBase, token, botIds[0]!)}`);
    console.log(`          ${ids.length} established calls with callbackUri http://127.0.0.1:9/callback (callback down); ${await smoke(graphBase, token, ids[0]!)}`);
    console.log(`          ${openIds.length} established calls with the webhook as callbackUri for the open-loop rows`);

    plain.listen(0, '127.0.0.1');
    await new Promise<void>((r, j) => plain.once('listening', r).once('error', j));
    const plainBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;

    const targets: Target[] = [
      { key: 'sqlite-bot', label: 'SQLite, bot in loop', urls: () => [graphBase], token, ids: botIds, graphCalls: { calls: sqlite.store, resetBase: graphBase },
        commit: (reset) => commitStats(sqlite.storage, reset) },
      { key: 'sqlite', label: 'SQLite, callback down', urls: () => [graphBase], token, ids, graphCalls: { calls: sqlite.store, resetBase: graphBase },
        commit: (reset) => commitStats(sqlite.storage, reset) },
      { key: 'node:http', label: 'node:http', urls: () => [plainBase], token, ids, graphCalls: null, commit: () => null },
    ];
    const openTargets: OpenTarget[] = [
      { key: 'open-sqlite-bot', label: 'SQLite, bot in loop', url: graphBase, token, ids: openIds, graphCalls: { calls: sqlite.store, resetBase: graphBase } },
      { key: 'open-node:http', label: 'node:http', url: plainBase, token, ids: openIds, graphCalls: null },
    ];
    const sources: OutboxTracker[] = [new OutboxTracker('SQLite', graphBase, hookUri)];

    // ---- PostgreSQL: one and two instances, each its own process, bot in the loop ----
    let pgSkipped: string | null = PG_WANTED ? null : 'BENCH_PG=0';
    if (PG_WANTED) {
      try {
        db = await createBenchDatabase();
      } catch (err) {
        pgSkipped = `PostgreSQL at ${new URL(process.env.BENCH_PG_ADMIN_URL || 'postgres://root@127.0.0.1:5432/postgres').host} is not reachable: ${reason(err)}`;
      }
    }
    if (db) {
      const args = (n: number) => ['--db', db!.url, '--host', '127.0.0.1', '--port', '0', '--data', join(tmp, `pg-instance-${n}`), '--log-level', 'error',
        '--answer-delay-ms', String(ANSWER_DELAY_MS), '--operation-delay-ms', String(OPERATION_DELAY_MS), '--throttle-limit', String(BENCH_THROTTLE_LIMIT)];
      const first = await startInstance(args(1));
      instances.push(first);
      pgStorage = await openStorage({ db: db.url, dataDir: null, sqliteSynchronous: SYNC });
      const pgToken = await fetchDevToken(first.base);
      const pgIds = await establishedCalls(pgStorage.calls, first.base, pgToken, CONNECTIONS, hookUri);
      const pgCalls = pgStorage.calls;
      // The second instance is probed once now (a token from the first works on it: one database, one signing key).
      const probe = await startInstance(args(2));
      const probeSmoke = await smoke(probe.base, pgToken, pgIds[0]!).finally(() => probe.stop());
      console.log(`PostgreSQL: ${db.serverVersion}`);
      console.log(`          database ${db.name} on ${new URL(db.url).host} (created for this run, dropped at the end); ` +
        `${db.otherSessions} other client session(s) on the server at start`);
      console.log(`          graph-calls in separate processes: node --import tsx src/main.ts --db ${db.url} --port 0 --log-level error (pid ${first.pid} serves the one-instance rows;`);
      console.log(`          for the two-instance rows a second process starts before the warm-up and stops after the run, and autocannon splits the ${CONNECTIONS} connections ${CONNECTIONS / 2}/${CONNECTIONS / 2})`);
      console.log(`setup:    ${pgIds.length} established calls with the webhook as callbackUri; instance 1: ${await smoke(first.base, pgToken, pgIds[0]!)}; instance 2: ${probeSmoke}`);
      let second: Instance | null = null;
      const pgTarget = { token: pgToken, ids: pgIds, graphCalls: { calls: pgCalls, resetBase: first.base }, commit: () => null };
      targets.push(
        { key: 'pg1', label: 'PG ×1, bot in loop', urls: () => [first.base], ...pgTarget },
        {
          key: 'pg2', label: 'PG ×2, bot in loop', urls: () => [first.base, second!.base], ...pgTarget,
          async before() {
            second = await startInstance(args(2));
            instances.push(second);
          },
          async after() {
            await second?.stop();
            second = null;
          },
        },
      );
      sources.push(new OutboxTracker('PostgreSQL', first.base, hookUri));
    }
    console.log(pgSkipped ? `PostgreSQL rows SKIPPED: ${pgSkipped}` : '');

    console.log(`${elapsed()}: setup done`);
    const rows: Row[] = [];
    const openRows: OpenRow[] = [];
    /**
     * After each graph-calls row: wait (bounded) until the webhook's notifications have all been delivered,
     * so the next row (node:http runs in this process too) is not measured while this one's backlog drains.
     */
    const settled = async (isGraphCalls: boolean) => {
      if (!isGraphCalls) return '';
      const st = await settle(sources, SETTLE_BOUND_MS);
      return st.pendingLeft > 0
        ? `; ${fmt(st.pendingLeft)} webhook notification(s) STILL PENDING after ${fmt(st.ms)} ms (the next row runs with them; the final drain check decides)`
        : `; outbox drained ${fmt(st.ms)} ms after the load (${fmt(st.pendingFirst)} pending then)`;
    };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const t of targets) {
        await t.before?.();
        let line: string;
        try {
          const warm = await load(t.urls(), t.token, t.ids, WARMUP_S);
          // Requests in flight when autocannon stopped are still served: give them the run's slowest latency, then stop what is left recording.
          const reset = async (after: autocannon.Result) => {
            if (!t.graphCalls) return;
            await sleep(Math.min(5_000, Math.max(250, after.latency.max + 50)));
            await resetRecordingState(t.graphCalls.calls, t.graphCalls.resetBase, t.token, t.ids);
          };
          await reset(warm);
          const warmBad = warm.non2xx + warm.errors;
          t.commit(true);
          const tStart = Date.now();
          const result = await load(t.urls(), t.token, t.ids, DURATION_S);
          const tEnd = Date.now();
          const stats = t.commit();
          await reset(result);
          const r = row(t, round, result, stats, tStart, tEnd);
          rows.push(r);
          const bad = r.non2xx + r.errors;
          if (bad > 0 || warmBad > 0) failures++;
          line = `ran ${t.label.padEnd(21)} round ${round}: ${fmt(r.rps)} req/s, codes ${r.codes || 'none'}` +
            `${warmBad ? `; WARM-UP had ${warm.non2xx} non-2xx, ${warm.errors} errors (${JSON.stringify(warm.statusCodeStats)})` : ''}`;
        } finally {
          await t.after?.();
        }
        line += await settled(t.graphCalls !== null);
        console.log(`  ${elapsed().padStart(7)} ${line}`);
      }
      for (const t of openTargets) {
        // The generator answers only once every send it made is answered, so nothing is in flight after it.
        const r = await openLoop({
          url: t.url, token: t.token, paths: startStopPaths(t.ids), body: JSON_BODY, rate: RATE, warmupS: WARMUP_S, durationS: DURATION_S,
          timeoutMs: OPEN_TIMEOUT_MS, backlogLimit: Math.max(1, Math.round(RATE)),
        });
        if (t.graphCalls) await resetRecordingState(t.graphCalls.calls, t.graphCalls.resetBase, t.token, t.ids);
        const achieved = r.measured.ok / ((r.windowEnd - r.windowStart) / 1000);
        openRows.push({ key: t.key, label: t.label, round, r, achieved });
        const bad = r.warm.non2xx + r.warm.errors + r.measured.non2xx + r.measured.errors;
        if (bad > 0) failures++;
        const failed = (p: typeof r.warm) => `${p.non2xx} non-2xx${Object.keys(p.codes).length ? ` (${Object.entries(p.codes).map(([c, n]) => `${c}×${n}`).join(' ')})` : ''}, ${p.errors} errors`;
        const line = `ran ${`${t.label}, open`.padEnd(21)} round ${round}: ${fmt(achieved)} of ${fmt(RATE)} req/s, p99 ${fmt(r.latency.p99, 1)} ms, ` +
          `${fmt(r.measured.late)} late, ${fmt(r.measured.dropped)} dropped` +
          (bad ? `; FAILED requests: warm-up ${failed(r.warm)}; measured ${failed(r.measured)}; first: ${r.measured.firstProblem ?? r.warm.firstProblem}` : '');
        console.log(`  ${elapsed().padStart(7)} ${line}${await settled(t.graphCalls !== null)}`);
      }
    }

    // ---- report: closed loop ----
    const med = (key: Target['key']) => {
      const rs = rows.filter((r) => r.key === key);
      return { label: rs[0]!.label, rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
        worstP99: Math.max(...rs.map((r) => r.p99)), non2xx: rs.reduce((a, r) => a + r.non2xx, 0), errors: rs.reduce((a, r) => a + r.errors, 0),
        bytes: median(rs.map((r) => r.bytesPerResponse)) };
    };
    const h = med('node:http');
    const roundHttp = (round: number) => rows.find((r) => r.key === 'node:http' && r.round === round)?.rps ?? 0;
    const ratio = (rps: number, of: number) => (of > 0 ? (rps / of).toFixed(3) : '-');
    const widths = [21, 5, 10, 6, 6, 8, 7, 6];
    const head = pad(['server', 'round', 'req/s', 'p50 ms', 'p99 ms', '÷ node', 'non-2xx', 'errors'], widths);
    console.log('');
    console.log(`CLOSED LOOP: startRecording/stopRecording on ${CONNECTIONS} established calls, ${CONNECTIONS} connections — ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ` +
      `${fmt(os.totalmem() / 2 ** 30, 1)} GiB, node ${process.version}` + (db ? `, ${db.serverVersion.split(' on ')[0]}` : ', PostgreSQL skipped'));
    console.log(head);
    console.log('-'.repeat(head.length));
    for (const r of rows) {
      console.log(pad([r.label, String(r.round), fmt(r.rps), fmt(r.p50), fmt(r.p99), r.key === 'node:http' ? '1' : ratio(r.rps, roundHttp(r.round)),
        fmt(r.non2xx), fmt(r.errors)], widths));
    }
    console.log('-'.repeat(head.length));
    for (const t of targets) {
      const m = med(t.key);
      console.log(pad([m.label, 'med', fmt(m.rps), fmt(m.p50, 1), fmt(m.p99, 1), t.key === 'node:http' ? '1' : ratio(m.rps, h.rps), fmt(m.non2xx), fmt(m.errors)], widths));
    }
    if (pgSkipped) console.log(pad(['graph-calls PG', '-', 'skipped', '', '', '', '', ''], widths) + `  (${pgSkipped})`);
    console.log('(latency in whole ms, as autocannon records it; "÷ node" = req/s over node:http\'s in the same round, on "med" rows over its median;');
    console.log(' non-2xx/errors on "med" rows are totals; SQLite and node:http run in this process, each PostgreSQL instance in its own process,');
    console.log(` all on this machine with the PostgreSQL server, the webhook and the load generator)`);
    console.log(`response size: ${targets.map((t) => `${med(t.key).label} ${fmt(med(t.key).bytes)} B`).join(', ')} per response (headers + body)`);

    // ---- report: open loop ----
    const ms = (x: number) => (Number.isFinite(x) ? fmt(x, 1) : Number.isNaN(x) ? '-' : '∞');
    const ow = [21, 5, 9, 6, 6, 6, 7, 6, 7, 7, 7, 8];
    const ohead = pad(['server', 'round', 'achieved', 'p50', 'p95', 'p99', 'max', 'late', 'dropped', 'lag p99', 'svc p99', 'non-2xx'], ow);
    console.log('');
    console.log(`OPEN LOOP: ${fmt(RATE)} req/s scheduled for ${DURATION_S} s (after a ${WARMUP_S} s warm-up) over ${OPEN_CALLS} established calls; latency ms from each send's scheduled instant`);
    console.log(ohead);
    console.log('-'.repeat(ohead.length));
    for (const o of openRows) {
      const { r } = o;
      console.log(pad([o.label, String(o.round), fmt(o.achieved), ms(r.latency.p50), ms(r.latency.p95), ms(r.latency.p99), ms(r.latency.max), fmt(r.measured.late),
        fmt(r.measured.dropped), ms(r.lag.p99), ms(r.service.p99), fmt(r.measured.non2xx + r.measured.errors)], ow));
    }
    console.log('-'.repeat(ohead.length));
    const openMed = (key: OpenTarget['key']) => {
      const rs = openRows.filter((o) => o.key === key);
      return { label: rs[0]!.label, achieved: median(rs.map((o) => o.achieved)), p50: median(rs.map((o) => o.r.latency.p50)), p95: median(rs.map((o) => o.r.latency.p95)),
        p99: median(rs.map((o) => o.r.latency.p99)), worstP99: Math.max(...rs.map((o) => o.r.latency.p99)), max: Math.max(...rs.map((o) => o.r.latency.max)),
        late: rs.reduce((a, o) => a + o.r.measured.late, 0), dropped: rs.reduce((a, o) => a + o.r.measured.dropped, 0), lagP99: median(rs.map((o) => o.r.lag.p99)),
        svcP99: median(rs.map((o) => o.r.service.p99)),
        bad: rs.reduce((a, o) => a + o.r.measured.non2xx + o.r.measured.errors, 0) };
    };
    for (const t of openTargets) {
      const m = openMed(t.key);
      console.log(pad([m.label, 'med', fmt(m.achieved), ms(m.p50), ms(m.p95), ms(m.p99), ms(m.max), fmt(m.late), fmt(m.dropped), ms(m.lagP99), ms(m.svcP99), fmt(m.bad)], ow));
    }
    console.log('(achieved = measured sends answered 2xx ÷ the measured window; late = sends that found no idle call at their instant and waited;');
    console.log(` dropped = late sends past a ${fmt(Math.round(RATE))}-send backlog, counted as infinitely slow (∞); lag = how long after its instant a send was written,`);
    console.log(' the generator\'s own timer granularity included, which node:http\'s row shows; svc = from that write to the answer, the server\'s part;');
    console.log(' "med" rows: medians, max is the worst, counts are totals)');

    const g = med('sqlite');
    const b = med('sqlite-bot');
    const sqliteRatio = h.rps > 0 ? g.rps / h.rps : 0;
    const botRatio = h.rps > 0 ? b.rps / h.rps : 0;

    // ---- the bot's notifications: wait for the outbox to drain, then deliveries and commit-to-receipt ----
    // Commit time = the outbox row's createdAt (Date.now() when graph-calls committed the change with its
    // notifications); receipt = Date.now() in the webhook process when the POST arrived; matched by
    // X-Microsoft-Skype-Message-ID, first receipt counted. Both clocks are this machine's wall clock.
    // Rows of the callback-down calls (port 9) are left out: they are never delivered by design.
    console.log('');
    const d = await settle(sources, DRAIN_BOUND_MS);
    await webhook.collect();
    const all = sources.flatMap((s) => s.rows);
    const pending = all.filter((r) => r.state === 'pending').length;
    const dead = all.filter((r) => r.state === 'dead').length;
    const notReceived = all.filter((r) => r.state === 'delivered' && !webhook!.first.has(r.messageId)).length;
    console.log(`bot in the loop: ${fmt(all.length)} notifications committed for the webhook in the whole run (setup, warm-ups and resets included; ` +
      `${sources.map((s) => `${s.name} ${fmt(s.rows.length)}`).join(', ')}); after the last row ${fmt(d.pendingFirst)} pending, ` +
      `drain wait ${fmt(d.ms)} ms: ${fmt(all.length - pending - dead)} delivered, ${fmt(pending)} pending, ${fmt(dead)} dead; ` +
      `webhook saw ${fmt(webhook.total)} requests (${fmt(webhook.duplicates)} duplicates, ${fmt(webhook.missingId)} without a message id)`);
    const dw = [21, 6, 5, 7, 11, 9, 7, 6, 6];
    const dhead = pad(['row', 'loop', 'round', 'notifs', 'delivered/s', 'received', 'c2r p50', 'p95', 'p99'], dw);
    console.log('notifications of each measured bot-in-the-loop run (committed during its measured phase; delivered/s = receipts of that engine\'s');
    console.log('notifications during the phase ÷ its length; c2r = commit-to-receipt ms, outbox createdAt to webhook receipt):');
    console.log(dhead);
    const rowsOf = (key: string) => (key.startsWith('pg') ? sources[1]?.rows ?? [] : sources[0]!.rows);
    const notif = new Map<string, NotifStats[]>();
    const addNotif = (key: string, label: string, loop: string, round: number, tStart: number, tEnd: number) => {
      const st = notifStats(rowsOf(key), webhook!.first, tStart, tEnd);
      notif.set(key, [...(notif.get(key) ?? []), st]);
      console.log(pad([label, loop, String(round), fmt(st.committed), fmt(st.perS), fmt(st.received), fmt(st.p50), fmt(st.p95), fmt(st.p99)], dw));
    };
    for (const r of rows) if (r.key !== 'sqlite' && r.key !== 'node:http') addNotif(r.key, r.label, 'closed', r.round, r.tStart, r.tEnd);
    for (const o of openRows) if (o.key === 'open-sqlite-bot') addNotif(o.key, o.label, 'open', o.round, o.r.windowStart, o.r.windowEnd);
    const notifMed = (key: string) => {
      const xs = notif.get(key) ?? [];
      return { perS: median(xs.map((x) => x.perS)), p50: median(xs.map((x) => x.p50)), p95: median(xs.map((x) => x.p95)), p99: median(xs.map((x) => x.p99)) };
    };
    for (const [key, loop, label] of [['sqlite-bot', 'closed', b.label], ['pg1', 'closed', 'PG ×1, bot in loop'], ['pg2', 'closed', 'PG ×2, bot in loop'],
      ['open-sqlite-bot', 'open', 'SQLite, bot in loop']] as const) {
      if (!notif.has(key)) continue;
      const m = notifMed(key);
      console.log(pad([label, loop, 'med', '', fmt(m.perS), '', fmt(m.p50), fmt(m.p95), fmt(m.p99)], dw));
    }
    if (pending > 0 || dead > 0 || notReceived > 0) {
      failures++;
      console.log(`FAILED: not every accepted change reached the bot: ${fmt(pending)} notification(s) still pending after ${fmt(d.ms)} ms, ` +
        `${fmt(dead)} dead, ${fmt(notReceived)} marked delivered but not seen by the webhook`);
    }
    if (webhook.missingId > 0) {
      failures++;
      console.log(`FAILED: ${webhook.missingId} webhook request(s) without x-microsoft-skype-message-id`);
    }

    if (!pgSkipped) {
      const one = med('pg1');
      const two = med('pg2');
      console.log('');
      console.log(`PostgreSQL, bot in the loop: one instance ${fmt(one.rps)} req/s (p99 ${fmt(one.p99, 1)} ms, ${ratio(one.rps, h.rps)} of node:http, ${ratio(one.rps, b.rps)} of SQLite's bot row); ` +
        `two instances ${fmt(two.rps)} req/s (p99 ${fmt(two.p99, 1)} ms, ${ratio(two.rps, h.rps)} of node:http); two/one ${ratio(two.rps, one.rps)} ` +
        `[${cpus.length} cores shared by both instances, the server, the webhook and the load generator]`);
      const logged = instances.reduce((a, i) => a + i.logged(), 0);
      if (logged > 0) console.log(`note: the PostgreSQL instances logged ${logged} error line(s) during the run (--log-level error)`);
    }

    console.log('');
    {
      console.log('group commit (graph-calls SQLite measured closed-loop runs; one flush = one SQLite transaction):');
      const cw = [5, 9, 7, 9, 9, 12, 10];
      const line = (cells: string[]) => cells.map((c, i) => c.padStart(cw[i]!)).join('  ');
      console.log(['row'.padEnd(21), line(['round', 'writes', 'tx', 'writes/tx', 'max batch', 'COMMIT ms/tx', 'in flush %'])].join(''));
      for (const r of rows) {
        const c = r.commit;
        if (!c) continue;
        const busy = r.loadMs > 0 ? (100 * c.flushMs) / r.loadMs : 0;
        console.log([r.label.padEnd(21), line([String(r.round), fmt(c.commands), fmt(c.transactions), fmt(c.transactions ? c.commands / c.transactions : 0, 1),
          fmt(c.maxBatch), fmt(c.transactions ? c.commitMs / c.transactions : 0, 3), fmt(busy, 1)])].join(''));
      }
      console.log('("in flush %": share of the load phase the main thread spent inside flush: running the batched commands, then COMMIT)');
    }

    // ---- targets (issue 11): measured value, MET / NOT MET; timing never fails the run ----
    {
      const ob = openMed('open-sqlite-bot');
      const oc = notifMed('open-sqlite-bot');
      const sync = SYNC === 'FULL' ? null : `n/a: BENCH_SYNC=${SYNC}, the targets are for synchronous=FULL`;
      const atRate = RATE === TARGET_RATE ? null : `n/a: measured at ${fmt(RATE)} req/s (BENCH_RATE), the target is for ${fmt(TARGET_RATE)}`;
      const verdict = (ok: boolean, ...na: (string | null)[]) => na.find((x) => x !== null) ?? (ok ? 'MET' : 'NOT MET');
      const tw = [68, 36];
      const line = (what: string, value: string, v: string) => console.log(`  ${what.padEnd(tw[0]!)}${value.padEnd(tw[1]!)}${v}`);
      console.log('');
      console.log(`TARGETS (issue 11; graph-calls on SQLite, synchronous=${SYNC}, this machine, this run; medians of ${ROUNDS} rounds):`);
      line(`bot in the loop >= ${TARGET_RATIO_BOT}× node:http req/s (closed loop, ${CONNECTIONS} conns)`, `${botRatio.toFixed(3)}× (${fmt(b.rps)} / ${fmt(h.rps)})`,
        verdict(botRatio >= TARGET_RATIO_BOT, sync));
      line(`callback down >= ${TARGET_RATIO_DOWN}× node:http req/s (closed loop, ${CONNECTIONS} conns)`, `${sqliteRatio.toFixed(3)}× (${fmt(g.rps)} / ${fmt(h.rps)})`,
        verdict(sqliteRatio >= TARGET_RATIO_DOWN, sync));
      line(`p99 <= ${TARGET_P99_MS} ms at a steady ${fmt(TARGET_RATE)} req/s (open loop, bot in the loop)`,
        `${ms(ob.p99)} ms (worst ${ms(ob.worstP99)}; ${fmt(ob.achieved)} req/s)`, verdict(ob.p99 <= TARGET_P99_MS, sync, atRate));
      line(`commit-to-receipt p95 <= ${TARGET_C2R_P95_MS} ms at that rate`, `${fmt(oc.p95)} ms (p50 ${fmt(oc.p50)}, p99 ${fmt(oc.p99)})`,
        verdict(oc.p95 <= TARGET_C2R_P95_MS, sync, atRate));
      console.log(`  for reference, p99 at ${CONNECTIONS} connections closed loop (there latency is connections ÷ throughput): bot in the loop ${fmt(b.p99, 1)} ms ` +
        `(worst ${fmt(b.worstP99)}), callback down ${fmt(g.p99, 1)} ms, node:http ${fmt(h.p99, 1)} ms; node:http open loop p99 ${ms(openMed('open-node:http').p99)} ms`);
      console.log('  (timing never fails the run; missing deliveries and failed requests do)');
    }

    console.log(`\n${elapsed()} in all; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (other work on the machine shows here and at the start)`);
    if (failures > 0) console.log(`\nFAILED: ${failures} failure(s) (see FAILED above, and runs with non-2xx responses or connection errors: every request should be 202)`);
    else console.log('\nall requests answered 2xx (non-2xx = 0, errors = 0 in every run, warm-ups included); every bot notification delivered, none dead');
  } finally {
    plain.closeAllConnections();
    await new Promise<void>((r) => plain.close(() => r()));
    for (const i of instances) await i.stop();
    if (pgStorage) await pgStorage.close().catch(() => undefined);
    if (comp) await comp.close();
    if (webhook) await webhook.close();
    if (db) {
      await withTimeout(db.drop(), 10_000).then(
        () => console.log(`dropped database ${db!.name}`),
        (err: unknown) => { console.error(`bench: could not drop database ${db!.name}: ${reason(err)}`); failures++; },
      );
    }
    cleanup();
    clearTimeout(watchdog);
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
  return failures > 0 ? 1 : 0;
}

main().then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    console.error(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
