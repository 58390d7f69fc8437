/**
 * An open-loop load generator for startRecording/stopRecording (issue 11: latency "at a steady 1,000
 * req/s"). autocannon is closed loop: a connection sends its next request only when the previous one is
 * answered, so a slow server is offered less load and its slow moments are under-sampled (coordinated
 * omission). Here send i is scheduled at t0 + i / rate and goes out then whether or not earlier sends were
 * answered; each send's latency counts from its scheduled instant to the end of its response.
 *
 * The calls constrain it: a call alternates startRecording and stopRecording and may have only one request
 * in flight, so the generator owns many calls (e.g. 200) and sends each request on an idle one. A send that
 * finds no idle call is **late** (reported): it waits in a backlog bounded by `backlogLimit` for the next call
 * to come free, its latency still counted from the schedule; a send that finds the backlog full is
 * **dropped** and counts as an infinitely slow request in the percentiles. **lag** is how long after its
 * scheduled instant each send was written (timer granularity, plus the wait of late sends); **service** is
 * from that moment to the answer, the server's part alone.
 *
 * It runs in a worker thread (open-loop.worker.mjs), so it does not share the event loop of a graph-calls in
 * this process; node:http with a keep-alive Agent, one socket per call at most.
 */
import { Worker } from 'node:worker_threads';

export interface OpenLoopOptions {
  url: string;
  token: string;
  /** Per call, its [startRecording, stopRecording] paths. */
  paths: string[][];
  body: string;
  /** Sends per second. */
  rate: number;
  /** Seconds sent on the same schedule before the measured window (not measured). */
  warmupS: number;
  durationS: number;
  /** Per request; also how long after the last scheduled send the generator waits for the last answers. */
  timeoutMs: number;
  backlogLimit: number;
}

export interface OpenLoopPhase {
  /** Answered 2xx. */
  ok: number;
  non2xx: number;
  /** Connection errors, timeouts, and sends that could never go out. */
  errors: number;
  late: number;
  dropped: number;
  codes: Record<string, number>;
  firstProblem: string | null;
}

export interface OpenLoopResult {
  warm: OpenLoopPhase;
  measured: OpenLoopPhase;
  /** Calls taken out of use after a failed request on them. */
  retired: number;
  scheduledMeasured: number;
  /** Date.now() of the measured window's first scheduled instant and of the end of the schedule. */
  windowStart: number;
  windowEnd: number;
  /** Over the measured sends, ms from the scheduled instant; dropped or unanswered sends are +Infinity. */
  latency: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Over the measured sends that went out. */
  lag: { p50: number; p99: number; max: number };
  /** Over the measured sends answered 2xx: ms from the moment each was written to the end of its response (no lag). */
  service: { p50: number; p99: number };
}

export function openLoop(o: OpenLoopOptions): Promise<OpenLoopResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./open-loop.worker.mjs', import.meta.url), { workerData: o });
    let result: OpenLoopResult | null = null;
    worker.once('message', (m: OpenLoopResult) => { result = m; });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (result) resolve(result);
      else reject(new Error(`open-loop worker exited (${code}) without a result`));
    });
  });
}
