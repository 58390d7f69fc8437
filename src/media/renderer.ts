import { createHash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { AudioSource, MediaEvent, Participant } from '../domain/call.js';
import type { ByteSink } from './byte-sink.js';
import { wavHeader } from './wav.js';
import { createMp3Encoder } from 'wasm-media-encoders';

export type RecordingFormat = 'wav' | 'mp3';

/** Turns rendered blocks into file bytes: PCM WAV, or MP3 through LAME compiled to WebAssembly (wasm-media-encoders). */
interface Encoder {
  /** The total length in bytes when the format knows it before encoding (WAV), else null. */
  readonly totalBytes: number | null;
  start(): Uint8Array;
  /** `mix` holds `n` frames of `channels` interleaved floats in -1..1; the bytes returned are the encoder's own to reuse after the next call. */
  write(mix: Float32Array, n: number): Uint8Array;
  finish(): Uint8Array;
}

/** One participant's audio over time, as pieces [from, to) in absolute sample indexes. */
interface Piece { from: number; to: number; source: AudioSource; sourceStart: number }

export interface RenderInput {
  /** Segment bounds in ms (the call's clock). */
  startMs: number;
  endMs: number;
  participants: Participant[];
  events: MediaEvent[];
  sampleRate: number;
  /** Mixed (one channel) or one channel per participant, in roster order. */
  channels: 'mixed' | 'perParticipant';
  /** wav (default) or mp3 (mixed only: MP3 carries at most two channels). */
  format?: RecordingFormat;
  clip(mediaId: string): Int16Array;
  /** Receives the file's bytes in order, block by block (byte-sink.ts). */
  out: ByteSink;
}

export interface RenderResult {
  sampleCount: number;
  channels: number;
  sizeBytes: number;
  etag: string;
}

const BLOCK = 16_000; // one second at 16 kHz: memory stays bounded whatever the length

/**
 * Renders a recording segment from the media timeline into a 16-bit PCM WAV (or an MP3), streaming block by
 * block into `o.out`: cost is proportional to the length and the renderer's own memory is constant (what
 * the sink keeps is the sink's business). Nothing touches the disk: the callers store the bytes in the
 * database, so a crash mid-render leaves nothing behind and the render job simply runs again.
 */
export async function renderSegment(o: RenderInput): Promise<RenderResult> {
  const toSample = (ms: number) => Math.round(((ms - o.startMs) * o.sampleRate) / 1000);
  const total = Math.max(0, toSample(o.endMs));
  const tracks = o.participants.map((p) => piecesFor(p, o.events.filter((e) => e.participantId === p.id), toSample, total));
  const format = o.format ?? 'wav';
  const channels = o.channels === 'mixed' || format === 'mp3' ? 1 : Math.max(1, tracks.length);
  const hash = createHash('sha256');
  let size = 0;
  const emit = async (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    hash.update(bytes);
    size += bytes.length;
    const pending = o.out.write(bytes);
    if (pending) await pending;
  };
  const encoder = format === 'mp3' ? await mp3Encoder(o.sampleRate) : wavEncoder(o.sampleRate, channels, total);
  if (encoder.totalBytes !== null) o.out.expect?.(encoder.totalBytes);
  await emit(encoder.start());
  const mix = new Float32Array(BLOCK * channels);
  for (let b0 = 0; b0 < total; b0 += BLOCK) {
    // A block is one second of audio, about a millisecond of work: the event loop gets a turn before each
    // one after the first, so requests are served between blocks however long the recording (an hour is
    // 3,600 turns). The file version got these turns from awaiting each block's write.
    if (b0 > 0) await nextTurn();
    const n = Math.min(BLOCK, total - b0);
    mix.fill(0, 0, n * channels);
    tracks.forEach((pieces, ti) => {
      const ch = channels === 1 ? 0 : ti;
      for (const piece of pieces) addPiece(mix, piece, b0, n, channels, ch, o.sampleRate, o.clip);
    });
    await emit(encoder.write(mix, n));
  }
  await emit(encoder.finish());
  return { sampleCount: total, channels, sizeBytes: size, etag: `"${hash.digest('hex').slice(0, 32)}"` };
}

function wavEncoder(rate: number, channels: number, frames: number): Encoder {
  const out = Buffer.alloc(BLOCK * channels * 2);
  const header = wavHeader(rate, channels, frames);
  return {
    totalBytes: header.length + frames * channels * 2,
    start: () => header,
    write(mix, n) {
      for (let i = 0; i < n * channels; i++) {
        const v = Math.round(mix[i]! * 32767);
        out.writeInt16LE(v > 32767 ? 32767 : v < -32768 ? -32768 : v, i * 2);
      }
      return out.subarray(0, n * channels * 2);
    },
    finish: () => new Uint8Array(0),
  };
}

async function mp3Encoder(rate: number): Promise<Encoder> {
  const encoder = await createMp3Encoder();
  encoder.configure({ sampleRate: rate, channels: 1, bitrate: 32 });
  return {
    totalBytes: null,
    start: () => new Uint8Array(0),
    // A view of the encoder's memory, valid until its next call: the renderer hands it to the sink (which
    // copies what it keeps) before encoding the next block, so no copy is needed here.
    write: (mix, n) => encoder.encode([mix.subarray(0, n)]),
    finish: () => encoder.finalize(),
  };
}

/** Presence (joined..left), sources and mutes → audible pieces in segment samples. */
function piecesFor(p: Participant, events: MediaEvent[], toSample: (ms: number) => number, total: number): Piece[] {
  const presentFrom = Math.max(0, toSample(p.joinedAt));
  const presentTo = Math.min(total, p.leftAt === null ? total : toSample(p.leftAt));
  if (presentTo <= presentFrom) return [];
  // Walk the timeline: each change closes the current piece.
  const pieces: Piece[] = [];
  let source: AudioSource = { type: 'silence' };
  let sourceStart = toSample(p.joinedAt);
  let muted = false;
  let at = Number.NEGATIVE_INFINITY;
  const flush = (until: number) => {
    const from = Math.max(at, presentFrom), to = Math.min(until, presentTo);
    if (to > from && !muted && source.type !== 'silence') pieces.push({ from, to, source, sourceStart });
  };
  for (const e of [...events].sort((a, b) => a.at - b.at)) {
    const t = toSample(e.at);
    flush(t);
    at = t;
    if (e.kind === 'source' && e.source) { source = e.source; sourceStart = t; }
    if (e.kind === 'mute') muted = e.muted ?? true;
  }
  flush(Number.POSITIVE_INFINITY);
  return pieces;
}

function addPiece(mix: Float32Array, piece: Piece, b0: number, n: number, channels: number, ch: number, rate: number,
  clip: (id: string) => Int16Array): void {
  const from = Math.max(piece.from, b0), to = Math.min(piece.to, b0 + n);
  if (to <= from) return;
  const s = piece.source;
  if (s.type === 'tone') {
    // A rotating phasor (two multiplies a sample); its start is exact per block, so no drift accumulates.
    const w = (2 * Math.PI * s.frequencyHz) / rate;
    const phase0 = w * (from - piece.sourceStart);
    let re = Math.cos(phase0), im = Math.sin(phase0);
    const c = Math.cos(w), sn = Math.sin(w);
    for (let i = from; i < to; i++) {
      mix[(i - b0) * channels + ch]! += s.amplitude * im;
      const nre = re * c - im * sn;
      im = re * sn + im * c;
      re = nre;
    }
  } else if (s.type === 'clip') {
    const pcm = clip(s.mediaId);
    const len = pcm.length;
    if (len === 0) return;
    const k = s.amplitude / 32768;
    for (let i = from; i < to; i++) {
      let j = i - piece.sourceStart;
      if (j >= len) {
        if (!s.loop) break;
        j %= len;
      }
      mix[(i - b0) * channels + ch]! += pcm[j]! * k;
    }
  }
}
