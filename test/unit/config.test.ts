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

test('--retention: 7 days by default; a duration with a unit, or bare milliseconds; 0 keeps everything; env GRAPH_CALLS_RETENTION', () => {
  assert.equal(loadConfig([], {}).retentionMs, 7 * 86_400_000);
  assert.equal(loadConfig(['--retention', '12h'], {}).retentionMs, 12 * 3_600_000);
  assert.equal(loadConfig(['--retention=30m'], {}).retentionMs, 30 * 60_000);
  assert.equal(loadConfig(['--retention', '45s'], {}).retentionMs, 45_000);
  assert.equal(loadConfig(['--retention', '250ms'], {}).retentionMs, 250);
  assert.equal(loadConfig(['--retention', '1500'], {}).retentionMs, 1500);
  assert.equal(loadConfig(['--retention', '0'], {}).retentionMs, 0);
  assert.equal(loadConfig([], { GRAPH_CALLS_RETENTION: '2d' }).retentionMs, 2 * 86_400_000);
  assert.equal(loadConfig(['--retention', '1d'], { GRAPH_CALLS_RETENTION: '2d' }).retentionMs, 86_400_000, 'the flag wins');
  assert.equal(loadConfig([], {}).retentionBatch, 100);
  assert.equal(loadConfig(['--retention-batch', '20'], {}).retentionBatch, 20);
});

test('--retention: a value that is not a duration is a configuration problem naming the flag and the forms it takes', () => {
  for (const bad of ['7 days', '-1d', '1.5h', 'd', '7w', '', '99999999999999999d']) {
    assert.throws(() => loadConfig(['--retention', bad], {}), (e: unknown) => e instanceof ConfigError
      && e.problems.length === 1 && e.problems[0] === `--retention must be a duration such as 7d, 12h, 30m, 45s or 250ms (a bare number is milliseconds; 0 keeps everything), got '${bad}'`, bad);
  }
  assert.throws(() => loadConfig(['--retention-batch', '0'], {}), (e: unknown) => e instanceof ConfigError && e.problems[0] === '--retention-batch must be at least 1');
});
