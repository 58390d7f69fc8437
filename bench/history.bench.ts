/**
 * Cost flat in history (issue 11 item 4): the same requests with 10³ and with 10⁵ stored calls, side by
 * side. Target: start/stop p50 and GET p50 within 20 % of each other, and RSS level once bounded caches
 * have filled.
 *
 * graph-calls runs in a process of its own (`src/main.ts`, SQLite on disk, `synchronous=FULL` unless
 * BENCH_SYNC says otherwise, the default --retention 7d), so its resident set is read alone
 * (/proc/PID/status VmRSS); the bot's webhook (answers 202) is a second child process; this process is the
 * load generator (autocannon, 50 connections, pipelining 1, a 2 s warm-up before each run).
 *
 * History is real rows: one call is made through the API (answered, a participant joins, recorded, hung
 * up, its recording rendered, every notification delivered) beside 50 calls that stay established. The
 * database is then copied, one copy per size, and with graph-calls stopped the call's rows in every table
 * are copied under new ids (the call's and its recording's ids remapped in every text column, rows that
 * point at a sequence key pointed at the copy's; each copy ended a millisecond before the last) in
 * transactions of 5,000 calls on a connection of the bench's own. Jobs (its keep-alive expiry) and journal
 * entries (bounded by count anyway) are not copied.
 *
 * Each round restarts graph-calls on the smaller, then the larger database (so both start from the same
 * state of the process and differ only in what the database holds, and drift on a shared machine hits both)
 * and runs: startRecording/stopRecording, each connection alternating on its own established call; GET of
 * those calls; GET of the recordings of ended calls picked at random from the whole history. The table gives
 * medians over the rounds. Last, graph-calls restarts on the larger database with --retention 1s: the
 * background cleanup starts deleting the whole history while GET runs on the active calls (the bench
 * reports how many went and what GET saw meanwhile, and does not wait for the rest).
 *
 * Any non-2xx answer or connection error fails the run (exit 1); timings never do. Knobs: BENCH_DURATION
 * (seconds per run, default 5), BENCH_ROUNDS (default 2), BENCH_HISTORY_SIZES (default "1000,100000"),
 * BENCH_SYNC=FULL|NORMAL.
 */
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { AUTOCANNON_VERSION, BENCH_THROTTLE_LIMIT, envNumber, establishedCalls, fetchDevToken, fmt, JSON_BODY, percentile, post, resetRecordingState, sleep, startStopPaths, usage, type CallLookup } from './common.js';
import { killAllInstances, startInstance, type Instance } from './postgres.js';
import { timeOrderedGuid } from '../src/shared/ids.js';

const CONNECTIONS = 50;
const WARMUP_S = 2;
const TARGET = 0.2;
const ALICE = '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d';
const SEED_CHUNK = 5_000;
const ROUNDS = envNumber('BENCH_ROUNDS', 2, (n) => Number.isInteger(n) && n >= 1 && n <= 5, 'a whole number in [1, 5]');
const DURATION_S = envNumber('BENCH_DURATION', 5, (n) => Number.isFinite(n) && n > 0 && n <= 120, 'a number of seconds in (0, 120]');
const SIZES = (() => {
  const raw = process.env.BENCH_HISTORY_SIZES || '1000,100000';
  const sizes = raw.split(',').map(Number);
  if (sizes.length !== 2 || !sizes.every((n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000) || sizes[0]! >= sizes[1]!) {
    usage(`BENCH_HISTORY_SIZES must be two increasing whole numbers of calls in [1, 1000000], got '${raw}'`);
  }
  return sizes as [number, number];
})();
const SYNC = (() => {
  const s = (process.env.BENCH_SYNC || 'FULL').toUpperCase();
  if (s !== 'FULL' && s !== 'NORMAL') usage(`BENCH_SYNC must be FULL or NORMAL, got '${process.env.BENCH_SYNC}'`);
  return s;
})();

// ---- the bot's webhook, in a process of its own ------------------------------------------------------

const WEBHOOK = `const http = require('node:http');
const s = http.createServer((q, r) => { q.resume(); q.on('end', () => r.writeHead(202).end()); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(s.address().port + '\\n'));`;

async function startWebhook(): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['-e', WEBHOOK], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').once('data', (d: string) => resolve(d.trim()));
    child.once('exit', (code) => reject(new Error(`webhook exited (${code})`)));
  });
  return { url: `http://127.0.0.1:${port}/api/calls`, child };
}

