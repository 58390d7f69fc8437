import type { AudioSource, Call, Job } from '../domain/call.js';
import type { OnlineMeeting, Transcript } from '../domain/meeting.js';
import { meetingIdOf, meetingOrganizer } from '../domain/online-meeting.js';
import type { CallStore, CallWriter } from '../domain/ports.js';
import type { MediaLibrary } from '../media/media-library.js';
import { SAMPLE_RATE } from '../media/media-library.js';
import type { Clock } from '../shared/clock.js';
import type { Ids } from '../shared/ids.js';
import { speakerName, transcriptCues, type Spoken, type TranscriptionWindow } from './transcript-producer.js';

/**
 * Where a stored transcript is announced. The change-notification publisher (subscriptions, another
 * branch) plugs in here; until it does, nothing is announced (Graph has no callbackUri notification for
 * transcripts to imitate).
 */
export interface TranscriptPublisher {
  /** `userIds`: the users who took part (ad hoc subscriptions match them); `appIds`: the call's bot. */
  transcriptStored(tx: CallWriter, transcript: Transcript, f: { userIds: readonly string[]; appIds: readonly string[] }): Promise<void>;
}

export const NO_PUBLISHER: TranscriptPublisher = { transcriptStored: async () => undefined };

export interface TranscriptServiceOptions {
  store: CallStore;
  clock: Clock;
  ids: Ids;
  library: MediaLibrary;
  publisher?: TranscriptPublisher;
}

/** Spoken language of every transcript (the simulated speech is espeak-ng's en-us voice). */
const LANGUAGE = 'en-us';
/** Speech without a clip to measure (a text-only source): about 150 words a minute (INFERRED). */
const MS_PER_WORD = 400;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64url');

/**
 * Transcripts from the media timeline. A call that ends while transcribed queues a `renderTranscripts`
 * job with its transcription window in the payload; the job makes the transcript outside any transaction
 * and stores it in the transaction that deletes the job, so it is stored once and survives a crash.
 */
export class TranscriptService {
  private readonly publisher: TranscriptPublisher;

  constructor(private readonly o: TranscriptServiceOptions) {
    this.publisher = o.publisher ?? NO_PUBLISHER;
  }

  /**
   * The call has ended (CallEffects.terminate, inside its transaction). A meeting set to transcribe
   * automatically (control plane) transcribed it from when the bot joined until now. Windows that the
   * beta `startTranscription` action opens and closes queue the same job with their own bounds.
   */
  async callEnded(tx: CallWriter, call: Call): Promise<void> {
    // A window the beta startTranscription opened and the call ended before stopTranscription closed it.
    if (call.transcription?.state === 'active') {
      await this.queue(tx, call.id, { startedAt: call.transcription.lastModifiedAt, endedAt: this.o.clock.now() });
      return;
    }
    if (!call.meetingInfo) return; // ad hoc calls are transcribed only by startTranscription
    const roster = await tx.listParticipants(call.id, { includeLeft: true });
    const meetingId = meetingIdOf(call, roster);
    const meeting = meetingId ? await tx.getOnlineMeeting(meetingId) : undefined;
    if (!meeting?.autoTranscription || !meeting.allowTranscription) return;
    const bot = roster.find((p) => p.id === call.myParticipantId);
    if (!bot) return; // never established: nothing was transcribed
    await this.queue(tx, call.id, { startedAt: bot.joinedAt, endedAt: this.o.clock.now() });
  }

  queue(tx: CallWriter, callId: string, w: TranscriptionWindow): Promise<void> {
    return tx.scheduleJob({ callId, kind: 'renderTranscripts', dueAt: this.o.clock.now(), payload: { startedAt: String(w.startedAt), endedAt: String(w.endedAt) } });
  }

