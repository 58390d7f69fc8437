import type { AudioSource, MediaEvent, Participant } from './call.js';

/**
 * Service-hosted media (call-playprompt, call-record / recordResponse, call-cancelmediaprocessing,
 * call-subscribetotone, call-senddtmftones docs): the types, constants and pure timeline analysis the
 * media commands share. Every choice Graph leaves open is here, with its row in docs/fidelity.md
 * ("Media actions").
 */

export type MediaOperationType =
  | 'playPromptOperation' | 'recordOperation' | 'subscribeToToneOperation' | 'cancelMediaProcessingOperation' | 'sendDtmfTonesOperation';

/** mediaStep: the next step of the call's media queue (or of a sendDtmfTones); renderRecordResponse: the WAV of a finished record; farSideTone: a scripted key press. */
export type MediaJobKind = 'mediaStep' | 'renderRecordResponse' | 'farSideTone';

/** Graph `tone` enum (v1.0 and beta metadata). */
export const TONES = ['tone0', 'tone1', 'tone2', 'tone3', 'tone4', 'tone5', 'tone6', 'tone7', 'tone8', 'tone9', 'star', 'pound', 'a', 'b', 'c', 'd', 'flash'] as const;
export type Tone = (typeof TONES)[number];

const KEY_TONES: Record<string, Tone> = { '*': 'star', '#': 'pound' };
for (let d = 0; d <= 9; d++) KEY_TONES[String(d)] = `tone${d}` as Tone;

/**
 * A tone named as Graph's enum (`tone1`, `pound`, any case) or as the key (`1`, `#`, `*`, `A`), which the
 * recordResponse samples use in `stopTones`. Null when it is neither.
 */
export function toneOf(value: string): Tone | null {
  const v = value.trim().toLowerCase();
  if ((TONES as readonly string[]).includes(v)) return v as Tone;
  return KEY_TONES[v] ?? null;
}

/** One prompt to play: a resolved audio source with its length, or unresolved (the operation then fails). */
export interface PromptClip {
  uri: string;
  source: AudioSource | null;
  durationMs: number;
}

export interface RecordSettings {
  bargeInAllowed: boolean;
  initialSilenceTimeoutMs: number;
  maxSilenceTimeoutMs: number;
  maxRecordDurationMs: number;
  playBeep: boolean;
  /** Normalised to Graph tone names; entries that name no key never match. */
  stopTones: string[];
}

export type MediaPhase = 'queued' | 'prompting' | 'recording' | 'rendering' | 'done';

/** What a media operation asked for and how far it got; stored with the operation. */
export interface MediaOperationState {
  kind: 'playPrompt' | 'record' | 'sendDtmfTones';
  prompts: PromptClip[];
  /** playPrompt (beta `loop`): the prompts repeat until cancelMediaProcessing. */
  loop: boolean;
  record: RecordSettings | null;
  phase: MediaPhase;
  promptIndex: number;
  /** When the record window opens (after the prompts and the beep) and closes. */
  recordStartAt: number | null;
  recordEndAt: number | null;
  /** playPromptCompletionReason / recordCompletionReason / sendDtmfCompletionReason. */
  completionReason: string | null;
  recordingLocation: string | null;
  recordingAccessToken: string | null;
  /** scheme://host[:port] the request came to: recordingLocation points back at this server. */
  origin: string;
}

/** The call's media queue (playPrompt and record run one at a time, in order) and its tone subscription. */
export interface CallMediaState {
  queue: string[];
  toneSubscribed: boolean;
  /** toneInfo.sequenceId of the last tone delivered (the first is 1). */
  toneSequence: number;
  lastTone: { sequenceId: number; tone: string } | null;
}

export const NO_MEDIA: CallMediaState = { queue: [], toneSubscribed: false, toneSequence: 0, lastTone: null };

/** recordResponse defaults and limits (v1.0 call-record page: default 5 s, 1–120 s; beta's sample asks 1800 s of maxRecordDuration). */
export const RECORD_LIMITS = {
  defaultSeconds: 5,
  minSeconds: 1,
  maxSeconds: 120,
  betaMaxRecordDurationSeconds: 7200,
};

