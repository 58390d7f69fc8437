import { compose } from './compose.js';
import { ConfigError, loadConfig } from './config.js';

/** `npm start`: the only file that reads process.argv/env and exits the process. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`graph-calls: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const graphCalls = await compose(config);
  graphCalls.start();
  const address = await graphCalls.app.listen({ port: config.port, host: config.host });
  const url = new URL(address);
  // The ready line (design.md §3): one line, printed once, only when the server accepts connections.
  process.stdout.write(`graph-calls listening on http://${url.host}\n`);
  const shutdown = async () => {
    await graphCalls.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

main().catch((err: unknown) => {
  process.stderr.write(`graph-calls: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
