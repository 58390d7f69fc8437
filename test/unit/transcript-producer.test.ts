import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AudioSource, MediaEvent, Participant } from '../../src/domain/call.js';
import { speakerName, transcriptCues } from '../../src/transcripts/transcript-producer.js';
import { toMetadataVtt, toPlainTranscript, toVtt, vttTimestamp } from '../../src/transcripts/vtt.js';

const person = (id: string, seq: number, displayName: string | null, over: Partial<Participant> = {}): Participant => ({
  id, callId: 'c', seq, info: { identity: { user: { id: `u-${id}`, displayName } } }, isMuted: false, isInLobby: false, isBot: false,
  recordingInfo: null, joinedAt: 0, leftAt: null, ...over,
});
const say = (participantId: string, at: number, text: string, loop = false): MediaEvent =>
  ({ callId: 'c', participantId, at, kind: 'source', source: { type: 'clip', mediaId: `m:${text}`, amplitude: 1, loop } });
const tone = (participantId: string, at: number): MediaEvent => ({ callId: 'c', participantId, at, kind: 'source', source: { type: 'tone', frequencyHz: 440, amplitude: 0.3 } });
const mute = (participantId: string, at: number, muted: boolean): MediaEvent => ({ callId: 'c', participantId, at, kind: 'mute', muted });
/** Each clip says its id after `m:`, 1 s per word. */
const spoken = (s: AudioSource) => s.type === 'clip' && s.mediaId.startsWith('m:') ? { text: s.mediaId.slice(2), durationMs: s.mediaId.slice(2).split(' ').length * 1000 } : null;

test('cues follow the timeline: cut by the next source, a mute, leaving and the window; muted speech and tones say nothing', () => {
  const roster = [person('a', 1, 'Ann'), person('b', 2, 'Ben', { leftAt: 21_000 }), person('c', 3, null)];
  const events = [
    say('a', 1000, 'one two three'), tone('a', 2000),            // cut at 2 s by the tone
    mute('b', 3000, true), say('b', 4000, 'not heard'), mute('b', 6000, false),
    say('b', 7000, 'heard now ok'), mute('b', 8000, true),       // cut at 8 s by the mute
    say('c', 9000, 'unnamed'),
    mute('b', 19_000, false), say('b', 20_000, 'leaving soon now'), // cut at 21 s: Ben leaves
    say('a', 29_000, 'past the end'),                             // window ends at 30 s
    say('a', 31_000, 'after the window'),
  ];
  const cues = transcriptCues({ roster, events, window: { startedAt: 500, endedAt: 30_000 }, spoken, knownNames: new Map([['u-c', 'Cy From Directory']]) });
  assert.deepEqual(cues.map((c) => [c.startMs, c.endMs, c.speaker, c.text]), [
    [500, 1500, 'Ann', 'one two three'],
    [6500, 7500, 'Ben', 'heard now ok'],
    [8500, 9500, 'Cy From Directory', 'unnamed'],
    [19_500, 20_500, 'Ben', 'leaving soon now'],
    [28_500, 29_500, 'Ann', 'past the end'],
  ]);
});

test('a looping speech source repeats; speech before the window starts is not in it; ties keep roster order', () => {
  const roster = [person('a', 1, 'Ann'), person('b', 2, 'Ben')];
  const cues = transcriptCues({ roster, events: [say('b', 0, 'early'), say('a', 2000, 'again', true), say('b', 2000, 'same time'), tone('a', 4500)], window: { startedAt: 1000, endedAt: 10_000 }, spoken });
  assert.deepEqual(cues.map((c) => [c.startMs, c.endMs, c.speaker, c.text]), [
    [1000, 2000, 'Ann', 'again'], [1000, 3000, 'Ben', 'same time'], [2000, 3000, 'Ann', 'again'], [3000, 3500, 'Ann', 'again'],
  ]);
});

test('speaker names: display name of any identity kind, then the directory, then a phone number, then Unknown', () => {
  assert.equal(speakerName({ application: { id: 'x', displayName: 'Bot' } }), 'Bot');
  assert.equal(speakerName({ user: { id: 'U1' } }, new Map([['u1', 'Dir Name']])), 'Dir Name');
  assert.equal(speakerName({ phone: { id: '+15550100' } }), '+15550100');
  assert.equal(speakerName({ user: { id: 'nobody' } }), 'Unknown');
});

test('VTT, plain and metadata renderings', () => {
  const t = {
    id: 'x', callId: 'c', tenantId: 't', meetingId: null, meetingOrganizer: null, contentCorrelationId: 'k', createdAt: Date.parse('2026-01-02T03:04:05.000Z'),
    endedAt: 0, cueGroupId: 'g', language: 'en-us',
    cues: [{ startMs: 3_723_004, endMs: 3_724_000, speaker: 'A <b>', text: 'x & y' }, { startMs: 0, endMs: 5, speaker: 'B', text: 'two\nlines' }],
  };
  assert.equal(vttTimestamp(3_723_004), '01:02:03.004');
  assert.equal(toVtt(t), 'WEBVTT\n\ng/1-0\n01:02:03.004 --> 01:02:04.000\n<v A &lt;b&gt;>x &amp; y</v>\n\ng/2-0\n00:00:00.000 --> 00:00:00.005\n<v B>two\nlines</v>\n');
  assert.equal(toPlainTranscript(t), '01:02:03.004 --> 01:02:04.000\nx &amp; y\n\n00:00:00.000 --> 00:00:00.005\ntwo\nlines\n');
  const meta = toMetadataVtt(t).split('\n');
  assert.deepEqual(JSON.parse(meta[3]!), { startDateTime: '2026-01-02T04:06:08.0040000+00:00', endDateTime: '2026-01-02T04:06:09.0000000+00:00', speakerName: 'A <b>', spokenText: 'x & y', spokenLanguage: 'en-us' });
});