// ---- reading and copying rows ----------------------------------------------------------------------------

/** Call state read straight from the database file (WAL lets a reader in beside graph-calls). */
function lookup(file: string): CallLookup & { pending(ids: string[]): number; count(sql: string, ...p: unknown[]): number; close(): void } {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  const one = db.prepare('SELECT state, data FROM calls WHERE id = ?');
  return {
    async getCall(id) {
      const r = one.get(id) as { state: string; data: string } | undefined;
      return r ? { state: r.state, recordingActive: (JSON.parse(r.data) as { recordingActive: boolean }).recordingActive } : undefined;
    },
    pending: (ids) => Number((db.prepare("SELECT COUNT(*) AS n FROM outbox WHERE state = 'pending' AND call_id IN (SELECT value FROM json_each(?))").get(JSON.stringify(ids)) as { n: number }).n),
    count: (sql, ...p) => Number((db.prepare(sql).get(...p) as { n: number }).n),
    close: () => db.close(),
  };
}

type Row = Record<string, unknown>;
interface Template { callId: string; endedAt: number; createdAt: number; recordingIds: string[]; operationIds: string[]; tables: Array<{ table: string; rows: Row[] }> }

/** Tables a call's rows are copied to, in an order where every row's links exist before it. */
const COPIED = ['calls', 'participants', 'operations', 'call_items', 'recording_segments', 'media_events', 'recordings', 'recording_users', 'recording_content',
  'transcripts', 'transcript_users', 'outbox', 'outbox_bodies', 'delivery_attempts'];

function readTemplate(file: string, callId: string): Template {
  const db = new Database(file, { readonly: true });
  try {
    const rows = (sql: string, ...p: unknown[]) => db.prepare(sql).all(...p) as Row[];
    const tables = COPIED.map((table) => {
      switch (table) {
        case 'calls': return { table, rows: rows('SELECT * FROM calls WHERE id = ?', callId) };
        case 'recording_users': return { table, rows: rows('SELECT * FROM recording_users WHERE recording_seq IN (SELECT seq FROM recordings WHERE call_id = ?)', callId) };
        case 'recording_content': return { table, rows: rows('SELECT * FROM recording_content WHERE recording_id IN (SELECT id FROM recordings WHERE call_id = ?)', callId) };
        case 'transcript_users': return { table, rows: rows('SELECT * FROM transcript_users WHERE transcript_seq IN (SELECT seq FROM transcripts WHERE call_id = ?)', callId) };
        case 'outbox_bodies': return { table, rows: rows('SELECT * FROM outbox_bodies WHERE seq IN (SELECT seq FROM outbox WHERE call_id = ?) ORDER BY seq', callId) };
        default: return { table, rows: rows(`SELECT * FROM ${table} WHERE call_id = ? ORDER BY 1`, callId) };
      }
    });
    const call = tables[0]!.rows[0]!;
    return {
      callId, endedAt: Number(call.updated_at), createdAt: Number(call.created_at),
      recordingIds: tables.find((t) => t.table === 'recordings')!.rows.map((r) => r.id as string),
      operationIds: tables.find((t) => t.table === 'operations')!.rows.map((r) => r.id as string), tables,
    };
  } finally {
    db.close();
  }
}

/**
 * Copies the template call `count` times with graph-calls stopped. Ids in every text column are remapped
 * (the call's, its recordings', its operations'); sequence keys are the database's, and rows that point at a sequence key
 * (recording users, delivery attempts, notification bodies) point at the copy's. Returns rows written and time taken.
 */
