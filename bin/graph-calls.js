#!/usr/bin/env node
// `graph-calls` / `npx graph-calls`: runs the TypeScript CLI through tsx's loader (no build step). The CLI
// is a function (src/cli.ts: argv and writers in, exit status out); this file is the process around it.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/cli.ts');
const argv = process.argv.slice(2);

// A closed pipe (`graph-calls journal | head`) ends the command quietly, as it does for other Unix tools.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

// Long-running commands (the bot, `journal --follow`) stop cleanly on Ctrl-C; `serve` has its own handlers.
const stop = new AbortController();
if (argv[0] === 'bot' || argv[0] === 'journal') {
  process.once('SIGINT', () => {
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  process.once('SIGTERM', () => stop.abort());
}

const code = await runCli(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: stop.signal });
if (argv[0] !== 'serve') process.exitCode = code;
else if (code !== 0) process.exit(code); // the server did not start: nothing is left to wait for
