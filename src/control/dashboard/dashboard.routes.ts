import type { FastifyInstance, FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { Recording } from '../../domain/call.js';
import type { CallStore, Wakeups } from '../../domain/ports.js';
import { GraphError } from '../../graph/graph-errors.js';
import { normaliseId } from '../../shared/ids.js';
import type { RequestJournal } from '../request-journal.js';

export interface DashboardOptions {
  store: CallStore;
  journal: RequestJournal;
  wakeups: Wakeups;
}

const PAGE = readFileSync(new URL('./ui.html', import.meta.url), 'utf8');

interface TimelineItem { at: number; kind: 'request' | 'state' | 'notification' | 'delivery' | 'operation'; label: string; injected?: boolean }

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
  app.get('/_emulator/ui', async (_request, reply) => reply.type('text/html; charset=utf-8').send(PAGE));

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
      const roster = await o.store.listParticipants(c.id);
      const bot = roster.find((p) => p.id === c.myParticipantId);
      return {
        id: c.id, state: c.state, direction: c.direction, appId: c.appId, createdAt: new Date(c.createdAt).toISOString(),
        kind: c.meetingInfo ? 'meeting' : c.isComplianceRecording ? 'policy invite' : 'peer-to-peer',
        participants: roster.map((p) => ({ id: p.id, name: Object.values(p.info.identity).find((i) => i?.displayName)?.displayName ?? p.id, isBot: p.isBot, isMuted: p.isMuted })),
        recordingStatus: bot?.recordingInfo?.recordingStatus ?? null,
        recordings: (await o.store.recordingsByCall(c.id, 0, 100)).map((r) => ({
          id: r.id, createdAt: new Date(r.createdAt).toISOString(), seconds: r.sampleCount / r.sampleRate, contentType: r.contentType,
        })),
      };
    })),
  }));

  app.get('/_emulator/calls/:id/timeline', async (request) => {
    const id = normaliseId((request.params as { id: string }).id);
    if (!(await o.store.getCall(id))) throw new GraphError('CALL_NOT_FOUND');
    const items: TimelineItem[] = [];
    for (const r of await o.journal.list({ callId: id, limit: 5000 })) {
      items.push({ at: r.at - r.durationMs, kind: 'request', label: `${r.method} ${r.url.replace(/^\/(beta|v1\.0)\/communications\/calls\/[^/?]+/, '…')} → ${r.status}`, injected: r.injectedFault !== null });
    }
    for (const n of await o.store.listOutbox({ callId: id, limit: 5000 })) {
      const data = n.resourceData as { state?: string; status?: string };
      const what = n.resourceUrl.replace(`/communications/calls/${id}`, '') || '/';
      items.push({ at: n.createdAt, kind: data?.state ? 'state' : 'notification', label: `${n.changeType} ${what}${data?.state ? ` → ${data.state}` : data?.status ? ` (${data.status})` : ''}` });
    }
    for (const a of await o.store.listDeliveryAttempts({ callId: id, limit: 5000 })) {
      items.push({ at: a.at, kind: 'delivery', label: `delivery #${a.attempt} → ${a.status ?? a.error ?? '—'} (${a.outcome})`, injected: Boolean(a.error?.includes('injected fault')) });
    }
    for (const op of await o.store.listOperations(id, 0, 5000)) {
      items.push({ at: op.createdAt, kind: 'operation', label: `${op.type} ${op.status}` });
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