function seed(file: string, t: Template, first: number, count: number): { rows: number; wallMs: number; cpuMs: number } {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const db = new Database(file);
  // Seeding needs no durability (a crash means a new run): no journal, so each page is written once, not to
  // the WAL and again to the database; graph-calls turns WAL back on when it opens the file.
  db.pragma('journal_mode = OFF');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const insert = new Map<string, { stmt: Database.Statement; cols: string[]; rowid: string | null }>();
  for (const { table } of t.tables) {
    const info = db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string; type: string; pk: number }>;
    // An INTEGER PRIMARY KEY is the rowid: the copy gets a new one. A body's key is its notification's (below).
    const rowid = table === 'outbox_bodies' ? null : info.find((c) => c.pk === 1 && c.type === 'INTEGER' && info.filter((x) => x.pk > 0).length === 1)?.name ?? null;
    const cols = info.map((c) => c.name).filter((c) => c !== rowid);
    insert.set(table, { stmt: db.prepare(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`), cols, rowid });
  }
  let rows = 0;
  // Each text value of the template, cut once where an id to remap occurs: a copy joins the pieces with its own ids.
  // Operation ids too: graph-calls makes each one unique and time-ordered (src/shared/ids.ts), and an
  // index keyed by them holds a copy's operations where ids of its time go, not among 10⁵ equal ids.
  const templateIds = [t.callId, ...t.recordingIds, ...t.operationIds];
  const isOperation = (n: number) => n > t.recordingIds.length;
  const cut = new Map<string, Array<string | number>>();
  const pieces = (v: string): Array<string | number> => {
    let out: Array<string | number> = [v];
    templateIds.forEach((id, n) => {
      out = out.flatMap((p) => (typeof p === 'string' && p.includes(id) ? p.split(id).flatMap((x, i) => (i ? [n, x] : [x])) : [p]));
    });
    return out;
  };
  const copy = (k: number) => {
    const fresh = templateIds.map((_, n) => (isOperation(n) ? timeOrderedGuid(t.createdAt - k - 1) : randomUUID()));
    const remap = (v: unknown) => {
      if (typeof v !== 'string') return v;
      let p = cut.get(v);
      if (!p) cut.set(v, (p = pieces(v)));
      return p.length === 1 ? p[0] : p.map((x) => (typeof x === 'number' ? fresh[x] : x)).join('');
    };
    const seqs = new Map<string, Map<number, number>>();
    for (const { table, rows: tableRows } of t.tables) {
      const ins = insert.get(table)!;
      const own = new Map<number, number>();
      seqs.set(table, own);
      for (const r of tableRows) {
        const values = ins.cols.map((c) => {
          if (table === 'calls' && c === 'updated_at') return t.endedAt - k - 1;
          if (table === 'calls' && c === 'created_at') return t.createdAt - k - 1;
          if (c === 'recording_seq') return seqs.get('recordings')!.get(Number(r[c])) ?? r[c];
          if (c === 'transcript_seq') return seqs.get('transcripts')!.get(Number(r[c])) ?? r[c];
          if (c === 'outbox_seq' || (table === 'outbox_bodies' && c === 'seq')) return seqs.get('outbox')!.get(Number(r[c])) ?? r[c];
          return remap(r[c]);
        });
        const info = ins.stmt.run(...values);
        if (ins.rowid) own.set(Number(r[ins.rowid]), Number(info.lastInsertRowid));
        rows++;
      }
    }
  };
  for (let k = first; k < first + count; k += SEED_CHUNK) {
    const end = Math.min(first + count, k + SEED_CHUNK);
    db.transaction(() => { for (let i = k; i < end; i++) copy(i); })();
  }
  db.pragma('journal_mode = WAL');
  db.close();
  const cpu = process.cpuUsage(c0);
  return { rows, wallMs: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000 };
}

// ---- load ------------------------------------------------------------------------------------------------

/**
 * Latency percentiles to a tenth of a millisecond, from each response's own timing (autocannon's
 * 'response' event). autocannon's histogram keeps whole milliseconds, so a 2-3 ms p50 could only read as
 * 2 or 3 and a 20 % judgement on it was a judgement on rounding.
 */
interface Fine { p50: number; p99: number }

/** One autocannon run: connection k cycles through paths[k]. */
async function load(base: string, token: string, method: 'GET' | 'POST', paths: string[][], seconds: number): Promise<autocannon.Result & { fine: Fine }> {
  let k = 0;
  const times: number[] = [];
  const r = await autocannon({
    url: base, connections: CONNECTIONS, pipelining: 1, duration: seconds, method,
    headers: { authorization: `Bearer ${token}`, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: JSON_BODY } : {}),
    setupClient: (client: autocannon.Client) => {
      const own = paths[k++ % paths.length]!;
      client.setRequests(own.map((path) => ({ path })));
      client.on('response', (_status, _bytes, ms) => { times.push(ms); });
    },
  });
  if (r.non2xx || r.errors) {
    const codes = Object.entries(r.statusCodeStats).map(([c, v]) => `${c}×${v.count}`).join(' ');
    throw new Error(`${method} ${paths[0]![0]}: ${r.non2xx} non-2xx answers, ${r.errors} errors (${codes})`);
  }
  const sorted = Float64Array.from(times).sort();
  return Object.assign(r, { fine: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) } });
}

/** CPU time the process has used, in ms (utime + stime of /proc/PID/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** A run's result, and graph-calls' CPU time per request during it (µs): the cost, whatever else the machine runs. */
type Run = autocannon.Result & { fine: Fine; cpuUs: number };

interface Measured {
  size: number;
  startStop: Run;
  get: Run;
  history: Run;
  rss: number;
  peak: number;
  dbMiB: number;
  stored: number;
}

async function measure(size: number, file: string, args: string[], active: string[], history: string[]): Promise<Measured> {
  const inst = await startInstance(args);
  const db = lookup(file);
  try {
    const token = await fetchDevToken(inst.base);
    for (const id of active) if ((await db.getCall(id))?.state !== 'established') throw new Error(`active call ${id} is not established after the restart`);
    const check = await fetch(`${inst.base}/v1.0/users/${ALICE}/adhocCalls/${history[0]}/recordings`, { headers: { authorization: `Bearer ${token}` } });
    const listed = (await check.json()) as { value?: unknown[] };
    if (check.status !== 200 || listed.value?.length !== 1) throw new Error(`an ended call's recordings: expected 200 with one, got ${check.status} ${JSON.stringify(listed)}`);
    const pick = () => history[Math.floor(Math.random() * history.length)]!;
    const historyPaths = Array.from({ length: CONNECTIONS }, () => Array.from({ length: 200 }, () => `/v1.0/users/${ALICE}/adhocCalls/${pick()}/recordings`));
    const getPaths = active.map((id) => [`/beta/communications/calls/${id}`]);
    const run = async (method: 'GET' | 'POST', paths: string[][]) => {
      await load(inst.base, token, method, paths, WARMUP_S);
      if (method === 'POST') await resetRecordingState(db, inst.base, token, active);
      const c0 = cpuMs(inst.pid);
      const r = await load(inst.base, token, method, paths, DURATION_S);
      const run: Run = Object.assign(r, { cpuUs: ((cpuMs(inst.pid) - c0) * 1000) / Math.max(1, r.requests.total) });
      if (method === 'POST') await resetRecordingState(db, inst.base, token, active);
      return run;
    };
    const startStop = await run('POST', startStopPaths(active));
    const get = await run('GET', getPaths);
    const hist = await run('GET', historyPaths);
    const { rss, peak } = rssMiB(inst.pid);
    // Let the run's notifications reach the bot (bounded) before the next restart.
    for (const deadline = Date.now() + 30_000; db.pending(active) > 0 && Date.now() < deadline;) await sleep(100);
    const stored = db.count('SELECT COUNT(*) AS n FROM calls');
    return { size, startStop, get, history: hist, rss, peak, dbMiB: statSync(file).size / 2 ** 20, stored };
  } finally {
    db.close();
    await inst.stop();
  }
}

/**
 * The cleanup at scale: graph-calls restarted with a retention of one second, so every stored ended call
 * is past it; GET on the active calls runs while the background sweep deletes them. Reports how fast the
 * history went and what the requests saw meanwhile.
 */
async function sweepAll(file: string, args: string[], active: string[], before: number): Promise<{ get: autocannon.Result & { fine: Fine }; deletedDuringLoad: number; sweepMs: number }> {
  const db = lookup(file);
  try {
    const t0 = Date.now();
    const inst = await startInstance([...args, '--retention', '1s']);
    try {
      const token = await fetchDevToken(inst.base);
      const get = await load(inst.base, token, 'GET', active.map((id) => [`/beta/communications/calls/${id}`]), DURATION_S);
      const deletedDuringLoad = before - db.count('SELECT COUNT(*) AS n FROM calls');
      const sweepMs = Date.now() - t0;
      for (const id of active) if ((await db.getCall(id))?.state !== 'established') throw new Error(`the sweep touched active call ${id}`);
      return { get, deletedDuringLoad, sweepMs };
    } finally {
      await inst.stop();
    }
  } finally {
    db.close();
  }
}

function endedCalls(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return (db.prepare("SELECT id FROM calls WHERE state = 'terminated'").all() as Array<{ id: string }>).map((r) => r.id);
  } finally {
    db.close();
  }
}

// ---- main ------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cpus = os.cpus();
  console.log('graph-calls history benchmark (issue 11 item 4: cost flat in history)');
  console.log(`machine:  ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  console.log(`load:     autocannon ${AUTOCANNON_VERSION}, ${CONNECTIONS} connections, pipelining 1, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, ${ROUNDS} rounds ` +
    `alternating the sizes; graph-calls in its own process, SQLite on disk, synchronous=${SYNC}; the bot's webhook in a third process`);
  const dirs = SIZES.map(() => mkdtempSync(join(os.tmpdir(), 'graph-calls-history-')));
  const files = dirs.map((d) => join(d, 'graph-calls.db'));
  const argsFor = (dir: string) => ['--data', dir, '--port', '0', '--log-level', 'error', '--answer-delay-ms', '10', '--sqlite-synchronous', SYNC,
    '--throttle-limit', String(BENCH_THROTTLE_LIMIT)];
  const webhook = await startWebhook();
  try {
    // The call every stored one is a copy of, and the 50 that stay up, made through the API.
    const { templateId, active } = await makeCalls(argsFor(dirs[0]!), files[0]!, webhook.url);
    // Both sizes start from the same database (graph-calls checkpointed it when it stopped).
    copyFileSync(files[0]!, files[1]!);
    const template = readTemplate(files[0]!, templateId);
    const perCall = template.tables.reduce((n, t) => n + t.rows.length, 0);
    const bytes = template.tables.reduce((n, t) => n + t.rows.reduce((m, r) => m + Object.values(r).reduce((x: number, v) => x + (typeof v === 'string' || Buffer.isBuffer(v) ? v.length : 8), 0), 0), 0);
    console.log(`history:  copies of one real call: ${template.tables.filter((t) => t.rows.length).map((t) => `${t.table} ${t.rows.length}`).join(', ')} ` +
      `(${perCall} rows, about ${fmt(bytes / 1024, 1)} KiB a call)\n`);

    const seeded = SIZES.map((size, i) => {
      const s = seed(files[i]!, template, 0, size - 1);
      console.log(`seeded ${fmt(size - 1)} calls (${fmt(s.rows)} rows) in ${fmt(s.wallMs / 1000, 1)} s wall, ${fmt(s.cpuMs / 1000, 1)} s CPU: ` +
        `${fmt((size - 1) / (s.wallMs / 1000))} calls/s, ${fmt(s.rows / (s.wallMs / 1000))} rows/s; database ${fmt(statSync(files[i]!).size / 2 ** 20)} MiB`);
      return s;
    });
    const history = files.map(endedCalls);

    const runs: Measured[][] = SIZES.map(() => []);
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [i, size] of SIZES.entries()) {
        const m = await measure(size, files[i]!, argsFor(dirs[i]!), active, history[i]!);
        runs[i]!.push(m);
        console.log(`round ${round}, ${fmt(size)} stored calls: start/stop p50 ${fmt(m.startStop.fine.p50, 1)} ms (${fmt(m.startStop.requests.average)} req/s), ` +
          `GET p50 ${fmt(m.get.fine.p50, 1)} ms, recordings of ended calls p50 ${fmt(m.history.fine.p50, 1)} ms, RSS ${fmt(m.rss)} MiB; ` +
          `CPU per request ${fmt(m.startStop.cpuUs)} / ${fmt(m.get.cpuUs)} / ${fmt(m.history.cpuUs)} µs`);
      }
    }

    const pad = (s: string, n: number) => s.padStart(n);
    console.log(`\nCost with history — ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, node ${process.version}, SQLite synchronous=${SYNC}, ` +
      `medians of ${ROUNDS} rounds of ${DURATION_S} s`);
    console.log(`${'figure'.padEnd(48)}${pad(`${fmt(SIZES[0])} calls`, 14)}${pad(`${fmt(SIZES[1])} calls`, 16)}${pad('ratio', 9)}  within 20 %`);
    const line = (label: string, x: number, y: number, unit: string, judged: boolean) => {
      const ratio = y / x;
      const verdict = judged ? (Math.abs(ratio - 1) <= TARGET ? 'yes' : 'NO') : '(not judged)';
      const d = unit === 'ms' ? 1 : 0;
      console.log(`${label.padEnd(48)}${pad(`${fmt(x, d)} ${unit}`, 14)}${pad(`${fmt(y, d)} ${unit}`, 16)}${pad(`${ratio.toFixed(2)}×`, 9)}  ${verdict}`);
    };
    const med = (i: number, f: (m: Measured) => number) => median(runs[i]!.map(f));
    const row = (label: string, f: (m: Measured) => number, unit: string, judged: boolean) => line(label, med(0, f), med(1, f), unit, judged);
    row('start/stop p50 (50 active calls)', (m) => m.startStop.fine.p50, 'ms', true);
    row('start/stop p99', (m) => m.startStop.fine.p99, 'ms', false);
    row('start/stop req/s', (m) => m.startStop.requests.average, 'req/s', false);
    row('start/stop graph-calls CPU per request', (m) => m.startStop.cpuUs, 'µs', false);
    row('GET call p50 (the active calls)', (m) => m.get.fine.p50, 'ms', true);
    row('GET call req/s', (m) => m.get.requests.average, 'req/s', false);
    row('GET call graph-calls CPU per request', (m) => m.get.cpuUs, 'µs', false);
    row('GET recordings of a random ended call p50', (m) => m.history.fine.p50, 'ms', true);
    row('GET recordings of a random ended call req/s', (m) => m.history.requests.average, 'req/s', false);
    row('GET recordings graph-calls CPU per request', (m) => m.history.cpuUs, 'µs', false);
    row('RSS after the load', (m) => m.rss, 'MiB', true);
    row('peak RSS', (m) => m.peak, 'MiB', false);
    row('database file', (m) => m.dbMiB, 'MiB', false);

    const b = runs[1]!.at(-1)!;
    const swept = await sweepAll(files[1]!, argsFor(dirs[1]!), active, b.stored);
    line(`GET call p50: idle / while ${fmt(SIZES[1] - 1)} ended calls are deleted`, med(1, (m) => m.get.fine.p50), swept.get.fine.p50, 'ms', false);
    line('GET call p99: idle / during the cleanup', med(1, (m) => m.get.fine.p99), swept.get.fine.p99, 'ms', false);
    console.log(`cleanup (--retention 1s, batches of at most 100 calls, 20 ms each): ${fmt(swept.deletedDuringLoad)} of the ${fmt(SIZES[1] - 1)} ended calls deleted ` +
      `in the ${fmt(swept.sweepMs / 1000, 1)} s from the restart to the end of the GET run (${fmt(swept.deletedDuringLoad / (swept.sweepMs / 1000))} calls/s); active calls untouched`);
    const total = seeded.reduce((x, s) => ({ rows: x.rows + s.rows, wallMs: x.wallMs + s.wallMs, cpuMs: x.cpuMs + s.cpuMs }), { rows: 0, wallMs: 0, cpuMs: 0 });
    console.log(`seeding: ${fmt(SIZES[0] + SIZES[1] - 2)} calls, ${fmt(total.rows)} rows in ${fmt(total.wallMs / 1000, 1)} s wall / ${fmt(total.cpuMs / 1000, 1)} s CPU`);
    console.log('(latency in ms from each response\'s own timing, to 0.1 ms; ratio = the larger history over the smaller; RSS is graph-calls\' process alone, /proc VmRSS after its three runs;');
    console.log(' CPU per request = graph-calls\' user+system time during the run over the requests answered, the figure least moved by other work on the machine)');
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at the end (other work on the machine shows here and at the start)`);
    return 0;
  } finally {
    webhook.child.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The template call (answered, joined, recorded, hung up, rendered, delivered) and the 50 established calls, through the API. */
async function makeCalls(args: string[], file: string, callbackUri: string): Promise<{ templateId: string; active: string[] }> {
  const inst: Instance = await startInstance(args);
  const db = lookup(file);
  try {
    const token = await fetchDevToken(inst.base);
    const [templateId] = await establishedCalls(db, inst.base, token, 1, callbackUri) as [string];
    const control = { 'content-type': 'application/json', 'x-graph-calls-control': '1' };
    const ok = (what: string, status: number, expected: number) => { if (status !== expected) throw new Error(`${what}: expected ${expected}, got ${status}`); };
    const joined = await fetch(`${inst.base}/_emulator/calls/${templateId}/participants`, { method: 'POST', headers: control, body: JSON.stringify({ displayName: 'Carol' }) });
    ok('a participant joins', joined.status, 201);
    ok('startRecording', (await post(`${inst.base}/beta/communications/calls/${templateId}/startRecording`, token, {})).status, 202);
    // Stopped at once: a recording a few milliseconds long keeps the copied bytes small.
    ok('stopRecording', (await post(`${inst.base}/beta/communications/calls/${templateId}/stopRecording`, token, {})).status, 202);
    for (const deadline = Date.now() + 10_000; db.count('SELECT COUNT(*) AS n FROM recordings WHERE call_id = ?', templateId) === 0;) {
      if (Date.now() > deadline) throw new Error('the template call was never rendered');
      await sleep(20);
    }
    ok('hang up', (await fetch(`${inst.base}/beta/communications/calls/${templateId}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } })).status, 204);
    const active = await establishedCalls(db, inst.base, token, CONNECTIONS, callbackUri);
    for (const deadline = Date.now() + 15_000; (await db.getCall(templateId))?.state !== 'terminated' || db.pending([templateId, ...active]) > 0;) {
      if (Date.now() > deadline) throw new Error('the template call did not end with every notification delivered');
      await sleep(20);
    }
    return { templateId, active };
  } finally {
    db.close();
    await inst.stop();
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { killAllInstances(); process.exit(130); });
main().then((code) => process.exit(code), (err: unknown) => {
  killAllInstances();
  console.error(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exit(1);
});
