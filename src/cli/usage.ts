/** `--help` of every command. `serve`'s is also what `npm start -- --help` prints (src/main.ts). */
export const HELP: Record<string, string> = {
  '': `graph-calls — a local Microsoft Graph call-recording API for Teams bots

usage: graph-calls <command> [options]

commands:
  serve            start graph-calls (what npm start runs); graph-calls serve --help lists its options
  bot              a calling bot to watch: prints every notification, checks its token, answers on request
  token            print an access token from a running graph-calls
  call incoming    have a simulated user call an app
  journal          print the notification delivery journal, newest first
  faults           add, list or clear fault-injection rules
  recording        download a recording's audio file
  export           save the request or delivery journal as HAR

global options (every command but serve):
  --url URL        where graph-calls runs (default http://127.0.0.1:4000, or GRAPH_CALLS_URL)
  --data DIR       its data directory, where an --https server keeps its local CA (default ./.graph-calls,
                   or GRAPH_CALLS_DATA); https URLs trust that CA
  --ca FILE        trust this CA certificate instead (PEM)
  --help           help for a command

exit status: 0 done, 1 the command failed, 2 bad usage or configuration`,
  serve: `usage: graph-calls serve [--port N] [--host H] [--data DIR] [--in-memory] [--db postgres://USER@HOST:PORT/DB]
                         [--apps FILE] [--policies FILE] [--faults FILE] [--https] [--clock real|virtual]
                         [--recording-format wav|mp3] [--retention 7d] [--log-level silent|error|warn|info|debug] [...]
       npm start -- [the same options]
Starts graph-calls and prints "graph-calls listening on http://HOST:PORT" on stdout when ready (logs go to
stderr). Ended calls are deleted --retention after they ended (7d, 12h, 30m, 45s, 250ms; 0 keeps them).
A configuration error is one report on stderr and exit status 2. All options: docs/configuration.md.`,
  bot: `usage: graph-calls bot [--port N] [--answer] [--json] [--app CLIENT_ID --secret SECRET --tenant TENANT_ID]
                       [--path /api/calls] [--no-register] [--url URL]
A calling bot on http://127.0.0.1:N/api/calls (default port 3978, the callbackUri of the README's examples).
It registers itself as the app's calling webhook (unless --no-register), checks every notification's bearer
token against graph-calls' discovery document (/v1/.well-known/OpenIdConfiguration) as a Teams bot must and
refuses a bad one with 401, saying why on stderr, and prints each notification on one line: time, call id,
changeType, resource, state, resultInfo.
  --answer   answer incoming calls and compliance-recording invites (POST .../answer through Graph)
  --json     print each notification body as received, one JSON document a line
Defaults to the development app. Ctrl-C stops it.`,
  token: `usage: graph-calls token [--app CLIENT_ID] [--secret SECRET] [--tenant TENANT_ID] [--url URL]
Prints an app-only access token for Graph (client credentials). Defaults to the development app;
--tenant names the app's tenant (default: the development tenant 00000000-0000-4000-8000-000000000001).`,
  'call incoming': `usage: graph-calls call incoming [--app CLIENT_ID] [--from DISPLAY_NAME] [--user-id ID] [--callback-uri URL] [--url URL]
A simulated user calls the app (default: the development app). Its calling webhook gets the 'created'
notification: start \`graph-calls bot\` first (it registers itself as the webhook), or pass --callback-uri.
Prints the new call's id.`,
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
  journal: `usage: graph-calls journal [--call CALL_ID] [--top N] [--follow] [--url URL]
Prints notification delivery attempts, newest first (the latest 20, or --top N up to 999; "more…" says when
older ones exist): time, call, attempt, status, latency, outcome, what was delivered (changeType and
resource) and where.
  --follow   print the latest attempts in time order, then each new one as it happens (Ctrl-C stops)`,
};