  async runJob(job: Job): Promise<void> {
    const window = { startedAt: Number(job.payload.startedAt), endedAt: Number(job.payload.endedAt) };
    const call = await this.o.store.getCall(job.callId);
    const transcript = call && Number.isFinite(window.startedAt) && Number.isFinite(window.endedAt) ? await this.make(call, window) : null;
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id)) || !transcript || !call) return;
      const roster = await tx.listParticipants(call.id, { includeLeft: true });
      const users = [...new Set(roster.filter((p) => !p.isBot).map((p) => p.info.identity.user?.id).filter((u): u is string => typeof u === 'string'))];
      const organizerId = transcript.meetingOrganizer?.user?.id;
      await tx.insertTranscript(transcript, [
        ...(typeof organizerId === 'string' ? [{ userId: organizerId, role: 'organizer' as const }] : []),
        ...users.map((userId) => ({ userId, role: 'participant' as const })),
      ]);
      await this.onTranscriptStored(tx, transcript, { userIds: users, appIds: [call.appId] });
    });
  }

  /** The one call site for transcript change notifications (compose.ts wires the subscriptions publisher). */
  onTranscriptStored(tx: CallWriter, transcript: Transcript, f: { userIds: readonly string[]; appIds: readonly string[] }): Promise<void> {
    return this.publisher.transcriptStored(tx, transcript, f);
  }

  /** The transcript of `window`: pure, given what the timeline's speech sources say. */
  private async make(call: Call, window: TranscriptionWindow): Promise<Transcript> {
    const roster = await this.o.store.listParticipants(call.id, { includeLeft: true });
    const events = await this.o.store.listMediaEvents(call.id);
    const meetingId = meetingIdOf(call, roster);
    const meeting = meetingId ? await this.o.store.getOnlineMeeting(meetingId) : undefined;
    const spokenByClip = new Map<string, Spoken | null>();
    for (const e of events) {
      if (e.source?.type !== 'clip' || spokenByClip.has(e.source.mediaId)) continue;
      const text = await this.o.library.textOf(e.source.mediaId);
      const pcm = text === undefined ? undefined : await this.o.library.read(e.source.mediaId);
      spokenByClip.set(e.source.mediaId, text === undefined ? null : { text, durationMs: Math.round(((pcm?.length ?? 0) * 1000) / SAMPLE_RATE) });
    }
    const cues = transcriptCues({ roster, events, window, spoken: (s) => spokenOf(s, spokenByClip), knownNames: namesFrom(meeting) });
    const id = this.o.ids.next();
    const recordings = await this.o.store.recordingsByCall(call.id, 0, 100);
    // A transcript and the recording made over the same span share a contentCorrelationId (callTranscript docs).
    const overlapping = recordings.find((r) => r.createdAt < window.endedAt && r.endedAt > window.startedAt);
    return {
      id: meetingId
        ? b64(`1##0##${id}`)
        : b64(`3##19:${call.callChainId.replace(/-/g, '')}@thread.v2##${call.id}-${Math.floor(window.startedAt / 1000)}-TranscriptV2##0`),
      callId: call.id, tenantId: call.tenantId, meetingId, meetingOrganizer: meetingOrganizer(call, roster),
      contentCorrelationId: overlapping?.contentCorrelationId ?? this.o.ids.next(),
      createdAt: window.startedAt, endedAt: window.endedAt, cueGroupId: this.o.ids.next(), language: LANGUAGE, cues,
    };
  }
}

/**
 * What a source says: a speech clip's stored text (MediaLibrary.speak), or a source that carries its own
 * `text` (a speech source that needs no synthesiser). Tones, uploaded files and silence say nothing.
 */
function spokenOf(source: AudioSource, byClip: ReadonlyMap<string, Spoken | null>): Spoken | null {
  const own = source as { text?: unknown; durationMs?: unknown };
  if (typeof own.text === 'string') {
    const duration = typeof own.durationMs === 'number' ? own.durationMs : own.text.trim().split(/\s+/).length * MS_PER_WORD;
    return { text: own.text, durationMs: duration };
  }
  return source.type === 'clip' ? byClip.get(source.mediaId) ?? null : null;
}

function namesFrom(meeting: OnlineMeeting | undefined): Map<string, string> {
  const names = new Map<string, string>();
  if (!meeting) return names;
  for (const identity of [meeting.organizer, ...meeting.attendees.map((a) => a.identity)]) {
    const id = identity.user?.id;
    const name = speakerName(identity);
    if (typeof id === 'string' && name !== 'Unknown') names.set(id.toLowerCase(), name);
  }
  return names;
}
