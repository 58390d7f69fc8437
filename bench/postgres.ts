/**
 * What the benchmarks need for PostgreSQL: a database of their own on the machine's server (created for
 * the run, dropped at the end), and graph-calls instances on it, each in its own process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

/** The maintenance database the bench connects to in order to create and drop its own (trust auth). */
export const ADMIN_URL = process.env.BENCH_PG_ADMIN_URL || 'postgres://root@127.0.0.1:5432/postgres';
/** The only names this bench creates, and the only ones it will drop. */
const OWN_NAME = /^graph_calls_bench_[0-9a-f]{12}$/;

export interface BenchDatabase {
  name: string;
  /** postgres://…/graph_calls_bench_<random> */
  url: string;
  /** `SELECT version()` */
  serverVersion: string;
  /** Client sessions on the server other than the bench's own when it started (tests running at the same time show here). */
  otherSessions: number;
  /** DROP DATABASE … WITH (FORCE); safe to call more than once. */
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Creates `graph_calls_bench_<random>`; throws (with the server's reason) when PostgreSQL is not reachable. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `graph_calls_bench_${randomBytes(6).toString('hex')}`;
  const { serverVersion, otherSessions } = await admin(async (c) => {
    const v = await c.query<{ version: string }>('SELECT version() AS version');
    const n = await c.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
    await c.query(`CREATE DATABASE ${name}`);
    return { serverVersion: v.rows[0]!.version, otherSessions: Number(n.rows[0]!.n) };
  });
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  let dropped: Promise<void> | null = null;
  return {
    name, url: u.toString(), serverVersion, otherSessions,
    drop: () => (dropped ??= dropBenchDatabase(name)),
  };
}

async function dropBenchDatabase(name: string): Promise<void> {
  if (!OWN_NAME.test(name)) throw new Error(`bench: refusing to drop '${name}': not a database this bench created`);
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Why a connection failed, in one line (pg errors carry a code; network errors an errno). */
export function reason(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length) return reason(err.errors[0]);
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${err.message || err.name}${typeof code === 'string' && !err.message.includes(code) ? ` (${code})` : ''}`;
  }
  return String(err);
}

// ---- graph-calls in its own process ---------------------------------------------------------------------

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const READY = /graph-calls listening on (https?:\/\/\S+)/;

export interface Instance {
  base: string;
  pid: number;
  /** Log lines the process printed after its ready line (with --log-level error: errors). */
  logged(): number;
  /** SIGTERM (graceful close), SIGKILL after 5 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Live child processes, so a signal or the watchdog can end them all. */
const live = new Set<ChildProcess>();

export function killAllInstances(): void {
  for (const child of live) child.kill('SIGKILL');
}

/**
 * Starts `node --import tsx src/main.ts ARGS` and resolves with its base URL once it prints the ready
 * line. stderr is kept (the last 4 KiB) to explain a failed start.
 */
export async function startInstance(args: string[], timeoutMs = 30_000): Promise<Instance> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise<void>((r) => child.once('exit', () => { live.delete(child); r(); }));
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr = (stderr + d).slice(-4096); });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`graph-calls (pid ${child.pid}) printed no ready line within ${timeoutMs / 1000} s; stderr: ${stderr.trim() || '(empty)'}`)), timeoutMs);
    const onData = (d: string) => {
      out += d;
      const m = READY.exec(out);
      if (m) { clearTimeout(timer); child.stdout!.off('data', onData); resolve(m[1]!); }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`graph-calls exited before it was ready (${signal ?? `status ${code}`}); stderr: ${stderr.trim() || '(empty)'}`));
    });
    child.once('error', (err) => { clearTimeout(timer); reject(err); });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw err;
  });
  // After the ready line, output is only counted (with --log-level error, each line is an error).
  let lines = 0;
  child.stdout!.on('data', (d: string) => { lines += d.split('\n').length - 1; });
  return {
    base, pid: child.pid!, logged: () => lines,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
