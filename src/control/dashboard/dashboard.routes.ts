import type { FastifyInstance, FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { AppRegistry } from '../../auth/apps.js';
import type { MediaEvent, Participant, Recording } from '../../domain/call.js';
import { commsNotificationsBody } from '../../graph/notification.mapper.js';
import type { CallStore, Wakeups } from '../../domain/ports.js';
import { GraphError } from '../../graph/graph-errors.js';
import { normaliseId } from '../../shared/ids.js';
import type { RequestJournal } from '../request-journal.js';

export interface DashboardOptions {
  store: CallStore;
  apps: AppRegistry;
  journal: RequestJournal;
  wakeups: Wakeups;
}

const PAGE = readFileSync(new URL('./ui.html', import.meta.url), 'utf8');

/** The page's own inline script and style, by hash: nothing else may run or style it (and nothing from elsewhere loads). */
const inlineHash = (tag: string) => {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(PAGE);
  return m ? `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'` : "'none'";
};
const CSP = [
  "default-src 'none'", `script-src ${inlineHash('script')}`, `style-src ${inlineHash('style')}`, "connect-src 'self'",
  "img-src 'self' blob: data:", "media-src 'self' blob:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ');

/** Where `/` and `/_emulator/` lead: the dashboard. */
export const DASHBOARD_PATH = '/_emulator/ui';

interface TimelineItem {
  at: number;
  kind: 'request' | 'state' | 'notification' | 'delivery' | 'operation' | 'roster';
  label: string;
  injected?: boolean;
  /** What a click opens: a journalled request, or a notification (with its delivery attempts). */
  requestSeq?: number;
  notificationSeq?: number;
  attempt?: number;
}

const nameOf = (p: Participant) => Object.values(p.info.identity).find((i) => i?.displayName)?.displayName ?? p.id;
const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

/** Who was on the call and what each did, from the roster (left participants included) and the media timeline. */
function rosterOf(parts: Participant[], events: MediaEvent[]) {
  return parts.map((p) => {
    const what: Array<{ at: number; what: 'joined' | 'left' | 'muted' | 'unmuted' }> = [{ at: p.joinedAt, what: 'joined' }];
    for (const e of events) if (e.participantId === p.id && e.kind === 'mute') what.push({ at: e.at, what: e.muted ? 'muted' : 'unmuted' });
    if (p.leftAt !== null) what.push({ at: p.leftAt, what: 'left' });
    what.sort((a, b) => a.at - b.at);
    return {
      id: p.id, name: nameOf(p), isBot: p.isBot, isMuted: p.isMuted, joinedAt: iso(p.joinedAt), leftAt: iso(p.leftAt),
      userId: p.info.identity.user?.id ?? null, events: what.map((e) => ({ at: iso(e.at), what: e.what })),
    };
  });
}

/** Peaks of a 16-bit PCM WAV in `buckets` columns, read piece by piece from the store (bounded memory), as an SVG picture. */
async function waveformSvg(store: CallStore, r: Recording, buckets = 600, height = 80): Promise<string> {
  const header = Buffer.concat(await toArray(store.readRecordingContent(r.id, 0, 43)));
  const channels = header.length >= 44 ? header.readUInt16LE(22) || 1 : 1;
  const dataBytes = header.length >= 44 ? header.readUInt32LE(40) : 0;
  const frameBytes = 2 * channels;
  const perBucket = Math.max(1, Math.ceil(Math.floor(dataBytes / frameBytes) / buckets));
  const peaks = new Float32Array(buckets);
  let offset = 0;
  let carry: Buffer | null = null;
  for await (const piece of store.readRecordingContent(r.id, 44, 44 + dataBytes - 1)) {
    const buf: Buffer = carry ? Buffer.concat([carry, piece]) : piece;
    const usable = buf.length - (buf.length % 2);
    for (let i = 0; i < usable; i += 2) {
      const b = Math.min(buckets - 1, Math.floor((offset + i) / frameBytes / perBucket));
      const v = Math.abs(buf.readInt16LE(i)) / 32768;
      if (v > peaks[b]!) peaks[b] = v;
    }
    offset += usable;
    carry = usable < buf.length ? buf.subarray(usable) : null;
  }
  const mid = height / 2;
  const bars = Array.from(peaks, (p, i) => `M${i} ${(mid - p * mid).toFixed(1)}V${(mid + p * mid).toFixed(1)}`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${buckets} ${height}" preserveAspectRatio="none" width="100%" height="${height}"><rect width="100%" height="100%" fill="#f4f6fb"/><path d="${bars}" stroke="#3867d6" stroke-width="1"/></svg>`;
}

async function toArray<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/**
 * The dashboard at /_emulator/ui (one self-contained page, no assets from the internet) and the data it
 * reads: recent calls, a per-call timeline of requests, state changes, operations, notifications and
 * delivery attempts on one time axis, recordings with audio and a waveform, and a server-sent event
 * stream that says when something changed.
 */
export async function dashboardRoutes(app: FastifyInstance, o: DashboardOptions): Promise<void> {
  app.get(DASHBOARD_PATH, async (_request, reply) => reply.type('text/html; charset=utf-8').header('content-security-policy', CSP).send(PAGE));
  // A browser pointed at the server's root or at the control plane's own root finds the dashboard.
  app.get('/', async (_request, reply) => reply.redirect(DASHBOARD_PATH));
  app.get('/_emulator', async (_request, reply) => reply.redirect(DASHBOARD_PATH));

  const listeners = new Set<() => void>();
  // Any instance's commits: the wake-ups port carries them (LISTEN/NOTIFY on PostgreSQL).
  o.wakeups.on('outbox', () => listeners.forEach((l) => l()));

  /** `event: change` after every commit that produced notifications (coalesced to one per 100 ms). */
  app.get('/_emulator/events', (request, reply: FastifyReply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write('retry: 1000\n\n');
    let pending = false;
    const send = () => {
      if (pending) return;
      pending = true;
      setTimeout(() => { pending = false; reply.raw.write(`event: change\ndata: ${Date.now()}\n\n`); }, 100);
    };
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    listeners.add(send);
    request.raw.on('close', () => { listeners.delete(send); clearInterval(ping); });
  });

  app.get('/_emulator/calls', async () => ({
    value: await Promise.all((await o.store.recentCalls(100)).map(async (c) => {
      // Everyone who was on the call: a call that ended keeps its roster, each participant marked as left.
      const roster = await o.store.listParticipants(c.id, { includeLeft: true });
      const bot = roster.find((p) => p.id === c.myParticipantId);
      return {
        id: c.id, state: c.state, direction: c.direction, appId: c.appId, appName: o.apps.get(c.appId)?.displayName ?? null,
        createdAt: iso(c.createdAt), updatedAt: iso(c.updatedAt), resultInfo: c.resultInfo,
        kind: c.meetingInfo ? 'meeting' : c.isComplianceRecording ? 'policy invite' : 'peer-to-peer',
        participants: roster.map((p) => ({ id: p.id, name: nameOf(p), isBot: p.isBot, isMuted: p.isMuted, joinedAt: iso(p.joinedAt), leftAt: iso(p.leftAt) })),
        recordingStatus: bot?.recordingInfo?.recordingStatus ?? null,
        recordings: (await o.store.recordingsByCall(c.id, 0, 100)).map((r) => ({
          id: r.id, createdAt: iso(r.createdAt), seconds: r.sampleCount / r.sampleRate, contentType: r.contentType, sizeBytes: r.sizeBytes,
        })),
      };
    })),
  }));

  /** The call's roster with what each participant did and when: joined, muted, unmuted, left. */
  app.get('/_emulator/calls/:id/roster', async (request) => {
    const id = normaliseId((request.params as { id: string }).id);
    if (!(await o.store.getCall(id))) throw new GraphError('CALL_NOT_FOUND');
    return { value: rosterOf(await o.store.listParticipants(id, { includeLeft: true }), await o.store.listMediaEvents(id)) };
  });

  /** One notification of a call: the body posted to the bot (as the delivery worker renders it) and every delivery attempt. */
  app.get('/_emulator/calls/:id/notifications/:seq', async (request) => {
    const { id: raw, seq: rawSeq } = request.params as { id: string; seq: string };
    const id = normaliseId(raw);
    const seq = Number(rawSeq);
    const [n] = Number.isSafeInteger(seq) && seq > 0 ? await o.store.listOutbox({ callId: id, afterSeq: seq - 1, limit: 1 }) : [];
    if (!n || n.seq !== seq) throw new GraphError('NOT_FOUND_ITEM', `The call has no notification ${rawSeq}.`);
    const attempts = (await o.store.listDeliveryAttempts({ callId: id, limit: 5000 })).filter((a) => a.notificationSeq === seq);
    return {
      seq: n.seq, messageId: n.messageId, changeType: n.changeType, resourceUrl: n.resourceUrl, callbackUri: n.callbackUri,
      createdAt: iso(n.createdAt), state: n.state, attempts: n.attempts,
      body: JSON.parse(commsNotificationsBody(n)) as unknown,
      deliveries: attempts.map((a) => ({ ...a, at: iso(a.at) })),
    };
  });

  /** One entry of the request journal: the request and its answer (credentials redacted when it was kept). */
  app.get('/_emulator/requests/:seq', async (request) => {
    const seq = Number((request.params as { seq: string }).seq);
    const [e] = Number.isSafeInteger(seq) && seq > 0 ? await o.journal.list({ after: seq - 1, limit: 1 }) : [];
    if (!e || e.seq !== seq) throw new GraphError('NOT_FOUND_ITEM', 'No such entry in the request journal (it may have been trimmed).');
    return { ...e, at: iso(e.at) };
  });

  app.get('/_emulator/calls/:id/timeline', async (request) => {
    const id = normaliseId((request.params as { id: string }).id);
    if (!(await o.store.getCall(id))) throw new GraphError('CALL_NOT_FOUND');
    const items: TimelineItem[] = [];
    for (const r of await o.journal.list({ callId: id, limit: 5000 })) {
      const answer = r.status === 0 ? 'no answer (connection reset)' : String(r.status);
      items.push({ at: r.at - r.durationMs, kind: 'request', label: `${r.method} ${r.url.replace(/^\/(beta|v1\.0)\/communications\/calls\/[^/?]+/, '…')} → ${answer}`, injected: r.injectedFault !== null, requestSeq: r.seq });
    }
    for (const n of await o.store.listOutbox({ callId: id, limit: 5000 })) {
      const data = n.resourceData as { state?: string; status?: string };
      const what = n.resourceUrl.replace(`/communications/calls/${id}`, '') || '/';
      items.push({ at: n.createdAt, kind: data?.state ? 'state' : 'notification', label: `${n.changeType} ${what}${data?.state ? ` → ${data.state}` : data?.status ? ` (${data.status})` : ''}`, notificationSeq: n.seq });
    }
    for (const a of await o.store.listDeliveryAttempts({ callId: id, limit: 5000 })) {
      items.push({ at: a.at, kind: 'delivery', label: `delivery #${a.attempt} → ${a.status ?? a.error ?? '—'} (${a.outcome})`, injected: Boolean(a.error?.includes('injected fault')), notificationSeq: a.notificationSeq, attempt: a.attempt });
    }
    for (const op of await o.store.listOperations(id, 0, 5000)) {
      items.push({ at: op.createdAt, kind: 'operation', label: `${op.type} ${op.status}` });
    }
    for (const p of rosterOf(await o.store.listParticipants(id, { includeLeft: true }), await o.store.listMediaEvents(id))) {
      for (const e of p.events) items.push({ at: Date.parse(e.at!), kind: 'roster', label: `${p.name} ${e.what}` });
    }
    items.sort((x, y) => x.at - y.at);
    return { value: items.map((i) => ({ ...i, at: new Date(i.at).toISOString() })) };
  });

  app.get('/_emulator/recordings/:id/content', async (request, reply) => {
    const r = await o.store.getRecording((request.params as { id: string }).id);
    if (!r) throw new GraphError('NOT_FOUND_ITEM', 'The recording was not found.');
    return reply.type(r.contentType).header('content-length', String(r.sizeBytes)).send(Readable.from(o.store.readRecordingContent(r.id, 0, r.sizeBytes - 1)));
  });

  app.get('/_emulator/recordings/:id/waveform.svg', async (request, reply) => {
    const r = await o.store.getRecording((request.params as { id: string }).id);
    if (!r || r.contentType !== 'audio/wav') throw new GraphError('NOT_FOUND_ITEM', 'No waveform for this recording.');
    return reply.type('image/svg+xml').send(await waveformSvg(o.store, r));
  });
}