/** INFERRED: the beep Graph plays before recording (playBeep, default true): 500 ms at 1 kHz. */
export const BEEP = { frequencyHz: 1000, amplitude: 0.3, durationMs: 500 };
/** INFERRED: how long each DTMF key of sendDtmfTones / a far-side key press lasts, and the default gap. */
export const DTMF_TONE_MS = 100;
export const DTMF_DEFAULT_GAP_MS = 100;
/** How often a running record looks at the far side's audio: the decision time is exact, its notification this late at most. */
export const RECORD_TICK_MS = 200;
/** A prompt that plays forever (loop without end) is stepped through in pieces of at most this length. */
export const MAX_STEP_MS = 60 * 60_000;

/** A span [from, to) in ms on the call's clock. */
export interface Span { from: number; to: number }

/**
 * When anyone on the far side is audible within [from, to), from the media timeline: a participant is
 * silent while absent, muted, on source `silence`, or past the end of a clip that does not loop. Clip
 * lengths come from `clipMs` (undefined = unknown: audible throughout).
 */
export function farSideSpeech(events: readonly MediaEvent[], farSide: readonly Participant[], from: number, to: number,
  clipMs: (mediaId: string) => number | undefined): Span[] {
  const spans: Span[] = [];
  for (const p of farSide) {
    const present: Span = { from: Math.max(from, p.joinedAt), to: Math.min(to, p.leftAt ?? Number.POSITIVE_INFINITY) };
    if (present.to <= present.from) continue;
    let source: AudioSource = { type: 'silence' };
    let sourceAt = p.joinedAt;
    let muted = false;
    let at = Number.NEGATIVE_INFINITY;
    const flush = (until: number) => {
      if (muted || source.type === 'silence') return;
      let end = until;
      if (source.type === 'clip' && !source.loop) {
        const len = clipMs(source.mediaId);
        if (len !== undefined) end = Math.min(end, sourceAt + len);
      }
      const s = Math.max(at, present.from), e = Math.min(end, present.to);
      if (e > s) spans.push({ from: s, to: e });
    };
    for (const e of events.filter((x) => x.participantId === p.id && x.kind !== 'tone').sort((a, b) => a.at - b.at)) {
      flush(e.at);
      at = e.at;
      if (e.kind === 'source' && e.source) { source = e.source; sourceAt = e.at; }
      if (e.kind === 'mute') muted = e.muted ?? true;
    }
    flush(Number.POSITIVE_INFINITY);
  }
  spans.sort((a, b) => a.from - b.from);
  const merged: Span[] = [];
  for (const s of spans) {
    const last = merged[merged.length - 1];
    if (last && s.from <= last.to) last.to = Math.max(last.to, s.to);
    else merged.push({ ...s });
  }
  return merged;
}

export type RecordEnd = { endAt: number; reason: 'initialSilenceTimeout' | 'maxSilenceTimeout' | 'maxRecordDurationReached' };

/**
 * Whether a record that opened at `start` has ended by `now`, and when and why: no speech within the
 * initial silence timeout; a pause after speech as long as the max silence timeout; or the max duration.
 * The earliest of these that has passed wins; its time is exact whatever `now` is.
 */
export function recordEnd(speech: readonly Span[], start: number, now: number, s: RecordSettings): RecordEnd | null {
  const candidates: RecordEnd[] = [{ endAt: start + s.maxRecordDurationMs, reason: 'maxRecordDurationReached' }];
  const heard = speech.filter((x) => x.to > start).map((x) => ({ from: Math.max(x.from, start), to: x.to }));
  if (heard.length === 0 || heard[0]!.from >= start + s.initialSilenceTimeoutMs) {
    candidates.push({ endAt: start + s.initialSilenceTimeoutMs, reason: 'initialSilenceTimeout' });
  } else {
    for (let i = 0; i < heard.length; i++) {
      const pauseEnd = heard[i + 1]?.from ?? Number.POSITIVE_INFINITY;
      if (pauseEnd - heard[i]!.to >= s.maxSilenceTimeoutMs) {
        candidates.push({ endAt: heard[i]!.to + s.maxSilenceTimeoutMs, reason: 'maxSilenceTimeout' });
        break;
      }
    }
  }
  const first = candidates.sort((a, b) => a.endAt - b.endAt)[0]!;
  return first.endAt <= now ? first : null;
}

/** Graph's completionReason for a cancelled operation of each type (the enums differ). */
export function cancelledReason(kind: MediaOperationState['kind']): string {
  return kind === 'record' ? 'operationCanceled' : 'mediaOperationCanceled';
}
