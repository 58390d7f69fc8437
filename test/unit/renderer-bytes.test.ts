import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { MediaEvent } from '../../src/domain/call.js';
import { MemorySink, type ByteSink } from '../../src/media/byte-sink.js';
import { renderSegment, type RenderInput, type RenderResult } from '../../src/media/renderer.js';
import { newParticipant } from '../support/factories.js';

const RATE = 16_000;
// A clip shorter than a block, so loops wrap inside blocks and across them.
const CLIP = Int16Array.from({ length: 7001 }, (_, i) => Math.round(9000 * Math.sin((2 * Math.PI * 310 * i) / RATE) + ((i * 37) % 2001) - 1000));
const ev = (participantId: string, at: number, e: Partial<MediaEvent>): MediaEvent => ({ callId: 'c', participantId, at, kind: 'source', ...e });

/**
 * A timeline that exercises every path of the mixer: tones, a looping and a one-shot clip, silence, mutes, a
 * late join and an early leave, a segment that starts mid-call and ends mid-block (3.25 blocks).
 */
function scenario(): Omit<RenderInput, 'channels' | 'format' | 'out'> {
  const participants = [
    newParticipant('c', { id: 'a', seq: 0, joinedAt: 0, leftAt: null }),
    newParticipant('c', { id: 'b', seq: 1, joinedAt: 1200, leftAt: 3900 }),
    newParticipant('c', { id: 'c', seq: 2, joinedAt: 0, leftAt: null }),
  ];
  const events: MediaEvent[] = [
    ev('a', 0, { source: { type: 'tone', frequencyHz: 440, amplitude: 0.3 } }),
    ev('a', 1700, { kind: 'mute', muted: true }),
    ev('a', 2100, { kind: 'mute', muted: false }),
    ev('a', 2600, { source: { type: 'clip', mediaId: 'm', amplitude: 0.8, loop: false } }),
    ev('b', 1200, { source: { type: 'clip', mediaId: 'm', amplitude: 1, loop: true } }),
    ev('c', 500, { source: { type: 'tone', frequencyHz: 1000, amplitude: 0.9 } }),
    ev('c', 1000, { source: { type: 'tone', frequencyHz: 1234.5, amplitude: 0.95 } }), // a + c clip in places
    ev('c', 3000, { source: { type: 'silence' } }),
    ev('c', 3500, { kind: 'tone', tone: 'tone5' }),
  ];
  return { startMs: 800, endMs: 800 + 3250, participants, events, sampleRate: RATE, clip: (id) => (id === 'm' ? CLIP : new Int16Array(0)) };
}

/** Renders into a MemorySink (as the recorder does) and returns the bytes it collected with the result. */
async function render(o: Omit<RenderInput, 'out'>): Promise<{ bytes: Buffer; r: RenderResult }> {
  const out = new MemorySink();
  const r = await renderSegment({ ...o, out });
  return { bytes: out.bytes(), r };
}

