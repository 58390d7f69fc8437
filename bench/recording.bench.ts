/**
 * `npm run bench`: startRecording/stopRecording throughput of graph-calls against a plain node:http
 * server doing the same HTTP work, measured as in docs research stack.md §2: autocannon, 50
 * connections, pipelining 1, a 2 s warm-up before each 10 s run, the servers interleaved over two rounds.
 *
 * graph-calls runs in this process with its data on disk (a fresh temp directory, removed at the end).
 * Every connection owns one established call and alternates startRecording/stopRecording on it, so every
 * request must succeed (202); any non-2xx or connection error fails the run (exit 1). Timing never does.
 *
 * autocannon runs in a worker thread (BENCH_WORKERS, default 1), so the load generator does not share
 * the servers' event loop; BENCH_WORKERS=0 puts it on the main thread. Other knobs: BENCH_DURATION
 * (seconds, default 10), BENCH_SYNC=FULL|NORMAL (SQLite `synchronous`, default FULL).
 */
import autocannon from 'autocannon';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { DEV_APP } from '../src/auth/apps.js';
import { compose, type Composition } from '../src/compose.js';
import { AUTOCANNON_VERSION, envNumber, establishedCalls, fmt, JSON_BODY, LOAD_CLIENT, post, resetRecordingState, sleep, startStopPaths, usage } from './common.js';
import { DEFAULTS, type Config } from '../src/config.js';

// ---- settings ---------------------------------------------------------------------------------------

const CONNECTIONS = 50;
const ROUNDS = 2;
const WARMUP_S = 2;
/** Issue targets: graph-calls at least half of node:http's req/s, with p99 at most 10 ms. */
const TARGET_RATIO = 0.5;
const TARGET_P99_MS = 10;



const DURATION_S = envNumber('BENCH_DURATION', 10, (n) => Number.isFinite(n) && n > 0 && n <= 600, 'a number of seconds in (0, 600]');
const WORKERS = envNumber('BENCH_WORKERS', 1, (n) => Number.isInteger(n) && n >= 0 && (n === 0 || CONNECTIONS % n === 0),
  `0 or an integer dividing ${CONNECTIONS}`);
const SYNC: Config['sqliteSynchronous'] = (() => {
  const s = (process.env.BENCH_SYNC || 'FULL').toUpperCase();
  if (s !== 'FULL' && s !== 'NORMAL') usage(`BENCH_SYNC must be FULL or NORMAL, got '${process.env.BENCH_SYNC}'`);
  return s;
})();


// ---- graph-calls --------------------------------------------------------------------------------------




/**
 * autocannon stops mid-cycle, and requests in flight when it stops are still served. Once they have
 * settled, stop the calls left recording so the next run starts every connection with startRecording.
 */

/** Group-commit counters from the store (one flush = one SQLite transaction). */
type CommitStats = ReturnType<Composition['store']['commitStats']>;

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

// ---- load ------------------------------------------------------------------------------------------------

