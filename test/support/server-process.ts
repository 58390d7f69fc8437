import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { serverArgs } from './node-script.js';

export interface ServerProcess {
  child: ChildProcess;
  /** From the ready line: http://HOST:PORT */
  url: string;
  /** Everything it printed so far (stdout lines and stderr chunks). */
  lines: string[];
  /** Settles with the exit code when the process ends. */
  exited: Promise<number | null>;
}

/**
 * Starts `src/main.ts` as `npm start` does (compiled under `npm test`: test/support/node-script.ts) and resolves once the ready line appears; rejects (with what
 * the process printed) if it exits first or prints no ready line within 60 s (a loaded CI machine can take that long). `viaTsx`: exactly as
 * `npm start` runs it, from the .ts sources.
 */
export function startServerProcess(args: string[], env: Record<string, string> = {}, o: { viaTsx?: boolean } = {}): Promise<ServerProcess> {
  const main = o.viaTsx ? ['--import', 'tsx', 'src/main.ts'] : serverArgs();
  const child = spawn(process.execPath, [...main, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`no ready line; saw: ${lines.join('\n')}`)); }, 60_000);
    child.stderr!.on('data', (d) => lines.push(String(d)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      const m = /^graph-calls listening on (http:\/\/\S+)$/.exec(line);
      if (m) { clearTimeout(timer); resolve({ child, url: m[1]!, lines, exited }); }
    });
    child.once('exit', (code, signal) => { clearTimeout(timer); reject(new Error(`exited ${code ?? signal}: ${lines.join('\n')}`)); });
  });
}
