import { open, rename } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { AudioSource, MediaEvent, Participant } from '../domain/call.js';
import { wavHeader } from './wav.js';
import { createMp3Encoder } from 'wasm-media-encoders';

export type RecordingFormat = 'wav' | 'mp3';

/** Turns rendered blocks into file bytes: PCM WAV, or MP3 through LAME compiled to WebAssembly (wasm-media-encoders). */
interface Sink {
  start(): Uint8Array;
  /** `mix` holds `n` frames of `channels` interleaved floats in -1..1; the bytes returned are the sink's own to reuse after the next call. */
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
  /** Final path; the file appears there only when complete. */
  outPath: string;
}

export interface RenderResult {
  sampleCount: number;
  channels: number;
  sizeBytes: number;
  etag: string;
}

const BLOCK = 16_000; // one second at 16 kHz: memory stays bounded whatever the length

/**
 * Renders a recording segment from the media timeline into a 16-bit PCM WAV, streaming block by block:
 * cost is proportional to the length, memory is constant, and every block's write yields to the event
 * loop. The file is written as `<path>.tmp`, fsynced and renamed, so a crash mid-render leaves no half file visible (the render job simply runs again).
 */
export async function renderSegment(o: RenderInput): Promise<RenderResult> {
  const toSample = (ms: number) => Math.round(((ms - o.startMs) * o.sampleRate) / 1000);
  const total = Math.max(0, toSample(o.endMs));
  const tracks = o.participants.map((p) => piecesFor(p, o.events.filter((e) => e.participantId === p.id), toSample, total));
  const format = o.format ?? 'wav';
  const channels = o.channels === 'mixed' || format === 'mp3' ? 1 : Math.max(1, tracks.length);
  // All file I/O is asynchronous (the fsync runs on libuv's pool), so a render never stalls requests.
  const tmp = `${o.outPath}.tmp`;
  const fh = await open(tmp, 'w');
  const hash = createHash('sha256');
  let size = 0;
  const emit = async (bytes: Uint8Array) => {
    if (bytes.length === 0) return;
    hash.update(bytes);
    size += bytes.length;
    await fh.write(bytes);
  };
  try {
    const sink = format === 'mp3' ? await mp3Sink(o.sampleRate) : wavSink(o.sampleRate, channels, total);
    await emit(sink.start());
    const mix = new Float32Array(BLOCK * channels);
    for (let b0 = 0; b0 < total; b0 += BLOCK) {
      const n = Math.min(BLOCK, total - b0);
      mix.fill(0, 0, n * channels);
      tracks.forEach((pieces, ti) => {
        const ch = channels === 1 ? 0 : ti;
        for (const piece of pieces) addPiece(mix, piece, b0, n, channels, ch, o.sampleRate, o.clip);
      });
      await emit(sink.write(mix, n));
    }
    await emit(sink.finish());
    await fh.datasync();
  } finally {
    await fh.close();
  }
  await rename(tmp, o.outPath);
  return { sampleCount: total, channels, sizeBytes: size, etag: `"${hash.digest('hex').slice(0, 32)}"` };
}

function wavSink(rate: number, channels: number, frames: number): Sink {
  const out = Buffer.alloc(BLOCK * channels * 2);
  return {
    start: () => wavHeader(rate, channels, frames),
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

async function mp3Sink(rate: number): Promise<Sink> {
  const encoder = await createMp3Encoder();
  encoder.configure({ sampleRate: rate, channels: 1, bitrate: 32 });
  return {
    start: () => new Uint8Array(0),
    // The encoder owns the buffer it returns until its next call: copy it out.
    write: (mix, n) => encoder.encode([mix.subarray(0, n)]).slice(),
    finish: () => encoder.finalize().slice(),
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
