/** Test-side audio analysis: WAV parsing and the Goertzel algorithm for tone detection. */

export interface Wav { sampleRate: number; channels: number; samples: Int16Array }

export function parseWav(buf: Buffer): Wav {
  if (buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new Error('not a WAV');
  let pos = 12;
  let sampleRate = 0, channels = 0;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') { channels = buf.readUInt16LE(pos + 10); sampleRate = buf.readUInt32LE(pos + 12); }
    if (id === 'data') {
      const data = buf.subarray(pos + 8, pos + 8 + size);
      return { sampleRate, channels, samples: new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) };
    }
    pos += 8 + size + (size % 2);
  }
  throw new Error('no data chunk');
}

/** One channel of interleaved samples. */
export function channel(w: Wav, ch: number): Int16Array {
  if (w.channels === 1) return w.samples;
  const out = new Int16Array(w.samples.length / w.channels);
  for (let i = 0; i < out.length; i++) out[i] = w.samples[i * w.channels + ch]!;
  return out;
}

/** Relative power of `freq` in `x[from, to)` (Goertzel), normalised so a full-scale sine gives ~0.25·A². */
export function goertzel(x: Int16Array, from: number, to: number, freq: number, rate: number): number {
  const n = to - from;
  const k = Math.round((n * freq) / rate);
  const w = (2 * Math.PI * k) / n;
  const coeff = 2 * Math.cos(w);
  let s1 = 0, s2 = 0;
  for (let i = from; i < to; i++) {
    const s0 = x[i]! / 32768 + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (n * n);
}

/** Root-mean-square level of `x[from, to)`, 0..1. */
export function rms(x: Int16Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (x[i]! / 32768) ** 2;
  return Math.sqrt(sum / Math.max(1, to - from));
}
