import { compose } from './compose.js';
import { ConfigError, loadConfig } from './config.js';
import { StorageError } from './storage/storage-error.js';

/** `npm start` and `graph-calls serve`: the only code that reads process env and exits the process. */
export async function runServer(argv: string[]): Promise<void> {
  let config;
  try {
    config = loadConfig(argv, process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`graph-calls: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  let graphCalls;
  try {
    graphCalls = await compose(config);
  } catch (err) {
    // A database the operator must fix (URL, server, credentials, a directory in use): one line, status 2.
    if (err instanceof StorageError) {
      process.stderr.write(`graph-calls: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  graphCalls.start();
  const address = await graphCalls.app.listen({ port: config.port, host: config.host });
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
}

// Run when started as a program (npm start), not when imported by the CLI.
if (process.argv[1] && /[/\\]main\.ts$/.test(process.argv[1])) {
  runServer(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`graph-calls: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
