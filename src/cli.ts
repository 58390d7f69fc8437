import { createWriteStream } from 'node:fs';
import { DEV_APP } from './auth/apps.js';
import { runBot } from './bot/bot.js';
import { allowOnly, bool, CliError, parseFlags, str, usageError, type CliIo, type Flags } from './cli/io.js';
import { journal } from './cli/journal.js';
import { problemOf, requestJson, send, targetOf, type Target } from './cli/transport.js';
import { HELP } from './cli/usage.js';

/**
 * `graph-calls <command>`: thin wrappers over the server and its HTTP APIs. `runCli` takes argv and the
 * writers and returns the exit status, so tests run it in-process; bin/graph-calls.js is the process around
 * it. The server is loaded only by `serve`. Every failure is one line on stderr: status 1 when the command
 * failed, 2 for bad usage.
 */

/** Options every command but serve takes: where graph-calls is and which CA to trust. */
const TARGET_FLAGS = ['url', 'data', 'ca'];

async function token(flags: Flags, target: Target, io: CliIo): Promise<void> {
  const clientId = str(flags, 'app') ?? DEV_APP.clientId;
  const secret = str(flags, 'secret') ?? (clientId === DEV_APP.clientId ? DEV_APP.clientSecret : undefined);
  if (!secret) throw usageError('token: --secret is required for apps other than the development app');
  const tenant = str(flags, 'tenant') ?? DEV_APP.tenantId;
  const body = await requestJson(target, `/${encodeURIComponent(tenant)}/oauth2/v2.0/token`, {
    method: 'POST',
    form: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_secret: secret, scope: 'https://graph.microsoft.com/.default' }),
  });
  io.stdout.write(`${body.access_token}\n`);
}

async function incoming(flags: Flags, target: Target, io: CliIo): Promise<void> {
  try {
    const call = await requestJson(target, '/_emulator/calls/incoming', {
      method: 'POST',
      body: { appId: str(flags, 'app'), from: { id: str(flags, 'user-id'), displayName: str(flags, 'from') ?? 'Simulated User' }, callbackUri: str(flags, 'callback-uri') },
    });
    io.stdout.write(`${call.id}\n`);
  } catch (err) {
    if (err instanceof CliError && /has no calling webhook/.test(err.message)) {
      throw new CliError(`${err.message} Start \`graph-calls bot\` (it registers itself as the webhook), or pass --callback-uri URL.`);
    }
    throw err;
  }
}