/** A sink that keeps a copy of each write and nothing else (no `expect`): the blocks as the renderer sent them. */
function blockSink(): ByteSink & { blocks: Buffer[] } {
  const blocks: Buffer[] = [];
  return { blocks, write: (b) => { blocks.push(Buffer.from(b)); } };
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * Golden values: what the file-writing renderer (before the renderer streamed to a sink) produced for these
 * inputs. A change to the renderer's output, or to its etag rule, fails here.
 */
const GOLDEN = {
  wavMixed: { sha256: '486e7493471879fb8182e1bbbafc0a3bccb8c7b94d06fdbf46c050ed1eca8e44', sizeBytes: 104_044, sampleCount: 52_000, channels: 1 },
  wavPerParticipant: { sha256: 'fd7303a1c2b056a0b4cfbea2f222eec140d273e06adbdf5ad50cc2cfe4de3613', sizeBytes: 312_044, sampleCount: 52_000, channels: 3 },
  mp3: { sha256: '093c44c52ebd65ea1a85c4639c561a89f0a951ee9591c82edb10e383b4d4078e', sizeBytes: 13_392, sampleCount: 52_000, channels: 1 },
  empty: { sha256: 'a1078db1edfe0b9ba16fc865e74e333c11f3e0711977f696461b6b349a3a0fc7', sizeBytes: 44, sampleCount: 0, channels: 3 },
};

const cases: Array<[keyof typeof GOLDEN, Omit<RenderInput, 'out'>]> = [
  ['wavMixed', { ...scenario(), channels: 'mixed', format: 'wav' }],
  ['wavPerParticipant', { ...scenario(), channels: 'perParticipant', format: 'wav' }],
  ['mp3', { ...scenario(), channels: 'mixed', format: 'mp3' }],
  ['empty', { ...scenario(), endMs: 800, channels: 'perParticipant', format: 'wav' }],
];

for (const [name, input] of cases) {
  test(`renderSegment ${name}: the same bytes, size, counts and etag as the file-writing renderer`, async () => {
    const { bytes, r } = await render(input);
    const g = GOLDEN[name];
    assert.equal(sha256(bytes), g.sha256);
    assert.equal(r.sizeBytes, bytes.length);
    assert.equal(r.sizeBytes, g.sizeBytes);
    assert.equal(r.sampleCount, g.sampleCount);
    assert.equal(r.channels, g.channels);
    // The etag is the content hash's first 128 bits, quoted: same bytes, same etag.
    assert.equal(r.etag, `"${g.sha256.slice(0, 32)}"`);
    // A sink without `expect` (blocks concatenated) receives the same bytes.
    const plain = blockSink();
    const again = await renderSegment({ ...input, out: plain });
    assert.equal(sha256(Buffer.concat(plain.blocks)), g.sha256);
    assert.deepEqual(again, r);
  });
}

test('renderSegment streams: one write per block after the header, and the event loop turns between blocks', async () => {
  const seconds = 60;
  const sink = blockSink();
  let turns = 0;
  let done = false;
  const tick = () => { turns++; if (!done) setImmediate(tick); };
  setImmediate(tick);
  const r = await renderSegment({ ...scenario(), startMs: 0, endMs: seconds * 1000, channels: 'mixed', format: 'wav', out: sink });
  done = true;
  // The header, then one block per second of audio, none larger than a block.
  assert.equal(sink.blocks.length, 1 + seconds);
  assert.ok(sink.blocks.slice(1).every((b) => b.length === RATE * 2));
  assert.equal(r.sizeBytes, 44 + seconds * RATE * 2);
  // Requests (here: a ticker on the check phase) run between blocks: a long render never holds the loop.
  assert.ok(turns >= seconds - 1, `${turns} turns of the event loop during ${seconds} blocks`);
});

test('renderSegment waits for a sink that pushes back, and hands it a buffer it reuses (a sink that keeps bytes must copy)', async () => {
  let inFlight = false;
  const views: Uint8Array[] = [];
  const copies: Buffer[] = [];
  const slow: ByteSink = {
    async write(b) {
      assert.equal(inFlight, false, 'no write while the previous one is pending');
      inFlight = true;
      views.push(b);
      copies.push(Buffer.from(b));
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight = false;
    },
  };
  await renderSegment({ ...scenario(), channels: 'perParticipant', format: 'wav', out: slow });
  assert.equal(sha256(Buffer.concat(copies)), GOLDEN.wavPerParticipant.sha256);
  // The blocks were written through one reused buffer, so the views kept without copying no longer hold them.
  assert.notEqual(sha256(Buffer.concat(views)), GOLDEN.wavPerParticipant.sha256);
});

test('MemorySink: an announced length is allocated once and must be filled exactly', () => {
  const full = new MemorySink();
  full.expect(4);
  full.write(Uint8Array.of(1, 2));
  assert.throws(() => full.bytes(), /2 of the 4 bytes/, 'unwritten memory is never handed out');
  full.write(Uint8Array.of(3, 4));
  assert.deepEqual([...full.bytes()], [1, 2, 3, 4]);
  assert.throws(() => full.write(Uint8Array.of(5)), /more than the 4 bytes/);
  const open = new MemorySink();
  const reused = Uint8Array.of(1, 2);
  open.write(reused);
  reused[0] = 9;
  open.write(reused);
  assert.deepEqual([...open.bytes()], [1, 2, 9, 2], 'each write is copied');
  assert.throws(() => open.expect(4), /after a write/);
});
