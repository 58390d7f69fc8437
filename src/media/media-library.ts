import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { decodeWavToMono, WavError } from './wav.js';

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
 * 16-bit PCM under `<dir>/media/`, and cached in memory while in use.
 */
export class MediaLibrary {
  private readonly dir: string;
  private readonly cache = new Map<string, Int16Array>();

  constructor(recordingsRoot: string, readonly speech: SpeechEngine) {
    this.dir = join(recordingsRoot, 'media');
    mkdirSync(this.dir, { recursive: true });
  }

  addWav(wav: Buffer): { mediaId: string; durationMs: number } {
    let pcm: Int16Array;
    try {
      pcm = decodeWavToMono(wav, SAMPLE_RATE);
    } catch (err) {
      throw new MediaError(err instanceof WavError ? `the upload is not a usable WAV: ${err.message}` : String(err));
    }
    const mediaId = randomUUID();
    const file = join(this.dir, `${mediaId}.pcm`);
    writeFileSync(`${file}.tmp`, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength));
    renameSync(`${file}.tmp`, file);
    this.cache.set(mediaId, pcm);
    return { mediaId, durationMs: Math.round((pcm.length * 1000) / SAMPLE_RATE) };
  }

  async speak(text: string): Promise<{ mediaId: string; durationMs: number }> {
    if (!this.speech.available) {
      throw new MediaError(`speech needs ${this.speech.name}, which is not installed here (Debian: apt-get install espeak-ng); use a tone or upload a WAV instead`);
    }
    return this.addWav(await this.speech.synthesize(text));
  }

  has(mediaId: string): boolean {
    return this.cache.has(mediaId) || existsSync(join(this.dir, `${mediaId}.pcm`));
  }

  /** The clip's samples (16 kHz mono). */
  read(mediaId: string): Int16Array {
    let pcm = this.cache.get(mediaId);
    if (!pcm) {
      const buf = readFileSync(join(this.dir, `${mediaId}.pcm`));
      pcm = new Int16Array(buf.buffer, buf.byteOffset, Math.floor(buf.byteLength / 2));
      if (this.cache.size > 64) this.cache.clear();
      this.cache.set(mediaId, pcm);
    }
    return pcm;
  }
}
