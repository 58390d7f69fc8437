import { DEV_APP } from './auth/apps.js';
import { runServer } from './main.js';

/**
 * `graph-calls <command>`: thin wrappers over the server and its HTTP APIs. Every failure is one line on
 * stderr and a non-zero exit; `--help` works on each command.
 */

class CliError extends Error {}

const HELP: Record<string, string> = {
  '': `graph-calls — a local Microsoft Graph call-recording API for Teams bots

usage: graph-calls <command> [options]

commands:
  serve            start graph-calls (what npm start runs); graph-calls serve --help lists its options
  token            print an access token from a running graph-calls
  call incoming    have a simulated user call an app
  journal          print the notification delivery journal
  faults           add, list or clear fault-injection rules
  recording        download a recording's audio file
  export           save the request or delivery journal as HAR

global options:
  --url URL        where graph-calls runs (default http://127.0.0.1:4000, or GRAPH_CALLS_URL)
  --help           help for a command`,
  serve: `usage: graph-calls serve [--port N] [--host H] [--data DIR] [--in-memory] [--apps FILE] [--policies FILE]
                         [--clock real|virtual] [--recording-format wav|mp3] [...]
Starts graph-calls and prints "graph-calls listening on http://HOST:PORT" when ready.
All options: docs/configuration.md.`,
  token: `usage: graph-calls token [--app CLIENT_ID] [--secret SECRET] [--tenant TENANT_ID] [--url URL]
Prints an app-only access token for Graph (client credentials). Defaults to the development app.`,
  'call incoming': `usage: graph-calls call incoming [--app CLIENT_ID] [--from DISPLAY_NAME] [--user-id ID] [--callback-uri URL] [--url URL]
A simulated user calls the app (default: the development app). Its calling webhook gets the 'created'
notification; pass --callback-uri if the app has none registered. Prints the new call's id.`,
  faults: `usage: graph-calls faults add '<rule JSON>' | faults list | faults clear   [--url URL]
  add    e.g. graph-calls faults add '{"side":"graph","match":{"route":"stopRecording"},"action":{"type":"status","status":503},"once":true}'
  list   prints the active rules and how often each fired
  clear  removes every rule
Rules: docs/faults.md.`,
  recording: `usage: graph-calls recording download RECORDING_ID [--out FILE] [--url URL]
Saves a recording's audio (WAV or MP3) to FILE (default: RECORDING_ID.wav/.mp3), with a progress line.
Recording ids: GET /_emulator/calls/{id}/recordings, or the dashboard.`,
  export: `usage: graph-calls export requests|deliveries --out FILE [--call CALL_ID] [--url URL]
Saves the request journal or the delivery journal as HAR 1.2, with a progress line.`,
  journal: `usage: graph-calls journal [--call CALL_ID] [--top N] [--url URL]
Prints notification delivery attempts, oldest first: time, call, attempt, status, latency, outcome, URL.`,
};

function parseFlags(args: string[]): { flags: Map<string, string | true>; rest: string[] } {
  const flags = new Map<string, string | true>();
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) { rest.push(a); continue; }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) flags.set(a.slice(2), args[++i]!);
    else flags.set(a.slice(2), true);
  }
  return { flags, rest };
}

function allowOnly(flags: Map<string, string | true>, allowed: string[], command: string): void {
  for (const k of flags.keys()) if (!allowed.includes(k)) throw new CliError(`${command}: unknown option --${k} (see graph-calls ${command} --help)`);
}

const str = (v: string | true | undefined, name: string): string | undefined => {
  if (v === true) throw new CliError(`--${name} needs a value`);
  return v;
};

