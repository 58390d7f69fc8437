/**
 * What a CLI command may touch: two writers, the environment, and a signal that ends long-running
 * commands (`journal --follow`, `bot`). bin/graph-calls.js passes the process's; tests pass their own, so
 * the whole CLI runs in-process.
 */
export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  /** Aborted on Ctrl-C (or by a test): `--follow` and `bot` stop and the command returns. */
  signal?: AbortSignal;
  /** Where relative paths (the default data directory) start. Default: process.cwd(). */
  cwd?: string;
}

/** A failure the user can act on: one line on stderr, and `exitCode` (1 = the command failed, 2 = bad usage). */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** A usage problem (unknown option, missing value): exit status 2, as for the server's configuration errors. */
export const usageError = (message: string) => new CliError(message, 2);

export type Flags = Map<string, string | true>;

/** `--name value`, `--name=value`, `--flag`; `switches` take no value (a word after one is positional). */
export function parseFlags(args: readonly string[], switches: readonly string[] = []): { flags: Flags; rest: string[] } {
  const flags: Flags = new Map();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) { rest.push(a); continue; }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (eq > 0) flags.set(name, a.slice(eq + 1));
    else if (switches.includes(name)) flags.set(name, true);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) flags.set(name, args[++i]!);
    else flags.set(name, true);
  }
  return { flags, rest };
}

export function allowOnly(flags: Flags, allowed: readonly string[], command: string): void {
  for (const k of flags.keys()) if (!allowed.includes(k)) throw usageError(`${command}: unknown option --${k} (see graph-calls ${command} --help)`);
}

/** The value of `--name`, or undefined; `--name` without a value is a usage error. */
export function str(flags: Flags, name: string): string | undefined {
  const v = flags.get(name);
  if (v === true) throw usageError(`--${name} needs a value`);
  return v;
}

/** A switch (`--json`): present or not; `--json=false` and `--json=0` are off. */
export function bool(flags: Flags, name: string): boolean {
  const v = flags.get(name);
  return v === true || (typeof v === 'string' && v !== 'false' && v !== '0');
}

/** An integer option within [min, max], or the default. */
export function int(flags: Flags, name: string, dflt: number, min: number, max: number, command: string): number {
  const raw = str(flags, name);
  if (raw === undefined) return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw usageError(`${command}: --${name} must be an integer from ${min} to ${max}, got '${raw}'`);
  return n;
}
