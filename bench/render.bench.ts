/**
 * Recording render speed and memory: a three-party recording rendered from a media timeline, in
 * multiples of real time, and peak memory for a short and a long recording, two ways:
 *
 * - into a counting sink (the bytes are hashed and counted, nothing is kept): the renderer's own memory,
 *   which should not grow with length (it streams one-second blocks);
 * - into a MemorySink, as the recorder and the recorded-response renderer do before storing the bytes in
 *   the database: this grows with length by the file's size (the whole recording is held once, as the
 *   readFile of the earlier scratch file did).
 *
 * Each case runs in its own process (`--case`), so one case's peak RSS is not another's leftover.
 */
import { spawn } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { MediaEvent, Participant } from '../src/domain/call.js';
import { MemorySink, type ByteSink } from '../src/media/byte-sink.js';
import { renderSegment } from '../src/media/renderer.js';

const RATE = 16_000;
type Channels = 'mixed' | 'perParticipant';
type SinkKind = 'counting' | 'memory';
interface Row { minutes: number; channels: Channels; sink: SinkKind; ms: number; cpuMs: number; size: number; samples: number; peakRssMb: number; heapGrowthMb: number }

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

/** One case, in this process: render, sampling memory every 20 ms. */
async function runCase(minutes: number, channels: Channels, sinkKind: SinkKind): Promise<Row> {
  const clip = Int16Array.from({ length: RATE * 3 }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / RATE)));
  const s = scenario(minutes);
  let counted = 0;
  const counting: ByteSink = { write: (b) => { counted += b.length; } };
  const memory = new MemorySink();
  const base = process.memoryUsage();
  let peakRss = base.rss, peakHeap = base.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  };
  const timer = setInterval(sample, 20);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await renderSegment({
    startMs: 0, endMs: s.endMs, participants: s.participants, events: s.events, sampleRate: RATE, channels,
    clip: () => clip, out: sinkKind === 'counting' ? counting : memory,
  });
  // What the recorder does next: take the whole file (stored in the database in the same transaction).
  const size = sinkKind === 'counting' ? counted : memory.bytes().length;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  clearInterval(timer);
  sample();
  if (size !== r.sizeBytes) throw new Error(`sink got ${size} bytes, renderer reported ${r.sizeBytes}`);
  return {
    minutes, channels, sink: sinkKind, ms, cpuMs: (cpu.user + cpu.system) / 1000, size, samples: r.sampleCount,
    peakRssMb: peakRss / 2 ** 20, heapGrowthMb: (peakHeap - base.heapUsed) / 2 ** 20,
  };
}

/** One case in a fresh process (this file with `--case`), so peak RSS is that case's alone. */
function inChild(minutes: number, channels: Channels, sink: SinkKind): Promise<Row> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--case', String(minutes), channels, sink], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`render case ${minutes} min ${channels} ${sink} exited with ${code}`));
      resolve(JSON.parse(out) as Row);
    });
  });
}

async function main(): Promise<void> {
  console.log('graph-calls recording render benchmark');
  console.log(`machine:  ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}`);
  console.log('scenario: three participants (tones, a looping clip, silence, mutes) changing every 30 s; 16 kHz 16-bit WAV');
  console.log('sinks:    counting = bytes hashed and counted, nothing kept (the renderer alone); memory = collected whole, as the recorder stores them\n');
  const cases: Array<[number, Channels, SinkKind]> = [
    [10, 'mixed', 'counting'], [60, 'mixed', 'counting'], [60, 'perParticipant', 'counting'],
    [10, 'mixed', 'memory'], [60, 'mixed', 'memory'],
  ];
  const rows: Row[] = [];
  for (const [minutes, channels, sink] of cases) rows.push(await inChild(minutes, channels, sink));
  // × real time by wall clock (what a waiting bot sees) and by CPU time (steadier on a shared machine).
  console.log('length   channels         sink       wall s   cpu s   × real time   × per cpu s   file MiB   peak RSS MiB   heap growth MiB');
  for (const r of rows) {
    console.log(`${String(r.minutes).padStart(3)} min  ${r.channels.padEnd(15)}  ${r.sink.padEnd(8)} ${(r.ms / 1000).toFixed(2).padStart(7)} ${(r.cpuMs / 1000).toFixed(2).padStart(7)}   ${(r.minutes * 60_000 / r.ms).toFixed(0).padStart(11)}   ${(r.minutes * 60_000 / r.cpuMs).toFixed(0).padStart(11)}   ${(r.size / 2 ** 20).toFixed(1).padStart(8)}   ${r.peakRssMb.toFixed(0).padStart(12)}   ${r.heapGrowthMb.toFixed(1).padStart(15)}`);
  }
  const find = (minutes: number, channels: Channels, sink: SinkKind) => rows.find((r) => r.minutes === minutes && r.channels === channels && r.sink === sink)!;
  const hour = find(60, 'mixed', 'counting');
  const speed = (hour.minutes * 60_000) / hour.ms;
  console.log(`\none-hour three-party recording: ${speed.toFixed(0)}× real time, ${((hour.minutes * 60_000) / hour.cpuMs).toFixed(0)}× per CPU second (target ≥ 1000× real time: ${speed >= 1000 ? 'met' : 'NOT met'})`);
  const short = find(10, 'mixed', 'counting');
  console.log(`renderer memory (counting sink): peak RSS ${short.peakRssMb.toFixed(0)} MiB for 10 min vs ${hour.peakRssMb.toFixed(0)} MiB for 60 min (should not grow with length)`);
  const m10 = find(10, 'mixed', 'memory'), m60 = find(60, 'mixed', 'memory');
  console.log(`collected in memory as the recorder stores it: peak RSS ${m10.peakRssMb.toFixed(0)} MiB for 10 min vs ${m60.peakRssMb.toFixed(0)} MiB for 60 min (grows by the file's size: ${(m10.size / 2 ** 20).toFixed(1)} vs ${(m60.size / 2 ** 20).toFixed(1)} MiB)`);
}

const at = process.argv.indexOf('--case');
if (at >= 0) {
  const [minutes, channels, sink] = process.argv.slice(at + 1);
  process.stdout.write(JSON.stringify(await runCase(Number(minutes), channels as Channels, sink as SinkKind)));
} else {
  await main();
}