async function request(url: string, init?: RequestInit): Promise<any> {
  let res: Response;
  // The control plane obeys only requests a web page could not have sent (docs/control-plane.md, "Access and safety").
  const headers = new Headers(init?.headers);
  if (new URL(url).pathname.startsWith('/_emulator/')) headers.set('x-graph-calls-control', '1');
  try {
    res = await fetch(url, { ...init, headers, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new CliError(`cannot reach graph-calls at ${new URL(url).origin} (${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message}); is it running?`);
  }
  const text = await res.text();
  const body = text ? JSON.parse(text) : undefined;
  if (!res.ok) throw new CliError(`${res.status}: ${body?.error_description ?? body?.error?.message ?? text}`);
  return body;
}

async function token(flags: Map<string, string | true>, base: string): Promise<void> {
  allowOnly(flags, ['app', 'secret', 'tenant', 'url'], 'token');
  const clientId = str(flags.get('app'), 'app') ?? DEV_APP.clientId;
  const secret = str(flags.get('secret'), 'secret') ?? (clientId === DEV_APP.clientId ? DEV_APP.clientSecret : undefined);
  if (!secret) throw new CliError('token: --secret is required for apps other than the development app');
  const tenant = str(flags.get('tenant'), 'tenant') ?? DEV_APP.tenantId;
  const body = await request(`${base}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' }),
  });
  process.stdout.write(`${body.access_token}\n`);
}

async function incoming(flags: Map<string, string | true>, base: string): Promise<void> {
  allowOnly(flags, ['app', 'from', 'user-id', 'callback-uri', 'url'], 'call incoming');
  const call = await request(`${base}/_emulator/calls/incoming`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      appId: str(flags.get('app'), 'app'),
      from: { id: str(flags.get('user-id'), 'user-id'), displayName: str(flags.get('from'), 'from') ?? 'Simulated User' },
      callbackUri: str(flags.get('callback-uri'), 'callback-uri'),
    }),
  });
  process.stdout.write(`${call.id}\n`);
}

async function journal(flags: Map<string, string | true>, base: string): Promise<void> {
  allowOnly(flags, ['call', 'top', 'url'], 'journal');
  const top = Number(str(flags.get('top'), 'top') ?? 100);
  if (!Number.isInteger(top) || top < 1 || top > 999) throw new CliError('journal: --top must be an integer from 1 to 999');
  const call = str(flags.get('call'), 'call');
  const body = await request(`${base}/_emulator/deliveries?$top=${top}${call ? `&callId=${encodeURIComponent(call)}` : ''}`);
  const rows = body.value as Array<Record<string, unknown>>;
  if (rows.length === 0) { process.stdout.write('no delivery attempts yet\n'); return; }
  for (const r of rows) {
    process.stdout.write(`${r.at}  ${String(r.callId).slice(0, 8)}  #${r.attempt}  ${String(r.status ?? '---').padStart(3)}  ${(r.latencyMs === null ? '' : `${Number(r.latencyMs).toFixed(1)} ms`).padStart(9)}  ${String(r.outcome).padEnd(10)}  ${r.url}${r.error ? `  (${r.error})` : ''}\n`);
  }
}

/** Streams `url` into `file`, drawing a progress line on stderr (updated in place on a terminal). */
async function download(url: string, file: string, what: string): Promise<number> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new CliError(`cannot reach graph-calls at ${new URL(url).origin} (${(err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message}); is it running?`);
  }
  if (!res.ok || !res.body) {
    const text = await res.text();
    let message = text;
    try { message = JSON.parse(text).error?.message ?? text; } catch { /* not JSON */ }
    throw new CliError(`${res.status}: ${message}`);
  }
  const total = Number(res.headers.get('content-length') ?? 0);
  const { createWriteStream } = await import('node:fs');
  const out = createWriteStream(file);
  let done = 0;
  let last = 0;
  const tty = process.stderr.isTTY;
  const show = (final: boolean) => {
    const pct = total ? ` ${Math.floor((100 * done) / total)}%` : '';
    const line = `${what}: ${(done / 2 ** 20).toFixed(1)}${total ? ` of ${(total / 2 ** 20).toFixed(1)}` : ''} MiB${pct}`;
    if (tty) process.stderr.write(`\r${line}${final ? '\n' : ''}`);
    else if (final) process.stderr.write(`${line}\n`);
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    done += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    if (Date.now() - last > 100) { last = Date.now(); show(false); }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  show(true);
  return done;
}

async function faults(verb: string, positional: string[], base: string): Promise<void> {
  if (verb === 'list') {
    const rules = (await request(`${base}/_emulator/faults`)).value as Array<Record<string, any>>;
    if (rules.length === 0) { process.stdout.write('no fault rules\n'); return; }
    for (const r of rules) process.stdout.write(`${r.id}  ${r.side}  ${JSON.stringify(r.match)}  ${JSON.stringify(r.action)}  fired ${r.fired}${r.remaining === null ? '' : `, ${r.remaining} left`}\n`);
    return;
  }
  if (verb === 'clear') {
    await request(`${base}/_emulator/faults`, { method: 'DELETE' });
    process.stdout.write('cleared\n');
    return;
  }
  if (verb === 'add') {
    if (positional.length !== 1) throw new CliError(`faults add: give the rule as one JSON argument (see graph-calls faults --help)`);
    let rule: unknown;
    try { rule = JSON.parse(positional[0]!); } catch { throw new CliError('faults add: the rule is not valid JSON'); }
    const added = await request(`${base}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rule) });
    process.stdout.write(`${added.id}\n`);
    return;
  }
  throw new CliError(`faults: expected add, list or clear, got '${verb}'`);
}

export async function cli(argv: string[]): Promise<void> {
  const [command = '', ...args] = argv;
  if (command === '' || command === '--help' || command === 'help') { process.stdout.write(`${HELP['']}\n`); return; }
  if (command === 'serve') {
    if (args.includes('--help')) { process.stdout.write(`${HELP.serve}\n`); return; }
    await runServer(args);
    return;
  }
  let name = command;
  let rest = args;
  if (command === 'faults') {
    const [verb, ...more] = args;
    const { flags, rest: positional } = parseFlags(more);
    if (verb === '--help' || flags.has('help') || verb === undefined) { process.stdout.write(`${HELP.faults}\n`); return; }
    allowOnly(flags, ['url'], 'faults');
    const base = (str(flags.get('url'), 'url') ?? process.env.GRAPH_CALLS_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
    await faults(verb, positional, base);
    return;
  }
  if (command === 'recording' || command === 'export') {
    const [verb, ...more] = args;
    const { flags, rest: positional } = parseFlags(more);
    if (verb === undefined || verb === '--help' || flags.has('help')) { process.stdout.write(`${HELP[command]}\n`); return; }
    allowOnly(flags, command === 'recording' ? ['out', 'url'] : ['out', 'call', 'url'], command);
    const base = (str(flags.get('url'), 'url') ?? process.env.GRAPH_CALLS_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
    if (command === 'recording') {
      if (verb !== 'download' || positional.length !== 1) throw new CliError('recording: expected `recording download RECORDING_ID`');
      const id = positional[0]!;
      const meta = await request(`${base}/_emulator/calls`);
      const rec = (meta.value as Array<{ recordings: Array<{ id: string; contentType: string }> }>).flatMap((c) => c.recordings).find((r) => r.id === id);
      const out = str(flags.get('out'), 'out') ?? `${id}.${rec?.contentType === 'audio/mpeg' ? 'mp3' : 'wav'}`;
      await download(`${base}/_emulator/recordings/${encodeURIComponent(id)}/content`, out, `recording ${id.slice(0, 8)}`);
      process.stdout.write(`${out}\n`);
      return;
    }
    if (verb !== 'requests' && verb !== 'deliveries') throw new CliError(`export: expected requests or deliveries, got '${verb}'`);
    const out = str(flags.get('out'), 'out');
    if (!out) throw new CliError('export: --out FILE is required');
    const call = str(flags.get('call'), 'call');
    await download(`${base}/_emulator/${verb}/har${call ? `?callId=${encodeURIComponent(call)}` : ''}`, out, `${verb} journal`);
    process.stdout.write(`${out}\n`);
    return;
  }
  if (command === 'call') {
    if (args[0] !== 'incoming') throw new CliError(`call: expected 'call incoming' (see graph-calls --help)`);
    name = 'call incoming';
    rest = args.slice(1);
  }
  if (!HELP[name]) throw new CliError(`unknown command '${command}' (see graph-calls --help)`);
  const { flags, rest: positional } = parseFlags(rest);
  if (flags.has('help')) { process.stdout.write(`${HELP[name]}\n`); return; }
  if (positional.length) throw new CliError(`${name}: unexpected argument '${positional[0]}'`);
  const base = (str(flags.get('url'), 'url') ?? process.env.GRAPH_CALLS_URL ?? 'http://127.0.0.1:4000').replace(/\/$/, '');
  if (name === 'token') await token(flags, base);
  else if (name === 'call incoming') await incoming(flags, base);
  else await journal(flags, base);
}

cli(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`graph-calls: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
