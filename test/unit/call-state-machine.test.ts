import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertEstablished, canTransition, isEnded, startRecording, stopRecording, transition } from '../../src/domain/call-state-machine.js';
import { DomainError } from '../../src/domain/errors.js';
import type { CallState } from '../../src/domain/call.js';

const code = (fn: () => unknown) => {
  try { fn(); } catch (e) { return (e as DomainError).code; }
  return 'no error';
};

test('outgoing call path: establishing -> established -> terminating -> terminated', () => {
  let s: CallState = 'establishing';
  s = transition(s, 'established');
  s = transition(s, 'terminating');
  s = transition(s, 'terminated');
  assert.equal(s, 'terminated');
});

test('a hang-up before the far side answers is allowed', () => {
  assert.ok(canTransition('establishing', 'terminating'));
});

test('terminated is final and impossible transitions throw', () => {
  for (const to of ['establishing', 'established', 'terminating'] as CallState[]) assert.equal(canTransition('terminated', to), false);
  assert.throws(() => transition('terminated', 'established'), /illegal call transition/);
  assert.throws(() => transition('established', 'establishing'), /illegal call transition/);
});

test('isEnded covers terminating and terminated only', () => {
  assert.deepEqual((['establishing', 'established', 'terminating', 'terminated'] as CallState[]).map(isEnded), [false, false, true, true]);
});

test('recording actions need an established call, with a distinct code per reason', () => {
  assert.equal(code(() => assertEstablished('established', 'startRecording')), 'no error');
  assert.equal(code(() => assertEstablished('establishing', 'startRecording')), 'CALL_NOT_ESTABLISHED');
  assert.equal(code(() => assertEstablished('terminating', 'startRecording')), 'CALL_ENDED');
  assert.equal(code(() => assertEstablished('terminated', 'startRecording')), 'CALL_NOT_FOUND');
});

test('start while recording and stop while not recording are refused', () => {
  assert.equal(startRecording(false), true);
  assert.equal(code(() => startRecording(true)), 'ALREADY_RECORDING');
  assert.equal(stopRecording(true), false);
  assert.equal(code(() => stopRecording(false)), 'NOT_RECORDING');
});

test('the message names the state the call is in', () => {
  try {
    assertEstablished('establishing', 'stopRecording');
    assert.fail('expected an error');
  } catch (e) {
    assert.match((e as Error).message, /stopRecording.*establishing/);
  }
});
