import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, type RetryPolicy } from '../../src/notifications/retry-policy.js';

const policy: RetryPolicy = { maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, maxRedirects: 5, maxRetryAfterMs: 60_000 };
const res = (status: number, extra: { location?: string; retryAfterMs?: number } = {}) =>
  ({ status, location: extra.location ?? null, retryAfterMs: extra.retryAfterMs ?? null, latencyMs: 1 });

test('2xx delivers; other 4xx are final', () => {
  assert.equal(decide(res(202), 1, policy, () => 0).outcome, 'delivered');
  assert.equal(decide(res(204), 1, policy, () => 0).outcome, 'delivered');
  for (const s of [400, 401, 403, 404, 410]) assert.equal(decide(res(s), 1, policy, () => 0).outcome, 'rejected', String(s));
});

test('network errors, 5xx, 408 and 429 retry with exponential backoff and equal jitter, then dead', () => {
  const delays = [1, 2, 3].map((a) => decide(new Error('ECONNREFUSED'), a, policy, () => 0).delayMs);
  assert.deepEqual(delays, [50, 100, 200], 'lowest jitter: half the exponential step');
  assert.deepEqual([1, 2, 3].map((a) => decide(res(503), a, policy, () => 1).delayMs), [100, 200, 400], 'highest jitter: the full step');
  assert.equal(decide(res(500), 10, { ...policy, maxAttempts: 20 }, () => 1).delayMs, 1000, 'capped at maxDelayMs');
  for (const s of [500, 502, 503, 504, 408, 429]) assert.equal(decide(res(s), 1, policy, () => 0.5).outcome, 'retry', String(s));
  assert.equal(decide(res(503), 4, policy, () => 0).outcome, 'dead', 'the last attempt failed');
});

test('Retry-After on 429/503 is honoured, even beyond maxDelayMs, up to maxRetryAfterMs', () => {
  assert.equal(decide(res(429, { retryAfterMs: 3000 }), 1, policy, () => 0).delayMs, 3000);
  assert.equal(decide(res(503, { retryAfterMs: 10 }), 1, policy, () => 0).delayMs, 50, 'never sooner than the backoff');
  assert.equal(decide(res(429, { retryAfterMs: 1e311 }), 1, policy, () => 0).delayMs, 60_000, 'clamped');
  assert.equal(decide(res(429, { retryAfterMs: Infinity }), 1, policy, () => 0).delayMs, 60_000, 'clamped');
  const { maxRetryAfterMs: _, ...unclamped } = policy;
  assert.equal(decide(res(429, { retryAfterMs: 3000 }), 1, unclamped, () => 0).delayMs, 1000, 'without maxRetryAfterMs, maxDelayMs bounds it');
});

test('302/307 with a Location that passes the callbackUri rule re-homes; anything else is final', () => {
  assert.deepEqual(decide(res(307, { location: 'https://bot-eu.example.com/cb' }), 1, policy, () => 0), { outcome: 'redirected', location: 'https://bot-eu.example.com/cb' });
  assert.equal(decide(res(302, { location: 'http://127.0.0.1:9/cb' }), 1, policy, () => 0).outcome, 'redirected');
  assert.equal(decide(res(307, { location: 'http://bot.example.com/cb' }), 1, policy, () => 0).outcome, 'rejected', 'plain http off loopback');
  assert.equal(decide(res(307, { location: '/relative' }), 1, policy, () => 0).outcome, 'rejected');
  assert.equal(decide(res(307), 1, policy, () => 0).outcome, 'rejected', 'no Location');
});
