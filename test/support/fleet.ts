import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serverArgs } from './node-script.js';

/**
 * Real graph-calls processes (src/main.ts, as `npm start` runs it; compiled under `npm test`) sharing one
 * `--db`, for tests of several instances acting as one service. Each instance gets a data directory of
 * its own; `close()` SIGKILLs whatever is still running and removes the directories, so a failing test
 * leaves nothing behind.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const READY = /^graph-calls listening on (http:\/\/\S+)$/;
const KEEP_LINES = 200;

/** Every child still running, SIGKILLed if the test process exits without closing its fleets. */
const running = new Set<ChildProcess>();
process.once('exit', () => { for (const c of running) c.kill('SIGKILL'); });

export interface Instance {
  name: string;
  /** http://127.0.0.1:PORT */
  url: string;
  pid: number;
  child: ChildProcess;
  /** The last lines the process wrote (stdout and stderr), for failure messages. */
  output: string[];
  readonly alive: boolean;
  /** SIGKILL: no shutdown hook runs. Resolves once the process is gone. */
  kill(): Promise<void>;
}

export interface FleetOptions {
  /** postgres://… shared by every instance. */
  db: string;
  /** Flags every instance gets after `--db/--port/--host/--data` (e.g. `--lease-ms 2000`). */
  args?: string[];
  /** How long to wait for the ready line. */
  startTimeoutMs?: number;
}

export class Fleet {
  private readonly instances: Instance[] = [];
  private readonly dirs: string[] = [];

  constructor(private readonly o: FleetOptions) {}

  /** Starts one instance and resolves once it printed its ready line. */
  start(name: string, extra: string[] = []): Promise<Instance> {
    const dir = mkdtempSync(join(tmpdir(), `graph-calls-${name}-`));
    this.dirs.push(dir);
    const args = [...serverArgs(), '--db', this.o.db, '--port', '0', '--host', '127.0.0.1', '--data', dir, ...(this.o.args ?? []), ...extra];
    const env = { ...process.env };
    // Not a test process itself; and its settings come from the flags alone.
    delete env.NODE_TEST_CONTEXT;
    for (const k of Object.keys(env)) if (k.startsWith('GRAPH_CALLS_')) delete env[k];
    const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    const output: string[] = [];
    const keep = (line: string) => {
      output.push(`[${name}] ${line}`);
      if (output.length > KEEP_LINES) output.splice(0, output.length - KEEP_LINES);
    };
    createInterface({ input: child.stderr! }).on('line', keep);
    // 'exit' never comes when the spawn itself fails: 'error' settles it then.
    const exited = new Promise<void>((resolve) => {
      const gone = () => { running.delete(child); resolve(); };
      child.once('exit', gone);
      child.once('error', gone);
    });
    const instance: Instance = {
      name, url: '', pid: child.pid ?? -1, child, output,
      get alive() { return child.pid !== undefined && child.exitCode === null && child.signalCode === null; },
      async kill() {
        if (child.pid === undefined) return;
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await exited;
      },
    };
    this.instances.push(instance);
    return new Promise<Instance>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${name}: no ready line within ${this.o.startTimeoutMs ?? 60_000} ms:\n${output.join('\n')}`));
      }, this.o.startTimeoutMs ?? 60_000);
      const onExit = (code: number | null, signal: string | null) => {
        clearTimeout(timer);
        reject(new Error(`${name}: exited (${code ?? signal}) before its ready line:\n${output.join('\n')}`));
      };
      child.once('exit', onExit);
      child.once('error', (err) => { clearTimeout(timer); reject(new Error(`${name}: could not start: ${err.message}`)); });
      createInterface({ input: child.stdout! }).on('line', (line) => {
        keep(line);
        const m = READY.exec(line);
        if (m && !instance.url) {
          clearTimeout(timer);
          child.off('exit', onExit);
          instance.url = m[1]!;
          resolve(instance);
        }
      });
    });
  }

  /** Output of every instance started, for failure messages. */
  output(): string {
    return this.instances.map((i) => i.output.join('\n')).join('\n');
  }

  /** SIGKILLs every instance still running and removes their data directories. */
  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.kill()));
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
  }
}
