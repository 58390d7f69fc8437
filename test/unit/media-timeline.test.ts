import { test } from 'node:test';
import assert from 'node:assert/strict';
import { farSideSpeech, recordEnd, toneOf, type RecordSettings } from '../../src/domain/media-actions.js';
import { newParticipant } from '../support/factories.js';
import type { MediaEvent } from '../../src/domain/call.js';

const settings: RecordSettings = { bargeInAllowed: false, initialSilenceTimeoutMs: 3000, maxSilenceTimeoutMs: 1000, maxRecordDurationMs: 10_000, playBeep: false, stopTones: [] };
const ev = (participantId: string, at: number, e: Partial<MediaEvent>): MediaEvent => ({ callId: 'c', participantId, at, kind: 'source', ...e });

test('farSideSpeech: sources, mutes, clip ends, presence and several participants merge into spans', () => {
  const a = newParticipant('c', { id: 'a', joinedAt: 0, leftAt: null });
  const b = newParticipant('c', { id: 'b', joinedAt: 0, leftAt: 9000 });
  const events: MediaEvent[] = [
    ev('a', 1000, { source: { type: 'tone', frequencyHz: 440, amplitude: 0.3 } }),
    ev('a', 2000, { kind: 'mute', muted: true }),
    ev('a', 2500, { kind: 'mute', muted: false }),
    ev('a', 3000, { source: { type: 'silence' } }),
    ev('a', 3100, { kind: 'tone', tone: 'tone1' }),
    ev('b', 2900, { source: { type: 'clip', mediaId: 'm', amplitude: 1, loop: false } }),
    ev('b', 8000, { source: { type: 'clip', mediaId: 'm', amplitude: 1, loop: true } }),
  ];
  const spans = farSideSpeech(events, [a, b], 0, 20_000, (id) => (id === 'm' ? 600 : undefined));
  assert.deepEqual(spans, [{ from: 1000, to: 2000 }, { from: 2500, to: 3500 }, { from: 8000, to: 9000 }]);
});

test('recordEnd: initial silence, a long enough pause, max duration; nothing before its time', () => {
  assert.equal(recordEnd([], 0, 2999, settings), null);
  assert.deepEqual(recordEnd([], 0, 5000, settings), { endAt: 3000, reason: 'initialSilenceTimeout' });
  assert.deepEqual(recordEnd([{ from: 3000, to: 4000 }], 0, 5000, settings), { endAt: 3000, reason: 'initialSilenceTimeout' }, 'speech that starts at the timeout is too late');
  const speech = [{ from: 500, to: 1500 }, { from: 2200, to: 3000 }, { from: 5000, to: 6000 }];
  assert.equal(recordEnd(speech, 0, 3999, settings), null, 'a 0.7 s pause is not enough; the next one is still short of 1 s');
  assert.deepEqual(recordEnd(speech, 0, 4200, settings), { endAt: 4000, reason: 'maxSilenceTimeout' });
  assert.deepEqual(recordEnd([{ from: 100, to: 20_000 }], 0, 20_000, settings), { endAt: 10_000, reason: 'maxRecordDurationReached' });
});

test('toneOf: keys and Graph tone names', () => {
  assert.deepEqual(['1', '#', '*', 'A', 'Tone7', 'pound', 'flash', '11', 'x'].map(toneOf), ['tone1', 'pound', 'star', 'a', 'tone7', 'pound', 'flash', null, null]);
});
