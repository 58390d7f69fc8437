import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TokenBuckets } from '../../src/shared/token-bucket.js';

test('a token bucket allows a burst of `limit`, then refuses with the wait, and refills evenly', () => {
  let now = 1_000_000;
  const b = new TokenBuckets(3, 60_000, () => now);
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a')], [0, 0, 0]);
  assert.equal(b.take('a'), 20_000, 'one token every 20 s');
  assert.equal(b.take('b'), 0, 'keys are independent');
  now += 19_999;
  assert.equal(b.take('a'), 1, 'a refused request spends nothing; 1 ms to go');
  now += 1;
  assert.equal(b.take('a'), 0);
  now += 10 * 60_000;
  assert.deepEqual([b.take('a'), b.take('a'), b.take('a'), b.take('a') > 0], [0, 0, 0, true], 'a long pause refills to the limit, no more');
});

test('full buckets are forgotten once there are many keys', () => {
  let now = 0;
  const b = new TokenBuckets(2, 1000, () => now, 4);
  for (const k of ['a', 'b', 'c', 'd']) b.take(k);
  now += 1000;
  b.take('e');
  assert.equal((b as unknown as { buckets: Map<string, unknown> }).buckets.size, 1, 'the four refilled buckets were dropped');
  assert.throws(() => new TokenBuckets(0, 1000), RangeError);
});
