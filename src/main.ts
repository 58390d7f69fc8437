import type { NewSigningKey } from './auth/keys.js';
import { compose } from './compose.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { HELP } from './cli/usage.js';
import { StorageError } from './storage/storage-error.js';

/** Problems the operator fixes by changing how graph-calls is started: reported in one line, exit status 2. */
function configurationProblem(err: unknown, config: { port: number; host: string } | null): string | null {
  if (err instanceof ConfigError || err instanceof StorageError) return err.message;
  const e = err as Error & { code?: string; path?: string; syscall?: string };
  // A file named by --apps, --policies, --faults, --cert or --key that is missing or unreadable.
  if (e.syscall === 'open' && e.path) return `cannot read ${e.path} (${e.code})`;
  if (config && e.code === 'EADDRINUSE') return `${config.host}:${config.port} is in use (another graph-calls?): choose another --port, or --port 0 for a free one`;
  if (config && (e.code === 'EADDRNOTAVAIL' || e.code === 'EACCES')) return `cannot listen on ${config.host}:${config.port} (${e.code}): check --host and --port`;
  return null;
}

/**
 * `npm start` and `graph-calls serve`: the only code that reads process env and exits the process.
 * `ports.newSigningKey`: where the signing keys a new data directory needs come from (generated unless a
 * caller says otherwise: the test suite's launcher hands out test-only keys, test/support/node-script.ts).
 */
export async function runServer(argv: string[], ports: { newSigningKey?: NewSigningKey } = {}): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${HELP.serve}\n`);
    process.exit(0);
  }
  let config: Config | null = null;
  let graphCalls: Awaited<ReturnType<typeof compose>>;
  let address: string;
  try {
    config = loadConfig(argv, process.env);
    graphCalls = await compose(config, ports);
    graphCalls.start();
    address = await graphCalls.app.listen({ port: config.port, host: config.host });
  } catch (err) {
    const problem = configurationProblem(err, config);
    if (problem === null) throw err;
    process.stderr.write(`graph-calls: ${problem}\n`);
    process.exit(2);
  }
  const url = new URL(address);
  const scheme = config.https ? 'https' : 'http';
  graphCalls.storage.announce(`${scheme}://${url.host}`);
  if (graphCalls.caCertPath) {
    process.stderr.write(`graph-calls: serving https with a local CA; trust it with NODE_EXTRA_CA_CERTS=${graphCalls.caCertPath}\n`);
  }
  // Handlers first: a supervisor that signals as soon as it reads the ready line must get a clean stop.
  // close() drains (requests, then deliveries and jobs, within --shutdown-grace-ms); a second signal
  // during the drain ends the process at once (what is durable stays durable; claims expire).
  let stopping = false;
  const shutdown = async () => {
    if (stopping) process.exit(1);
    stopping = true;
    try {
      await graphCalls.close();
    } catch (err) {
      process.stderr.write(`graph-calls: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    }
    process.exit(0);
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  // The ready line (design.md §3): one line, printed once, only when the server accepts connections.
  process.stdout.write(`graph-calls listening on ${scheme}://${url.host}\n`);
  process.stderr.write(`graph-calls: dashboard at ${scheme}://${url.host}/_emulator/ui\n`);
}

// Run when started as a program (npm start), not when imported by the CLI.
if (process.argv[1] && /[/\\]main\.ts$/.test(process.argv[1])) {
  runServer(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`graph-calls: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
