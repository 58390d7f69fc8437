import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An empty working directory, so the CLI's default data directory (./.graph-calls) holds no CA. */
const CWD = mkdtempSync(join(tmpdir(), 'graph-calls-cli-cwd-'));

/** Runs `graph-calls ARGS` in-process with GRAPH_CALLS_URL = `url`; resolves when the command returns. */
export async function cli(url: string, args: string[], opts: { env?: Record<string, string>; signal?: AbortSignal; cwd?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: { write: (t: string) => { stdout += t; } },
    stderr: { write: (t: string) => { stderr += t; } },
    env: { GRAPH_CALLS_URL: url, ...opts.env },
    signal: opts.signal,
    cwd: opts.cwd ?? CWD,
  });
  return { code, stdout, stderr };
}

/** A long-running command (bot, journal --follow) in-process: what it printed so far, and a stop. */
export interface RunningCli {
  out: { stdout: string; stderr: string };
  /** Resolves once `pattern` appears on stdout or stderr. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<number>;
}

export function startCli(url: string, args: string[], opts: { env?: Record<string, string> } = {}): RunningCli {
  const out = { stdout: '', stderr: '' };
  const abort = new AbortController();
  const listeners = new Set<() => void>();
  const changed = () => listeners.forEach((l) => l());
  const done = runCli(args, {
    stdout: { write: (t: string) => { out.stdout += t; changed(); } },
    stderr: { write: (t: string) => { out.stderr += t; changed(); } },
    env: { GRAPH_CALLS_URL: url, ...opts.env },
    signal: abort.signal,
    cwd: CWD,
  });
  let exited: number | null = null;
  void done.then((c) => { exited = c; changed(); });
  return {
    out,
    waitFor(pattern, timeoutMs = 15_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out.stdout) ?? pattern.exec(out.stderr);
          if (m) { finish(); resolve(m[0]); return; }
          if (exited !== null) { finish(); reject(new Error(`command exited ${exited} before ${pattern}: ${out.stderr}`)); }
        };
        const timer = setTimeout(() => { finish(); reject(new Error(`timed out waiting for ${pattern}; stdout:\n${out.stdout}\nstderr:\n${out.stderr}`)); }, timeoutMs);
        const finish = () => { clearTimeout(timer); listeners.delete(check); };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      abort.abort();
      return done;
    },
  };
}