/** One autocannon run; connection k alternates start/stop on call k. */
async function load(base: string, token: string, ids: string[], seconds: number): Promise<autocannon.Result> {
  const paths = startStopPaths(ids);
  let k = 0;
  const inline = (client: autocannon.Client) => {
    const own = paths[k++];
    if (!own) throw new Error(`bench: connection ${k - 1} has no call assigned`);
    client.setRequests(own.map((path) => ({ path })));
  };
  return autocannon({
    url: base,
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

interface Row {
  server: 'graph-calls' | 'node:http';
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
}

function row(server: Row['server'], round: number, r: autocannon.Result, commit: CommitStats | null): Row {
  const codes = Object.entries(r.statusCodeStats).map(([c, v]) => `${c}×${v.count}`).join(' ');
  return {
    server, round, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, codes,
    bytesPerResponse: r.requests.total > 0 ? r.throughput.total / r.requests.total : 0, commit, loadMs: r.duration * 1000,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const pad = (cells: string[], widths: number[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');

// ---- main --------------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const cpus = os.cpus();
  console.log('graph-calls recording benchmark');
  console.log(`machine:  ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM, node ${process.version}, ${os.platform()} ${os.release()}, ` +
    `load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  console.log(`load:     autocannon ${AUTOCANNON_VERSION}, ${CONNECTIONS} connections, pipelining 1, ${WARMUP_S} s warm-up + ${DURATION_S} s per run, ` +
    `${ROUNDS} interleaved rounds, load generator ${WORKERS > 0 ? `in ${WORKERS} worker thread(s)` : 'on the main thread'}`);

  const dataDir = mkdtempSync(join(os.tmpdir(), 'graph-calls-bench-'));
  let comp: Composition | null = null;
  const plain = plainServer();
  let failures = 0;
  const cleanup = () => rmSync(dataDir, { recursive: true, force: true });
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Hang guard only (never about speed): generous against the expected ~55 s.
  const watchdog = setTimeout(() => {
    console.error('bench: watchdog fired, the run hung; exiting');
    cleanup();
    process.exit(2);
  }, (ROUNDS * 2 * (WARMUP_S + DURATION_S + 10) + 60) * 1000);
  watchdog.unref();

  try {
    const config: Config = Object.freeze({
      ...DEFAULTS, host: '127.0.0.1', port: 0, inMemory: false, dataDir,
      answerDelayMs: 10, operationDelayMs: 3_600_000, sqliteSynchronous: SYNC, logLevel: 'silent' as const,
    });
    comp = await compose(config);
    comp.start();
    await comp.app.listen({ host: '127.0.0.1', port: 0 });
    const graphBase = `http://127.0.0.1:${(comp.app.server.address() as AddressInfo).port}`;
    const pragma = (comp.store as unknown as { db?: { pragma(s: string, o: { simple: true }): unknown } }).db?.pragma('synchronous', { simple: true });
    const confirmed = pragma === undefined ? '' : ` (PRAGMA synchronous = ${pragma === 2 ? 'FULL' : pragma === 1 ? 'NORMAL' : String(pragma)})`;
    console.log(`storage:  SQLite WAL on disk in ${dataDir}, synchronous=${SYNC}${confirmed}`);

    const graphCalls = comp;
    const { accessToken: token } = await graphCalls.tokens.issue(DEV_APP);
    const ids = await establishedCalls(graphCalls, graphBase, token, CONNECTIONS);

    // Smoke: one start/stop cycle by hand, to show what each request returns.
    const first = ids[0]!;
    const smokeStart = await post(`${graphBase}/beta/communications/calls/${first}/startRecording`, token, JSON.parse(JSON_BODY));
    const smokeStop = await post(`${graphBase}/beta/communications/calls/${first}/stopRecording`, token, JSON.parse(JSON_BODY));
    if (smokeStart.status !== 202 || smokeStop.status !== 202) {
      throw new Error(`smoke: startRecording ${smokeStart.status} ${smokeStart.text} / stopRecording ${smokeStop.status} ${smokeStop.text}`);
    }
    console.log(`setup:    ${ids.length} established calls; startRecording -> 202 (${smokeStart.text.length} B body, Location ${smokeStart.headers.get('location') ? 'set' : 'MISSING'}), stopRecording -> 202`);

    plain.listen(0, '127.0.0.1');
    await new Promise<void>((r, j) => plain.once('listening', r).once('error', j));
    const plainBase = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;

    const rows: Row[] = [];
    console.log('');
    for (let round = 1; round <= ROUNDS; round++) {
      for (const server of ['graph-calls', 'node:http'] as const) {
        const base = server === 'graph-calls' ? graphBase : plainBase;
        const warm = await load(base, token, ids, WARMUP_S);
        if (server === 'graph-calls') await sleep(250).then(() => resetRecordingState(graphCalls, graphBase, token, ids));
        const warmBad = warm.non2xx + warm.errors;
        comp.store.commitStats(true);
        const result = await load(base, token, ids, DURATION_S);
        const stats = server === 'graph-calls' ? comp.store.commitStats() : null;
        if (server === 'graph-calls') await sleep(250).then(() => resetRecordingState(graphCalls, graphBase, token, ids));
        const r = row(server, round, result, stats);
        rows.push(r);
        const bad = r.non2xx + r.errors;
        if (bad > 0 || warmBad > 0) failures++;
        console.log(`  ran ${server.padEnd(11)} round ${round}: ${fmt(r.rps)} req/s, codes ${r.codes || 'none'}` +
          `${warmBad ? `; WARM-UP had ${warm.non2xx} non-2xx, ${warm.errors} errors (${JSON.stringify(warm.statusCodeStats)})` : ''}`);
      }
    }

    // ---- report ----
    const widths = [12, 5, 10, 6, 6, 7, 6];
    console.log('');
    console.log(pad(['server', 'round', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'], widths));
    for (const r of rows) console.log(pad([r.server, String(r.round), fmt(r.rps), fmt(r.p50), fmt(r.p99), fmt(r.non2xx), fmt(r.errors)], widths));
    const med = (server: Row['server']) => {
      const rs = rows.filter((r) => r.server === server);
      return { rps: median(rs.map((r) => r.rps)), p50: median(rs.map((r) => r.p50)), p99: median(rs.map((r) => r.p99)),
        worstP99: Math.max(...rs.map((r) => r.p99)), non2xx: rs.reduce((a, r) => a + r.non2xx, 0), errors: rs.reduce((a, r) => a + r.errors, 0),
        bytes: median(rs.map((r) => r.bytesPerResponse)) };
    };
    const g = med('graph-calls');
    const h = med('node:http');
    console.log(pad(['graph-calls', 'med', fmt(g.rps), fmt(g.p50, 1), fmt(g.p99, 1), fmt(g.non2xx), fmt(g.errors)], widths));
    console.log(pad(['node:http', 'med', fmt(h.rps), fmt(h.p50, 1), fmt(h.p99, 1), fmt(h.non2xx), fmt(h.errors)], widths));
    console.log('(latency in whole ms, as autocannon records it; non-2xx/errors on "med" rows are totals)');
    console.log(`response size: graph-calls ${fmt(g.bytes)} B, node:http ${fmt(h.bytes)} B per response (headers + body)`);

    const ratio = h.rps > 0 ? g.rps / h.rps : 0;
    const ratioOk = ratio >= TARGET_RATIO;
    const p99Ok = g.p99 <= TARGET_P99_MS;
    console.log('');
    console.log(`ratio graph-calls/node:http req/s (medians): ${ratio.toFixed(3)}`);
    console.log(`target ratio >= ${TARGET_RATIO}: ${ratioOk ? 'met' : 'NOT met'}; target graph-calls p99 <= ${TARGET_P99_MS} ms: ` +
      `${p99Ok ? 'met' : 'NOT met'} (median p99 ${fmt(g.p99, 1)} ms, worst ${fmt(g.worstP99)} ms) [SQLite synchronous=${SYNC}]`);

    console.log('');
    {
      console.log('group commit (graph-calls measured runs; one flush = one SQLite transaction):');
      const cw = [5, 9, 7, 9, 9, 12, 10];
      const line = (cells: string[]) => cells.map((c, i) => c.padStart(cw[i]!)).join('  ');
      console.log(line(['round', 'writes', 'tx', 'writes/tx', 'max batch', 'COMMIT ms/tx', 'in flush %']));
      for (const r of rows) {
        const c = r.commit;
        if (!c) continue;
        const busy = r.loadMs > 0 ? (100 * c.flushMs) / r.loadMs : 0;
        console.log(line([String(r.round), fmt(c.commands), fmt(c.transactions), fmt(c.transactions ? c.commands / c.transactions : 0, 1),
          fmt(c.maxBatch), fmt(c.transactions ? c.commitMs / c.transactions : 0, 3), fmt(busy, 1)]));
      }
      console.log('("in flush %": share of the load phase the main thread spent inside flush: running the batched commands, then COMMIT)');
    }

    if (failures > 0) console.log(`\nFAILED: ${failures} run(s) had non-2xx responses or connection errors (see above); every request should be 202`);
    else console.log('\nall requests answered 2xx (non-2xx = 0, errors = 0 in every run, warm-ups included)');
  } finally {
    plain.closeAllConnections();
    await new Promise<void>((r) => plain.close(() => r()));
    if (comp) await comp.close();
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
