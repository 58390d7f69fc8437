import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, DEFAULTS, loadConfig } from '../../src/config.js';

test('defaults: 127.0.0.1:4000, data in ./.graph-calls', () => {
  const c = loadConfig([], {});
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 4000);
  assert.equal(c.dataDir, DEFAULTS.dataDir);
  assert.match(c.dataDir, /\.graph-calls$/);
  assert.equal(c.inMemory, false);
  assert.ok(Object.isFrozen(c));
});

test('flags and env map onto the same fields; flags win', () => {
  const c = loadConfig(['--port', '0', '--in-memory', '--host=::1'], { GRAPH_CALLS_PORT: '5000', GRAPH_CALLS_DATA: '/tmp/x' });
  assert.equal(c.port, 0);
  assert.equal(c.inMemory, true);
  assert.equal(c.host, '::1');
  assert.equal(c.dataDir, '/tmp/x');
  assert.equal(loadConfig([], { GRAPH_CALLS_PORT: '5000' }).port, 5000);
});

test('every problem is reported at once', () => {
  try {
    loadConfig(['--port', 'abc', '--bogus', '--sqlite-synchronous', 'OFF', '--data'], {});
    assert.fail('expected ConfigError');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    assert.equal(e.problems.length, 4);
    assert.match(e.message, /--port must be/);
    assert.match(e.message, /unknown option '--bogus'/);
    assert.match(e.message, /FULL or NORMAL/);
    assert.match(e.message, /'--data' needs a value/);
  }
});

test('a port above 65535 is refused', () => {
  assert.throws(() => loadConfig(['--port', '70000'], {}), /at most 65535/);
});

test('subscriptions: the recording callback notification is off unless asked for; the handshake deadline is checked', () => {
  assert.equal(loadConfig([], {}).recordingCallbackNotifications, false);
  assert.equal(loadConfig([], {}).subscriptionValidationTimeoutMs, 10_000);
  assert.equal(loadConfig(['--recording-callback-notifications'], {}).recordingCallbackNotifications, true);
  assert.equal(loadConfig(['--subscription-validation-timeout-ms', '250'], {}).subscriptionValidationTimeoutMs, 250);
  assert.throws(() => loadConfig(['--subscription-validation-timeout-ms', '0'], {}), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p.includes('--subscription-validation-timeout-ms')));
});
