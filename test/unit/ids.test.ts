import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isGuid, randomIds, timeOrderedGuid } from '../../src/shared/ids.js';

test('ids are lowercase GUIDs of RFC 9562 version 7: the millisecond first, then random bits', () => {
  const at = Date.UTC(2026, 11, 1, 12, 0, 0, 123);
  const id = timeOrderedGuid(at);
  assert.ok(isGuid(id), id);
  assert.equal(id, id.toLowerCase());
  assert.equal(parseInt(id.slice(0, 8) + id.slice(9, 13), 16), at);
  assert.equal(id[14], '7');
  assert.ok('89ab'.includes(id[19]!), `variant nibble ${id[19]}`);
  assert.ok(isGuid(randomIds.ordered()));
  // Calls and participants keep random ids (version 4): people tell them apart by their first characters.
  assert.equal(randomIds.next()[14], '4');
});

test('ids made later sort after earlier ones; ids of one millisecond differ', () => {
  const seen = new Set<string>();
  let last = '';
  for (let ms = 1_700_000_000_000; ms < 1_700_000_000_000 + 2_000; ms += 7) {
    const id = timeOrderedGuid(ms);
    assert.ok(id > last, `${id} after ${last}`);
    last = id;
  }
  // Well past one pool of random bytes (409 ids), in one millisecond.
  for (let i = 0; i < 5_000; i++) seen.add(timeOrderedGuid(42));
  assert.equal(seen.size, 5_000);
});
