/**
 * Recording render speed and memory: a three-party recording rendered from a media timeline, in
 * multiples of real time, and peak memory for a short and a long recording (it should not grow with
 * length: rendering streams one-second blocks to disk).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { MediaEvent, Participant } from '../src/domain/call.js';
import { renderSegment } from '../src/media/renderer.js';

const RATE = 16_000;
const dir = mkdtempSync(join(tmpdir(), 'graph-calls-render-'));
const clip = Int16Array.from({ length: RATE * 3 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / RATE)));

function scenario(minutes: number): { participants: Participant[]; events: MediaEvent[]; endMs: number } {
  const endMs = minutes * 60_000;
  const part = (id: string, seq: number): Participant => ({
    id, callId: 'c', seq, info: { identity: { user: { id, displayName: id } } }, isMuted: false, isInLobby: false, isBot: false,
    recordingInfo: null, joinedAt: 0, leftAt: null,
  });
  const participants = [part('alice', 0), part('bob', 1), part('carol', 2)];
  const events: MediaEvent[] = [];
  // Everyone changes what they send every 30 s: tones, a looping clip, silence, a mute now and then.
  for (let t = 0, k = 0; t < endMs; t += 30_000, k++) {
    events.push({ callId: 'c', participantId: 'alice', at: t, kind: 'source', source: { type: 'tone', frequencyHz: 300 + (k % 7) * 50, amplitude: 0.2 } });
    events.push({ callId: 'c', participantId: 'bob', at: t, kind: 'source', source: k % 2 ? { type: 'silence' } : { type: 'clip', mediaId: 'm', amplitude: 1, loop: true } });
    events.push({ callId: 'c', participantId: 'carol', at: t, kind: 'source', source: { type: 'tone', frequencyHz: 1000, amplitude: 0.1 } });
    events.push({ callId: 'c', participantId: 'carol', at: t + 10_000, kind: 'mute', muted: k % 3 === 0 });
  }
  return { participants, events, endMs };
}

async function run(minutes: number, channels: 'mixed' | 'perParticipant') {
  const s = scenario(minutes);
  const out = join(dir, `${minutes}-${channels}.wav`);
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss, peakHeap = base.heapUsed;
  const sample = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const t0 = performance.now();
  const r = await renderSegment({
    startMs: 0, endMs: s.endMs, participants: s.participants, events: s.events, sampleRate: RATE, channels,
    clip: () => clip, outPath: out,
  });
  const ms = performance.now() - t0;
  clearInterval(sample);
  const m = process.memoryUsage();
  peakRss = Math.max(peakRss, m.rss);
  peakHeap = Math.max(peakHeap, m.heapUsed);
  const size = statSync(out).size;
  rmSync(out);
  return { minutes, channels, ms, speed: (s.endMs / ms), size, samples: r.sampleCount, peakRssMb: peakRss / 2 ** 20, heapGrowthMb: (peakHeap - base.heapUsed) / 2 ** 20 };
}

async function main(): Promise<void> {
  console.log('graph-calls recording render benchmark');
  console.log(`machine:  ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`);
  console.log('scenario: three participants (tones, a looping clip, silence, mutes) changing every 30 s; 16 kHz 16-bit WAV\n');
  const rows = [];
  for (const [minutes, channels] of [[10, 'mixed'], [60, 'mixed'], [60, 'perParticipant']] as const) rows.push(await run(minutes, channels));
  console.log('length   channels         wall s   × real time   file MiB   peak RSS MiB   heap growth MiB');
  for (const r of rows) {
    console.log(`${String(r.minutes).padStart(3)} min  ${r.channels.padEnd(15)} ${(r.ms / 1000).toFixed(2).padStart(7)}   ${r.speed.toFixed(0).padStart(11)}   ${(r.size / 2 ** 20).toFixed(1).padStart(8)}   ${r.peakRssMb.toFixed(0).padStart(12)}   ${r.heapGrowthMb.toFixed(1).padStart(15)}`);
  }
  const hour = rows[1]!;
  console.log(`\none-hour three-party recording: ${hour.speed.toFixed(0)}× real time (target ≥ 1000×: ${hour.speed >= 1000 ? 'met' : 'NOT met'})`);
  console.log(`memory: heap growth ${rows[0]!.heapGrowthMb.toFixed(1)} MiB for 10 min vs ${hour.heapGrowthMb.toFixed(1)} MiB for 60 min (independent of length when both stay small)`);
  rmSync(dir, { recursive: true, force: true });
}

await main();