/** Streams `path` into `file`, drawing a progress line on stderr (updated in place on a terminal). */
async function download(target: Target, path: string, file: string, what: string, io: CliIo): Promise<number> {
  const res = await send(target, path, { headers: { accept: '*/*' } });
  if (res.status < 200 || res.status >= 300) {
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    throw new CliError(problemOf(res.status, Buffer.concat(chunks).toString('utf8')));
  }
  const total = Number(res.headers['content-length'] ?? 0);
  const out = createWriteStream(file);
  let done = 0;
  let last = 0;
  const tty = io.stderr.isTTY === true;
  const show = (final: boolean) => {
    const pct = total ? ` ${Math.floor((100 * done) / total)}%` : '';
    const line = `${what}: ${(done / 2 ** 20).toFixed(1)}${total ? ` of ${(total / 2 ** 20).toFixed(1)}` : ''} MiB${pct}`;
    if (tty) io.stderr.write(`\r${line}${final ? '\n' : ''}`);
    else if (final) io.stderr.write(`${line}\n`);
  };
  for await (const chunk of res.body) {
    done += (chunk as Buffer).length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    if (Date.now() - last > 100) { last = Date.now(); show(false); }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  show(true);
  return done;
}

async function faults(verb: string, positional: string[], target: Target, io: CliIo): Promise<void> {
  if (verb === 'list') {
    const rules = (await requestJson(target, '/_emulator/faults')).value as Array<Record<string, any>>;
    if (rules.length === 0) { io.stdout.write('no fault rules\n'); return; }
    for (const r of rules) io.stdout.write(`${r.id}  ${r.side}  ${JSON.stringify(r.match)}  ${JSON.stringify(r.action)}  fired ${r.fired}${r.remaining === null ? '' : `, ${r.remaining} left`}\n`);
    return;
  }
  if (verb === 'clear') {
    await requestJson(target, '/_emulator/faults', { method: 'DELETE' });
    io.stdout.write('cleared\n');
    return;
  }
  if (verb === 'add') {
    if (positional.length !== 1) throw usageError(`faults add: give the rule as one JSON argument (see graph-calls faults --help)`);
    let rule: unknown;
    try { rule = JSON.parse(positional[0]!); } catch { throw usageError('faults add: the rule is not valid JSON'); }
    const added = await requestJson(target, '/_emulator/faults', { method: 'POST', body: rule });
    io.stdout.write(`${added.id}\n`);
    return;
  }
  throw usageError(`faults: expected add, list or clear, got '${verb}'`);
}

async function recordingOrExport(command: 'recording' | 'export', verb: string, flags: Flags, positional: string[], target: Target, io: CliIo): Promise<void> {
  if (command === 'recording') {
    if (verb !== 'download' || positional.length !== 1) throw usageError('recording: expected `recording download RECORDING_ID`');
    const id = positional[0]!;
    const meta = await requestJson(target, '/_emulator/calls');
    const rec = (meta.value as Array<{ recordings: Array<{ id: string; contentType: string }> }>).flatMap((c) => c.recordings).find((r) => r.id === id);
    const out = str(flags, 'out') ?? `${id}.${rec?.contentType === 'audio/mpeg' ? 'mp3' : 'wav'}`;
    await download(target, `/_emulator/recordings/${encodeURIComponent(id)}/content`, out, `recording ${id.slice(0, 8)}`, io);
    io.stdout.write(`${out}\n`);
    return;
  }
  if (verb !== 'requests' && verb !== 'deliveries') throw usageError(`export: expected requests or deliveries, got '${verb}'`);
  const out = str(flags, 'out');
  if (!out) throw usageError('export: --out FILE is required');
  const call = str(flags, 'call');
  await download(target, `/_emulator/${verb}/har${call ? `?callId=${encodeURIComponent(call)}` : ''}`, out, `${verb} journal`, io);
  io.stdout.write(`${out}\n`);
}

/** Options of each command (besides the target's), and which of them are switches (no value). */
const COMMANDS: Record<string, { options: string[]; switches?: string[] }> = {
  token: { options: ['app', 'secret', 'tenant'] },
  'call incoming': { options: ['app', 'from', 'user-id', 'callback-uri'] },
  journal: { options: ['call', 'top', 'follow'], switches: ['follow'] },
  bot: { options: ['port', 'answer', 'json', 'app', 'secret', 'tenant', 'path', 'no-register'], switches: ['answer', 'json', 'no-register'] },
};

async function dispatch(argv: string[], io: CliIo): Promise<number> {
  const [command = '', ...args] = argv;
  if (command === '' || command === '--help' || command === '-h' || command === 'help') { io.stdout.write(`${HELP['']}\n`); return 0; }
  if (command === 'serve') {
    if (args.includes('--help') || args.includes('-h')) { io.stdout.write(`${HELP.serve}\n`); return 0; }
    // The server (fastify, storage, media) loads only here: every other command starts in a fraction of it.
    const { runServer } = await import('./main.js');
    await runServer(args);
    return 0;
  }
  if (command === 'faults' || command === 'recording' || command === 'export') {
    const [verb, ...more] = args;
    const { flags, rest: positional } = parseFlags(more);
    if (verb === undefined || verb === '--help' || flags.has('help')) { io.stdout.write(`${HELP[command]}\n`); return 0; }
    const allowed = command === 'faults' ? [] : command === 'recording' ? ['out'] : ['out', 'call'];
    allowOnly(flags, [...allowed, ...TARGET_FLAGS], command);
    const target = targetOf(flags, io);
    if (command === 'faults') await faults(verb, positional, target, io);
    else await recordingOrExport(command, verb, flags, positional, target, io);
    return 0;
  }
  let name = command;
  let rest = args;
  if (command === 'call') {
    if (args[0] === '--help' || args[0] === undefined) { io.stdout.write(`${HELP['call incoming']}\n`); return 0; }
    if (args[0] !== 'incoming') throw usageError(`call: expected 'call incoming' (see graph-calls --help)`);
    name = 'call incoming';
    rest = args.slice(1);
  }
  const spec = COMMANDS[name];
  if (!spec) throw usageError(`unknown command '${command}' (see graph-calls --help)`);
  const { flags, rest: positional } = parseFlags(rest, [...(spec.switches ?? []), 'help']);
  if (flags.has('help')) { io.stdout.write(`${HELP[name]}\n`); return 0; }
  allowOnly(flags, [...spec.options, ...TARGET_FLAGS], name);
  if (positional.length) throw usageError(`${name}: unexpected argument '${positional[0]}'`);
  const target = targetOf(flags, io);
  if (name === 'token') await token(flags, target, io);
  else if (name === 'call incoming') await incoming(flags, target, io);
  else if (name === 'journal') await journal(flags, target, io);
  else await bot(flags, target, io);
  return 0;
}

async function bot(flags: Flags, target: Target, io: CliIo): Promise<void> {
  const clientId = str(flags, 'app') ?? DEV_APP.clientId;
  const clientSecret = str(flags, 'secret') ?? (clientId === DEV_APP.clientId ? DEV_APP.clientSecret : undefined);
  const answer = bool(flags, 'answer');
  if (answer && !clientSecret) throw usageError('bot: --answer needs --secret for apps other than the development app (it gets a Graph token)');
  const portRaw = str(flags, 'port') ?? '3978';
  const port = Number(portRaw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw usageError(`bot: --port must be an integer from 0 to 65535, got '${portRaw}'`);
  const path = str(flags, 'path') ?? '/api/calls';
  if (!path.startsWith('/')) throw usageError(`bot: --path must start with '/', got '${path}'`);
  await runBot({
    target, port, path, answer, json: bool(flags, 'json'), register: !bool(flags, 'no-register'),
    app: { clientId, clientSecret: clientSecret ?? '', tenantId: str(flags, 'tenant') ?? DEV_APP.tenantId },
  }, io);
}

/** Runs one CLI command; resolves with the exit status (the error, if any, already on stderr). */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    io.stderr.write(`graph-calls: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
