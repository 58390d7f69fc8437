import type { FastifyInstance, FastifyReply } from 'fastify';
import { createReadStream, openSync, readFileSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { CallStore } from '../../domain/ports.js';
import { GraphError } from '../../graph/graph-errors.js';
import { normaliseId } from '../../shared/ids.js';
import type { RequestJournal } from '../request-journal.js';

export interface DashboardOptions {
  store: CallStore;
  journal: RequestJournal;
  recordingsDir: string;
}

const PAGE = readFileSync(new URL('./ui.html', import.meta.url), 'utf8');

interface TimelineItem { at: number; kind: 'request' | 'state' | 'notification' | 'delivery' | 'operation'; label: string; injected?: boolean }

/** Peaks of a 16-bit PCM WAV in `buckets` columns, read in chunks (bounded memory), as an SVG picture. */
function waveformSvg(file: string, buckets = 600, height = 80): string {
  const fd = openSync(file, 'r');
  try {
    const header = Buffer.alloc(44);
    readSync(fd, header, 0, 44, 0);
    const channels = header.readUInt16LE(22) || 1;
    const dataBytes = header.readUInt32LE(40);
    const frames = Math.floor(dataBytes / (2 * channels));
    const perBucket = Math.max(1, Math.ceil(frames / buckets));
    const peaks = new Float32Array(buckets);
    const chunk = Buffer.alloc(perBucket * channels * 2);
    for (let b = 0; b < buckets; b++) {
      const n = readSync(fd, chunk, 0, chunk.length, 44 + b * chunk.length);
      let peak = 0;
      for (let i = 0; i + 1 < n; i += 2) peak = Math.max(peak, Math.abs(chunk.readInt16LE(i)) / 32768);
      peaks[b] = peak;
      if (n < chunk.length) break;
    }
    const mid = height / 2;
    const bars = Array.from(peaks, (p, i) => `M${i} ${(mid - p * mid).toFixed(1)}V${(mid + p * mid).toFixed(1)}`).join('');
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${buckets} ${height}" preserveAspectRatio="none" width="100%" height="${height}"><rect width="100%" height="100%" fill="#f4f6fb"/><path d="${bars}" stroke="#3867d6" stroke-width="1"/></svg>`;
  } finally {
    closeSync(fd);
  }
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
  o.store.onNotificationsAppended(() => listeners.forEach((l) => l()));

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
    value: o.store.recentCalls(100).map((c) => {
      const roster = o.store.listParticipants(c.id);
      const bot = roster.find((p) => p.id === c.myParticipantId);
      return {
        id: c.id, state: c.state, direction: c.direction, appId: c.appId, createdAt: new Date(c.createdAt).toISOString(),
        kind: c.meetingInfo ? 'meeting' : c.isComplianceRecording ? 'policy invite' : 'peer-to-peer',
        participants: roster.map((p) => ({ id: p.id, name: Object.values(p.info.identity).find((i) => i?.displayName)?.displayName ?? p.id, isBot: p.isBot, isMuted: p.isMuted })),
        recordingStatus: bot?.recordingInfo?.recordingStatus ?? null,
        recordings: o.store.listRecordings({ callId: c.id, afterSeq: 0, limit: 100 }).map((r) => ({
          id: r.id, createdAt: new Date(r.createdAt).toISOString(), seconds: r.sampleCount / r.sampleRate, contentType: r.contentType,
        })),
      };
    }),
  }));

  app.get('/_emulator/calls/:id/timeline', async (request) => {
    const id = normaliseId((request.params as { id: string }).id);
    if (!o.store.getCall(id)) throw new GraphError('CALL_NOT_FOUND');
    const items: TimelineItem[] = [];
    for (const r of o.journal.list({ callId: id, limit: 5000 })) {
      items.push({ at: r.at - r.durationMs, kind: 'request', label: `${r.method} ${r.url.replace(/^\/(beta|v1\.0)\/communications\/calls\/[^/?]+/, '…')} → ${r.status}`, injected: r.injectedFault !== null });
    }
    for (const n of o.store.listOutbox({ callId: id, limit: 5000 })) {
      const data = n.resourceData as { state?: string; status?: string };
      const what = n.resourceUrl.replace(`/communications/calls/${id}`, '') || '/';
      items.push({ at: n.createdAt, kind: data?.state ? 'state' : 'notification', label: `${n.changeType} ${what}${data?.state ? ` → ${data.state}` : data?.status ? ` (${data.status})` : ''}` });
    }
    for (const a of o.store.listDeliveryAttempts({ callId: id, limit: 5000 })) {
      items.push({ at: a.at, kind: 'delivery', label: `delivery #${a.attempt} → ${a.status ?? a.error ?? '—'} (${a.outcome})`, injected: Boolean(a.error?.includes('injected fault')) });
    }
    for (const op of o.store.listOperations(id, 0, 5000)) {
      items.push({ at: op.createdAt, kind: 'operation', label: `${op.type} ${op.status}` });
    }
    items.sort((x, y) => x.at - y.at);
    return { value: items.map((i) => ({ ...i, at: new Date(i.at).toISOString() })) };
  });

  app.get('/_emulator/recordings/:id/content', async (request, reply) => {
    const r = o.store.getRecording((request.params as { id: string }).id);
    if (!r) throw new GraphError('NOT_FOUND_ITEM', 'The recording was not found.');
    return reply.type(r.contentType).header('content-length', String(r.sizeBytes)).send(createReadStream(join(o.recordingsDir, r.file)));
  });

  app.get('/_emulator/recordings/:id/waveform.svg', async (request, reply) => {
    const r = o.store.getRecording((request.params as { id: string }).id);
    if (!r || r.contentType !== 'audio/wav') throw new GraphError('NOT_FOUND_ITEM', 'No waveform for this recording.');
    return reply.type('image/svg+xml').send(waveformSvg(join(o.recordingsDir, r.file)));
  });
}
