import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import type { MediaEvent } from '../domain/call.js';
import type { ConfigStore } from '../domain/ports.js';
import { decodeWavToMono, WavError } from './wav.js';
import { remember } from '../shared/bounded-map.js';

export const SAMPLE_RATE = 16_000;

/** Speech synthesis behind a port: espeak-ng when installed, absent otherwise. */
export interface SpeechEngine {
  readonly available: boolean;
  readonly name: string;
  /** A WAV of `text` spoken. */
  synthesize(text: string): Promise<Buffer>;
}

export function espeakNg(binary = 'espeak-ng'): SpeechEngine {
  const paths = (process.env.PATH ?? '').split(':').map((d) => join(d, binary));
  const available = paths.some((p) => existsSync(p));
  return {
    available,
    name: 'espeak-ng',
    synthesize: (text) => new Promise((resolve, reject) => {
      const child = spawn(binary, ['--stdout', '-v', 'en-us', '-s', '160', text], { stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', reject);
      child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`espeak-ng exited ${code}: ${Buffer.concat(err).toString()}`))));
    }),
  };
}

export class MediaError extends Error {}

/**
 * Audio clips participants can play: uploaded WAVs and synthesised speech, stored once as 16 kHz mono
 * 16-bit PCM in the config store (`media:<id>`), so a clip uploaded through one instance plays in calls
 * on every instance; a bounded in-memory cache keeps the clips in use.
 */
export class MediaLibrary {
  private readonly cache = new Map<string, Int16Array>();

  constructor(private readonly store: ConfigStore, readonly speech: SpeechEngine) {}

  async addWav(wav: Buffer): Promise<{ mediaId: string; durationMs: number }> {
    let pcm: Int16Array;
    try {
      pcm = decodeWavToMono(wav, SAMPLE_RATE);
    } catch (err) {
      throw new MediaError(err instanceof WavError ? `the upload is not a usable WAV: ${err.message}` : String(err));
    }
    const mediaId = randomUUID();
    await this.store.putBlob(`media:${mediaId}`, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    this.remember(mediaId, pcm);
    return { mediaId, durationMs: Math.round((pcm.length * 1000) / SAMPLE_RATE) };
  }

  async speak(text: string): Promise<{ mediaId: string; durationMs: number }> {
    if (!this.speech.available) {
      throw new MediaError(`speech needs ${this.speech.name}, which is not installed here (Debian: apt-get install espeak-ng); use a tone or upload a WAV instead`);
    }
    const clip = await this.addWav(await this.speech.synthesize(text));
    // The text is kept with the clip: transcripts are made from what was said, not by recognising audio.
    await this.store.setValue(`media-text:${clip.mediaId}`, text);
    return clip;
  }

  /** The text a speech clip says, or undefined for uploaded audio (which says nothing a transcript can know). */
  textOf(mediaId: string): Promise<string | undefined> {
    return this.store.getValue(`media-text:${mediaId}`);
  }

  async has(mediaId: string): Promise<boolean> {
    return (await this.read(mediaId)) !== undefined;
  }

  /** The clip's samples (16 kHz mono), or undefined for an unknown id. */
  async read(mediaId: string): Promise<Int16Array | undefined> {
    let pcm = this.cache.get(mediaId);
    if (!pcm) {
      const buf = await this.store.getBlob(`media:${mediaId}`);
      if (!buf) return undefined;
      pcm = new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 2));
      this.remember(mediaId, pcm);
    }
    return pcm;
  }

  /** Every clip a media timeline plays, loaded before a render (which reads them synchronously). */
  async clipsFor(events: readonly MediaEvent[]): Promise<Map<string, Int16Array>> {
    const out = new Map<string, Int16Array>();
    for (const e of events) {
      if (e.source?.type !== 'clip' || out.has(e.source.mediaId)) continue;
      out.set(e.source.mediaId, (await this.read(e.source.mediaId)) ?? new Int16Array(0));
    }
    return out;
  }

  private remember(mediaId: string, pcm: Int16Array): void {
    remember(this.cache, mediaId, pcm, 64);
  }
}
