/**
 * The slice of autocannon's programmatic API (v8, README "API" and "Results") that the benchmarks use.
 * The package ships no types; this saves a dependency on @types/autocannon.
 */
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    /** hdr-histogram-percentiles-obj shape; latency values are whole milliseconds. */
    interface Histogram {
      average: number;
      mean: number;
      stddev: number;
      min: number;
      max: number;
      total: number;
      p2_5: number;
      p50: number;
      p75: number;
      p90: number;
      p97_5: number;
      p99: number;
      p99_9: number;
    }

    interface Result {
      requests: Histogram & { sent: number };
      latency: Histogram & { totalCount: number };
      throughput: Histogram;
      duration: number;
      errors: number;
      timeouts: number;
      mismatches: number;
      non2xx: number;
      resets: number;
      '2xx': number;
      statusCodeStats: Record<string, { count: number }>;
    }

    interface Request {
      method?: string;
      path?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
    }

    /** One per connection; passed to `setupClient`. */
    interface Client {
      setRequests(requests: Request[]): void;
      /** After each response; `responseTime` in ms, from process.hrtime (fractional). */
      on(event: 'response', listener: (statusCode: number, resBytes: number, responseTime: number) => void): void;
    }

    interface Options {
      /** One target, or several: connection i goes to url[i % url.length]. */
      url: string | string[];
      connections?: number;
      pipelining?: number;
      /** Seconds. */
      duration?: number;
      method?: string;
      headers?: Record<string, string>;
      body?: string | Buffer;
      requests?: Request[];
      /** A function, or (with `workers`) the path of a CommonJS module exporting one. */
      setupClient?: ((client: Client) => void) | string;
      /** Worker threads that run the connections; 0/undefined = on the calling thread. */
      workers?: number;
      timeout?: number;
      /** Extra fields ride along into the workers' `workerData.opts`. */
      [extra: string]: unknown;
    }

    type Instance = EventEmitter & PromiseLike<Result> & { stop(): void };
  }

  function autocannon(opts: autocannon.Options): autocannon.Instance;
  export = autocannon;
}
