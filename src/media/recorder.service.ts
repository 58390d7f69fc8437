import type { Job, Recording } from '../domain/call.js';
import type { CallEffects } from '../domain/call-effects.js';
import { recordingUsers } from '../domain/call-effects.js';
import { meetingIdOf, meetingOrganizer } from '../domain/online-meeting.js';
import type { CallStore } from '../domain/ports.js';
import type { MediaLibrary } from './media-library.js';
import { recordingChange, type ChangePublisher } from '../subscriptions/change-publisher.js';
import { MemorySink } from './byte-sink.js';
import { renderSegment, type RecordingFormat } from './renderer.js';

export interface RecorderOptions {
  store: CallStore;
  effects: CallEffects;
  library: MediaLibrary;
  sampleRate: number;
  channels: 'mixed' | 'perParticipant';
  format: RecordingFormat;
  /** Change notifications to /subscriptions (Graph's way of announcing recordings). */
  changes?: ChangePublisher;
  /**
   * `--recording-callback-notifications`: also post graph-calls' own `created` commsNotification for each
   * recording to the call's callbackUri. Not Graph (docs/fidelity.md); off by default.
   */
  recordingCallbackNotifications?: boolean;
}

const CONTENT_TYPES: Record<RecordingFormat, string> = { wav: 'audio/wav', mp3: 'audio/mpeg' };

/**
 * Turns closed recording segments into recording files and `callRecording` resources. Rendering runs
 * outside any transaction, into memory (nothing is written to disk); the job row is deleted, and the
 * recording stored with its bytes, in the transaction that follows, so a crash mid-render simply renders
 * again after the restart.
 */
export class RecorderService {
  /** One render at a time per call, so two jobs never render the same segment twice. */
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly o: RecorderOptions) {}

  runJob(job: Job): Promise<void> {
    const previous = this.chains.get(job.callId) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.render(job));
    this.chains.set(job.callId, next);
    void next.finally(() => { if (this.chains.get(job.callId) === next) this.chains.delete(job.callId); }).catch(() => undefined);
    return next;
  }

  private async render(job: Job): Promise<void> {
    const call = await this.o.store.getCall(job.callId);
    const segments = call ? await this.o.store.unrenderedSegments(call.id) : [];
    const rendered: Array<{ rec: Recording; content: Buffer }> = [];
    if (call && segments.length) {
      const roster = await this.o.store.listParticipants(call.id, { includeLeft: true });
      const events = await this.o.store.listMediaEvents(call.id);
      const clips = await this.o.library.clipsFor(events);
      for (const seg of segments) {
        const id = this.o.effects.newOrderedId();
        // The bytes go into the database with the recording, so every instance can serve them.
        const file = `${id}.${this.o.format}`;
        const out = new MemorySink();
        const r = await renderSegment({
          startMs: seg.startedAt, endMs: seg.endedAt!, participants: roster, events, sampleRate: this.o.sampleRate,
          channels: this.o.channels, format: this.o.format, clip: (m) => clips.get(m) ?? new Int16Array(0), out,
        });
        rendered.push({
          content: out.bytes(),
          rec: {
            id, callId: call.id, segmentId: seg.id, tenantId: call.tenantId, meetingId: meetingIdOf(call, roster),
            meetingOrganizer: meetingOrganizer(call, roster), contentCorrelationId: this.o.effects.newId(),
            createdAt: seg.startedAt, endedAt: seg.endedAt!, file, contentType: CONTENT_TYPES[this.o.format], sizeBytes: r.sizeBytes,
            etag: r.etag, sampleRate: this.o.sampleRate, channels: r.channels, sampleCount: r.sampleCount,
          },
        });
      }
    }
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id)) || !call) return;
      // Read the call first: on PostgreSQL that locks it, so a render of the same segments by another
      // instance waits here and then finds them rendered (one recording per closed segment).
      const current = (await tx.getCall(call.id)) ?? call;
      const roster = await tx.listParticipants(call.id, { includeLeft: true });
      const users = recordingUsers(roster);
      const stillOpen = new Set((await tx.unrenderedSegments(call.id)).map((seg) => seg.id));
      for (const { rec, content } of rendered.filter((r) => stillOpen.has(r.rec.segmentId))) {
        const organizerId = rec.meetingOrganizer?.user?.id;
        await tx.insertRecording(rec, [
          ...(typeof organizerId === 'string' ? [{ userId: organizerId, role: 'organizer' as const }] : []),
          ...users.map((userId) => ({ userId, role: 'participant' as const })),
        ], content);
        await this.o.changes?.publishResourceChange(tx, recordingChange(rec, { userIds: users, appIds: [current.appId] }));
        if (this.o.recordingCallbackNotifications) await this.o.effects.notifyRecording(tx, current, rec, users[0] ?? null);
      }
    });
  }
}
