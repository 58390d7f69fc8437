import { setTimeout as sleep } from 'node:timers/promises';
import { bool, int, str, type CliIo, type Flags } from './io.js';
import { requestJson, type Target } from './transport.js';

/**
 * `graph-calls journal`: the delivery journal, newest attempt first, each line saying what was delivered
 * (changeType and resource) and how it went; `--follow` then prints attempts as they happen.
 */

interface Attempt {
  seq: number;
  notificationSeq: number;
  callId: string;
  attempt: number;
  at: string;
  url: string;
  status: number | null;
  latencyMs: number | null;
  error: string | null;
  outcome: string;
}

interface Notification { seq: number; changeType: string; resourceUrl: string }

const FOLLOW_POLL_MS = 500;

/** The notifications attempts delivered, looked up in the outbox by sequence (a page covers a run of them). */
async function notificationsOf(target: Target, attempts: Attempt[], callId: string | undefined, known: Map<number, Notification>): Promise<void> {
  const wanted = [...new Set(attempts.map((a) => a.notificationSeq))].filter((s) => !known.has(s)).sort((a, b) => a - b);
  const call = callId ? `&callId=${encodeURIComponent(callId)}` : '';
  for (let i = 0; i < wanted.length;) {
    const from = wanted[i]!;
    const page = (await requestJson(target, `/_emulator/outbox?after=${from - 1}&top=${Math.min(1000, wanted.at(-1)! - from + 1)}${call}`)).value as Notification[];
    for (const n of page) known.set(n.seq, n);
    if (!known.has(from)) known.set(from, { seq: from, changeType: '?', resourceUrl: '?' });
    while (i < wanted.length && known.has(wanted[i]!)) i++;
  }
}

export function attemptLine(a: Attempt, n: Notification | undefined): string {
  const latency = a.latencyMs === null ? '' : `${a.latencyMs.toFixed(1)} ms`;
  const what = n ? `${n.changeType} ${n.resourceUrl}` : '';
  return `${a.at}  ${a.callId.slice(0, 8)}  #${a.attempt}  ${String(a.status ?? '---').padStart(3)}  ${latency.padStart(9)}  ${a.outcome.padEnd(10)}  ${what}  → ${a.url}${a.error ? `  (${a.error})` : ''}\n`;
}

export async function journal(flags: Flags, target: Target, io: CliIo): Promise<void> {
  const top = int(flags, 'top', 20, 1, 999, 'journal');
  const callId = str(flags, 'call');
  const follow = bool(flags, 'follow');
  const call = callId ? `&callId=${encodeURIComponent(callId)}` : '';
  const known = new Map<number, Notification>();

  const newest = await requestJson(target, `/_emulator/deliveries?order=newest&$top=${top}${call}`);
  const rows = newest.value as Attempt[];
  await notificationsOf(target, rows, callId, known);
  const more = Boolean(newest['@odata.nextLink']);
  if (!follow) {
    if (rows.length === 0) { io.stdout.write('no delivery attempts yet\n'); return; }
    for (const a of rows) io.stdout.write(attemptLine(a, known.get(a.notificationSeq)));
    if (more) io.stdout.write(`more… older attempts not shown: --top N (up to 999) shows more, --call ID one call's\n`);
    return;
  }
  // Following reads like `tail -f`: the latest attempts in time order, then each new one below them.
  if (more) io.stdout.write(`more… older attempts above these are not shown (--top N)\n`);
  const shown = rows.slice().reverse();
  for (const a of shown) io.stdout.write(attemptLine(a, known.get(a.notificationSeq)));
  let last = shown.at(-1)?.seq ?? 0;
  while (!io.signal?.aborted) {
    try {
      await sleep(FOLLOW_POLL_MS, undefined, { signal: io.signal });
    } catch {
      return; // aborted
    }
    for (;;) {
      const skip = last ? `&$skiptoken=${Buffer.from(String(last)).toString('base64url')}` : '';
      const page = await requestJson(target, `/_emulator/deliveries?$top=999${call}${skip}`);
      const fresh = page.value as Attempt[];
      await notificationsOf(target, fresh, callId, known);
      for (const a of fresh) io.stdout.write(attemptLine(a, known.get(a.notificationSeq)));
      if (fresh.length) last = fresh.at(-1)!.seq;
      if (!page['@odata.nextLink']) break;
    }
  }
}
