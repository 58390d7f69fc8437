import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Job, Operation } from '../domain/call.js';
import type { MediaActionsService } from '../domain/media-actions.service.js';
import type { CallStore, ConfigStore } from '../domain/ports.js';
import type { MediaLibrary } from './media-library.js';
import { MemorySink } from './byte-sink.js';
import { renderSegment } from './renderer.js';

export interface RecordResponseOptions {
  store: CallStore;
  /** Where the WAVs are kept: the config store's blobs, shared by every instance and kept across restarts. */
  blobs: ConfigStore;
  library: MediaLibrary;
  media: MediaActionsService;
  sampleRate: number;
}

/** Where graph-calls serves a recorded response (docs/fidelity.md): its own path, outside /v1.0 and /beta, as Graph's is. */
export function recordedResponsePath(callId: string, operationId: string): string {
  return `/_media/recordResponses/${callId}/${operationId}.wav`;
}

export const recordedResponseKey = (operationId: string) => `recordResponse:${operationId}`;

/** Whether `presented` is the operation's recordingAccessToken (compared in constant time). */
export function tokenMatches(op: Operation, presented: string): boolean {
  const expected = op.media?.recordingAccessToken;
  if (!expected) return false;
  const a = Buffer.from(expected), b = Buffer.from(presented);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Renders a finished recordResponse/record: the far side's participants only (the bot's prompts and beep
 * are not in it), mixed to one 16 kHz channel over the record window. Rendering runs outside any
 * transaction; the operation completes in the one that follows (MediaActionsService.recordingStored), so
 * a crash mid-render renders again after the restart.
 */
export class RecordResponseRenderer {
  constructor(private readonly o: RecordResponseOptions) {}

  async runJob(job: Job): Promise<void> {
    const op = await this.o.store.getOperation(job.callId, job.payload.operationId ?? '');
    const m = op?.media;
    if (!op || !m || m.phase !== 'rendering' || m.recordStartAt === null || m.recordEndAt === null) {
      await this.o.media.recordingStored(job, '', ''); // deletes the job; nothing to complete
      return;
    }
    const roster = (await this.o.store.listParticipants(job.callId, { includeLeft: true })).filter((p) => !p.isBot);
    const events = await this.o.store.listMediaEvents(job.callId);
    const clips = await this.o.library.clipsFor(events);
    // Rendered into memory: the bytes are stored in the config store's blobs, nothing goes to disk.
    const out = new MemorySink();
    await renderSegment({
      startMs: m.recordStartAt, endMs: Math.max(m.recordStartAt, m.recordEndAt), participants: roster, events, sampleRate: this.o.sampleRate,
      channels: 'mixed', format: 'wav', clip: (id) => clips.get(id) ?? new Int16Array(0), out,
    });
    await this.o.blobs.putBlob(recordedResponseKey(op.id), out.bytes());
    const token = randomBytes(32).toString('base64url');
    await this.o.media.recordingStored(job, `${m.origin}${recordedResponsePath(op.callId, op.id)}`, token);
  }
}
