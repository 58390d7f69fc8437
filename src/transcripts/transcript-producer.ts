import type { AudioSource, IdentitySet, MediaEvent, Participant } from '../domain/call.js';
import type { TranscriptCue } from '../domain/meeting.js';

/** A span of the call that was transcribed (the call's clock, ms). */
export interface TranscriptionWindow {
  startedAt: number;
  endedAt: number;
}

/** What a speech source says, and how long saying it takes. */
export interface Spoken {
  text: string;
  durationMs: number;
}

export interface ProduceInput {
  /** Everyone who was in the call, left or not (roster order). */
  roster: Participant[];
  events: MediaEvent[];
  window: TranscriptionWindow;
  /** The text of a speech source, or null for tones, uploaded files and silence (they say nothing). */
  spoken(source: AudioSource): Spoken | null;
  /** Display names Teams knows besides the identities' own (the meeting organizer's), by user id. */
  knownNames?: ReadonlyMap<string, string>;
}

/** A looping speech source repeats; a transcript stays bounded whatever the loop or the call's length. */
const MAX_CUES = 10_000;

/**
 * The speaker as Teams names them: the display name of the participant's identity (user first, then the
 * other identity kinds), else a name Teams knows from the directory (here, the meeting organizer's), else
 * "Unknown" (INFERRED: Teams' label for an unattributed speaker is undocumented; docs/fidelity.md).
 */
export function speakerName(identity: IdentitySet, known?: ReadonlyMap<string, string>): string {
  for (const kind of ['user', 'guest', 'application', 'applicationInstance', 'device', 'phone', 'acsUser', 'spoolUser', 'encrypted']) {
    const name = identity[kind]?.displayName;
    if (typeof name === 'string' && name.trim()) return name.trim();
  }
  const id = identity.user?.id;
  if (typeof id === 'string' && known?.get(id.toLowerCase())) return known.get(id.toLowerCase())!;
  const phone = identity.phone?.id;
  return typeof phone === 'string' && phone ? phone : 'Unknown';
}

/**
 * The cues of one transcription window, from the media timeline: each time a participant's source becomes
 * a speech source, its text is one utterance from that moment for as long as it is spoken — cut short by
 * the participant's next source, a mute, leaving, or the end of the window (the text stays whole: an
 * utterance is attributed as a unit). An utterance begun while muted is not heard, so not transcribed.
 * Cue times are relative to the window's start; cues are ordered by start, then roster order.
 */
export function transcriptCues(i: ProduceInput): TranscriptCue[] {
  const { startedAt, endedAt } = i.window;
  const out: Array<TranscriptCue & { seq: number }> = [];
  for (const p of i.roster) {
    const speaker = speakerName(p.info.identity, i.knownNames);
    const leftAt = p.leftAt ?? Number.POSITIVE_INFINITY;
    const mine = i.events.filter((e) => e.participantId === p.id).sort((a, b) => a.at - b.at);
    let muted = false;
    // The utterance(s) the current source is saying: from `at`, each `durationMs` long (repeating if it loops).
    let current: { at: number; spoken: Spoken; loop: boolean } | null = null;
    const close = (until: number) => {
      if (!current) return;
      const { at, spoken, loop } = current;
      const stop = Math.min(until, leftAt, endedAt);
      const step = Math.max(1, spoken.durationMs);
      for (let s = at; s < stop && out.length < MAX_CUES; s += step) {
        if (s >= startedAt) out.push({ startMs: s - startedAt, endMs: Math.min(s + step, stop) - startedAt, speaker, text: spoken.text, seq: p.seq });
        if (!loop) break;
      }
      current = null;
    };
    for (const e of mine) {
      if (e.kind === 'mute') {
        if (e.muted ?? true) close(e.at);
        muted = e.muted ?? true;
        continue;
      }
      if (e.kind !== 'source' || !e.source) continue;
      close(e.at);
      const spoken = i.spoken(e.source);
      if (spoken && !muted && spoken.text.trim()) current = { at: e.at, spoken, loop: e.source.type === 'clip' && e.source.loop };
    }
    close(Number.POSITIVE_INFINITY);
  }
  return out
    .sort((a, b) => a.startMs - b.startMs || a.seq - b.seq)
    .slice(0, MAX_CUES)
    .map(({ seq: _seq, ...cue }) => cue);
}
