/** RIFF/WAVE PCM 16-bit: the header for a known length, and a decoder to 16 kHz mono. */

export function wavHeader(sampleRate: number, channels: number, sampleFrames: number): Buffer {
  const dataBytes = sampleFrames * channels * 2;
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(channels, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * channels * 2, 28);
  h.writeUInt16LE(channels * 2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

export class WavError extends Error {}

/** Decodes a 16-bit PCM WAV (any rate, any channel count) to mono at `targetRate` (linear resampling). */
export function decodeWavToMono(buf: Buffer, targetRate: number): Int16Array {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') throw new WavError('not a RIFF/WAVE file');
  let pos = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  let data: Buffer | null = null;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4);
    let size = buf.readUInt32LE(pos + 4);
    const body = pos + 8;
    // Streamed WAVs (espeak-ng --stdout) leave the data size unset: take the rest of the file.
    if (id === 'data' && (size === 0 || size === 0xffffffff || body + size > buf.length)) size = buf.length - body;
    if (id === 'fmt ') fmt = { format: buf.readUInt16LE(body), channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    if (id === 'data') data = buf.subarray(body, body + size);
    pos = body + size + (size % 2);
  }
  if (!fmt || !data) throw new WavError('missing fmt or data chunk');
  if (fmt.format !== 1 || fmt.bits !== 16) throw new WavError(`only 16-bit PCM WAV is supported (format ${fmt.format}, ${fmt.bits} bits)`);
  if (fmt.channels < 1 || fmt.rate < 1000) throw new WavError('invalid channel count or sample rate');
  const frames = Math.floor(data.length / (2 * fmt.channels));
  const mono = new Float64Array(frames);
  for (let i = 0; i < frames; i++) {
    let sum = 0;
    for (let c = 0; c < fmt.channels; c++) sum += data.readInt16LE((i * fmt.channels + c) * 2);
    mono[i] = sum / fmt.channels;
  }
  if (fmt.rate === targetRate) return Int16Array.from(mono, (v) => Math.round(v));
  const outLen = Math.floor((frames * targetRate) / fmt.rate);
  const out = new Int16Array(outLen);
  const step = fmt.rate / targetRate;
  for (let i = 0; i < outLen; i++) {
    const x = i * step;
    const i0 = Math.floor(x);
    const f = x - i0;
    const a = mono[i0] ?? 0, b = mono[i0 + 1] ?? a;
    out[i] = Math.round(a + (b - a) * f);
  }
  return out;
}
