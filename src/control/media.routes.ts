import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AudioSource, Recording } from '../domain/call.js';
import type { FarSideService } from '../simulator/far-side.service.js';
import type { CallStore } from '../domain/ports.js';
import { recordingPath, recordingUsers } from '../domain/call-effects.js';
import { identitySetToWire } from '../graph/call.mapper.js';
import { GraphError } from '../graph/graph-errors.js';
import { MediaError, type MediaLibrary } from '../media/media-library.js';
import { normaliseId } from '../shared/ids.js';
import type { VirtualClock } from '../shared/virtual-clock.js';

export interface MediaRoutesOptions {
  farSide: FarSideService;
  store: CallStore;
  library: MediaLibrary;
  virtualClock: VirtualClock | null;
}

const bad = (message: string) => new GraphError('INVALID_BODY', message);
const body = (r: FastifyRequest) => (r.body ?? {}) as Record<string, unknown>;
const WAV_LIMIT = 50 * 1024 * 1024;

/** ISO-8601 duration of a span, as Graph's Edm.Duration (`PT1H2M3.5S`). */
export function isoDuration(ms: number): string {
  const h = Math.floor(ms / 3_600_000), m = Math.floor((ms % 3_600_000) / 60_000), s = (ms % 60_000) / 1000;
  return `PT${h ? `${h}H` : ''}${m ? `${m}M` : ''}${s || (!h && !m) ? `${Number(s.toFixed(3))}S` : ''}`;
}

/** Parses an audio source request: silence, tone, speech (espeak-ng) or an uploaded clip. */
async function sourceOf(b: Record<string, unknown>, library: MediaLibrary): Promise<AudioSource> {
  const amplitude = b.amplitude === undefined ? 0.3 : Number(b.amplitude);
  if (!(amplitude >= 0 && amplitude <= 1)) throw bad(`'amplitude' must be a number from 0 to 1`);
  switch (b.type) {
    case 'silence': return { type: 'silence' };
    case 'tone': {
      const f = Number(b.frequencyHz);
      if (!(f > 0 && f < 8000)) throw bad(`'frequencyHz' must be a number above 0 and below 8000 (the Nyquist limit at 16 kHz)`);
      return { type: 'tone', frequencyHz: f, amplitude };
    }
    case 'speech': {
      if (typeof b.text !== 'string' || !b.text.trim()) throw bad(`'text' must be a non-empty string`);
      try {
        const { mediaId } = await library.speak(b.text);
        return { type: 'clip', mediaId, amplitude: b.amplitude === undefined ? 1 : amplitude, loop: b.loop === true };
      } catch (err) {
        if (err instanceof MediaError) throw new GraphError('SERVICE_UNAVAILABLE', err.message);
        throw err;
      }
    }
    case 'clip': {
      if (typeof b.mediaId !== 'string' || !(await library.has(b.mediaId))) throw bad(`'mediaId' must name an uploaded clip (POST /_emulator/media)`);
      return { type: 'clip', mediaId: b.mediaId, amplitude: b.amplitude === undefined ? 1 : amplitude, loop: b.loop === true };
    }
    default:
      throw bad(`'type' must be one of silence, tone, speech, clip`);
  }
}

/**
 * Simulated media and time (docs/control-plane.md): what each participant sends, uploaded clips, the
 * virtual clock, and the recording chat events of a meeting.
 */
export async function mediaRoutes(app: FastifyInstance, o: MediaRoutesOptions): Promise<void> {
  for (const type of ['audio/wav', 'audio/x-wav', 'audio/wave', 'application/octet-stream']) {
    app.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: WAV_LIMIT }, (_req, b, done) => done(null, b));
  }

  app.post('/_emulator/media', async (request, reply) => {
    if (!Buffer.isBuffer(request.body)) throw bad(`upload the WAV as the request body with Content-Type audio/wav`);
    try {
      return reply.code(201).send(await o.library.addWav(request.body));
    } catch (err) {
      if (err instanceof MediaError) throw bad(err.message);
      throw err;
    }
  });

  app.post('/_emulator/calls/:id/participants/:participantId/audio', async (request) => {
    const { id, participantId } = request.params as Record<string, string>;
    const source = await sourceOf(body(request), o.library);
    const part = await o.farSide.setAudio(normaliseId(id!), normaliseId(participantId!), source);
    return { participantId: part.id, source };
  });

  app.get('/_emulator/clock', async () => {
    const c = o.virtualClock;
    return c ? { mode: 'virtual', now: new Date(c.now()).toISOString(), pendingTimers: c.pending() } : { mode: 'real', now: new Date().toISOString() };
  });

  /** `{"ms": N}`, `{"seconds": N}` or `{"to": "ISO date-time"}`: fires every timer on the way, in order. */
  app.post('/_emulator/clock/advance', async (request) => {
    const c = o.virtualClock;
    if (!c) throw new GraphError('CLOCK_NOT_VIRTUAL');
    const b = body(request);
    let ms: number;
    if (b.to !== undefined) {
      const to = Date.parse(String(b.to));
      if (Number.isNaN(to) || to < c.now()) throw bad(`'to' must be an ISO-8601 date-time not before now (${new Date(c.now()).toISOString()})`);
      ms = to - c.now();
    } else {
      ms = b.ms !== undefined ? Number(b.ms) : Number(b.seconds) * 1000;
      if (!Number.isFinite(ms) || ms < 0) throw bad(`give 'ms' or 'seconds' (a non-negative number), or 'to' (a date-time)`);
    }
    const now = await c.advance(ms);
    return { mode: 'virtual', now: new Date(now).toISOString(), pendingTimers: c.pending() };
  });

  app.get('/_emulator/calls/:id/recordings', async (request) => {
    const id = normaliseId((request.params as { id: string }).id);
    if (!(await o.store.getCall(id))) throw new GraphError('CALL_NOT_FOUND');
    // The path the recording's `created` notification named: an ad hoc call's recording is listed under
    // the users who took part (call-recordings.routes.ts), so the path names the first of them.
    const user = recordingUsers(await o.store.listParticipants(id, { includeLeft: true }))[0] ?? null;
    return { value: (await o.store.recordingsByCall(id, 0, 1000)).map(({ seq: _seq, ...r }) => ({ ...r, path: recordingPath(r, user) })) };
  });

  /** The meeting chat's recording system messages, as Teams posts them (callRecordingEventMessageDetail). */
  app.get('/_emulator/meetings/:meetingId/messages', async (request) => {
    const meetingId = (request.params as { meetingId: string }).meetingId;
    const rows: Recording[] = await o.store.recordingsByMeeting(meetingId, 0, 1000);
    return {
      value: rows.map((r) => ({
        '@odata.type': '#microsoft.graph.callRecordingEventMessageDetail',
        callId: r.callId,
        callRecordingDisplayName: `Recording ${new Date(r.createdAt).toISOString()}`,
        callRecordingDuration: isoDuration(r.endedAt - r.createdAt),
        callRecordingStatus: 'success',
        callRecordingUrl: `${recordingPath(r, null)}/content`,
        initiator: null,
        meetingOrganizer: identitySetToWire(r.meetingOrganizer),
      })),
    };
  });
}
