// Open-loop load generator (worker thread; plain JavaScript so it needs no TypeScript loader). See
// open-loop.ts for what it measures and why; this file is the sending side only.
//
// Send i is scheduled at t0 + i / rate whether or not earlier sends have been answered. Each call
// alternates its two paths (startRecording, stopRecording) and has at most one request in flight, so a
// send goes to an idle call (the idle calls form a FIFO, so every call is used in turn). When no call is
// idle at a send's scheduled instant the send is late: it waits in a bounded backlog for the next call
// to come free, and its latency still counts from the scheduled instant (no coordinated omission). A
// send that finds the backlog full is dropped and counts as an infinitely slow request.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

const { url, token, paths, body, rate, warmupS, durationS, timeoutMs, backlogLimit } = workerData;
const target = new URL(url);
const interval = 1000 / rate;
const warmN = Math.round(rate * warmupS);
const measuredN = Math.round(rate * durationS);
const total = warmN + measuredN;
const payload = Buffer.from(body);
const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(payload.length) };
// At most one request per call in flight, so one socket per call is always enough.
const agent = new http.Agent({ keepAlive: true, maxSockets: paths.length, maxFreeSockets: paths.length });

// Per measured send (index i - warmN): ms from its scheduled instant to the end of its response (Infinity
// when dropped or never answered), and from the scheduled instant to the moment it was written (the lag;
// Infinity while not sent).
const latency = new Float64Array(measuredN).fill(Number.POSITIVE_INFINITY);
const lag = new Float64Array(measuredN).fill(Number.POSITIVE_INFINITY);
// And from the moment it was written to the end of its response (the server's part, without the lag).
const service = new Float64Array(measuredN).fill(Number.POSITIVE_INFINITY);
const phase = () => ({ ok: 0, non2xx: 0, errors: 0, late: 0, dropped: 0, codes: {}, firstProblem: null });
const warm = phase();
const measured = phase();

const next = new Uint8Array(paths.length); // 0: startRecording is next on this call, 1: stopRecording
const idle = [];
for (let c = 0; c < paths.length; c++) idle.push(c);
let idleHead = 0; // idle is a FIFO: idle[idleHead..] are free calls
const backlog = []; // scheduled indices waiting for a call (bounded by backlogLimit)
let backlogHead = 0;
let retired = 0; // calls taken out of use after a failed request (their start/stop alternation is unknown)
let inFlight = 0;
let scheduled = 0; // how many sends have reached their scheduled instant
let finished = false;

const t0 = performance.now() + 20;
const wallOffset = Date.now() - performance.now();
const at = (i) => t0 + i * interval;

function problem(ph, text) {
  if (ph.firstProblem === null) ph.firstProblem = text;
}

function fire(call, i) {
  const sched = at(i);
  const ph = i < warmN ? warm : measured;
  const k = i - warmN;
  const sentAt = performance.now();
  if (k >= 0) lag[k] = sentAt - sched;
  inFlight++;
  let settled = false;
  const settle = (status, err) => {
    if (settled) return;
    settled = true;
    inFlight--;
    const end = performance.now();
    if (err === null && status >= 200 && status < 300) {
      ph.ok++;
      if (k >= 0) {
        latency[k] = end - sched;
        service[k] = end - sentAt;
      }
      next[call] ^= 1;
      release(call);
    } else {
      if (err === null) {
        ph.non2xx++;
        ph.codes[status] = (ph.codes[status] ?? 0) + 1;
        problem(ph, `${paths[call][next[call]]} -> ${status}`);
      } else {
        ph.errors++;
        problem(ph, `${paths[call][next[call]]}: ${err.message}`);
      }
      retired++;
      if (retired === paths.length) drainBacklogAsErrors();
    }
    maybeFinish();
  };
  const req = http.request({
    agent, host: target.hostname, port: target.port, method: 'POST', path: paths[call][next[call]], headers, timeout: timeoutMs,
  }, (res) => {
    res.on('data', () => undefined);
    res.on('end', () => settle(res.statusCode ?? 0, null));
    res.on('error', (e) => settle(0, e));
  });
  req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
  req.on('error', (e) => settle(0, e));
  req.end(payload);
}

/** A call came free: it takes the oldest late send, or joins the idle calls. */
function release(call) {
  if (backlogHead < backlog.length) {
    fire(call, backlog[backlogHead++]);
    if (backlogHead > 1024 && backlogHead * 2 > backlog.length) backlog.splice(0, backlogHead), (backlogHead = 0);
    return;
  }
  idle.push(call);
}

/** Every call has been retired: the waiting sends can never go out. */
function drainBacklogAsErrors() {
  while (backlogHead < backlog.length) {
    const i = backlog[backlogHead++];
    const ph = i < warmN ? warm : measured;
    ph.errors++;
    problem(ph, 'no call left to send on (every call had a failed request)');
  }
}

function tick() {
  const now = performance.now();
  while (scheduled < total && at(scheduled) <= now) {
    const i = scheduled++;
    const ph = i < warmN ? warm : measured;
    if (idleHead < idle.length) {
      const call = idle[idleHead++];
      if (idleHead > 1024 && idleHead * 2 > idle.length) idle.splice(0, idleHead), (idleHead = 0);
      fire(call, i);
    } else if (retired === paths.length) {
      ph.errors++;
      problem(ph, 'no call left to send on (every call had a failed request)');
    } else {
      ph.late++;
      if (backlog.length - backlogHead < backlogLimit) backlog.push(i);
      else ph.dropped++;
    }
  }
  if (scheduled < total) setTimeout(tick, Math.max(0, at(scheduled) - performance.now()));
  else {
    // Bound the wait for the last answers; whatever is still open then counts as an error.
    setTimeout(() => finish(true), timeoutMs + 1000).unref();
    maybeFinish();
  }
}

function maybeFinish() {
  if (scheduled === total && inFlight === 0 && (backlogHead === backlog.length || retired === paths.length)) finish(false);
}

function finish(timedOut) {
  if (finished) return;
  finished = true;
  if (timedOut) {
    const open = inFlight + (backlog.length - backlogHead);
    measured.errors += open;
    problem(measured, `${open} request(s) still unanswered ${timeoutMs + 1000} ms after the last scheduled send`);
  }
  agent.destroy();
  const sortedLatency = Float64Array.from(latency).sort();
  // Lag only of the sends that went out (a dropped send has none).
  const sortedLag = Float64Array.from(lag).filter((x) => Number.isFinite(x)).sort();
  const pct = (s, p) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : Number.NaN);
  const sortedService = Float64Array.from(service).filter((x) => Number.isFinite(x)).sort();
  const answered = sortedLatency.filter((x) => Number.isFinite(x));
  parentPort.postMessage({
    warm, measured, retired,
    scheduledMeasured: measuredN,
    /** Wall clock (Date.now() ms) of the measured window's first and last scheduled instants. */
    windowStart: wallOffset + at(warmN), windowEnd: wallOffset + at(total),
    latency: { p50: pct(sortedLatency, 50), p95: pct(sortedLatency, 95), p99: pct(sortedLatency, 99), max: sortedLatency[sortedLatency.length - 1] ?? Number.NaN,
      mean: answered.length ? answered.reduce((a, x) => a + x, 0) / answered.length : Number.NaN },
    lag: { p50: pct(sortedLag, 50), p99: pct(sortedLag, 99), max: sortedLag[sortedLag.length - 1] ?? Number.NaN },
    service: { p50: pct(sortedService, 50), p99: pct(sortedService, 99) },
  });
}

setTimeout(tick, Math.max(0, t0 - performance.now()));
