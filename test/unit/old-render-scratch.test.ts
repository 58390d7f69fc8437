import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildHarness, tempDataDir } from '../support/harness.js';

test('an older version\'s render leftovers in <data>/recordings are removed at start; other files, and the directory holding them, stay', async () => {
  const { dir, cleanup } = tempDataDir();
  try {
    const scratch = join(dir, 'recordings');
    mkdirSync(join(scratch, 'kept.wav'), { recursive: true }); // a directory, not a render's file
    for (const f of ['a.wav.tmp', 'b.mp3.tmp', 'c.wav', 'd.mp3', 'e.response.wav', 'README.txt']) writeFileSync(join(scratch, f), 'x');
    const h = await buildHarness({ inMemory: false, dataDir: dir });
    try {
      assert.deepEqual(readdirSync(scratch).sort(), ['README.txt', 'kept.wav']);
    } finally {
      await h.close();
    }
  } finally {
    cleanup();
  }
});

test('a directory holding only render leftovers is removed with them, and a new data directory never gets one', async () => {
  const { dir, cleanup } = tempDataDir();
  try {
    const scratch = join(dir, 'recordings');
    mkdirSync(scratch, { recursive: true });
    for (const f of ['a.wav.tmp', 'c.wav']) writeFileSync(join(scratch, f), 'x');
    let h = await buildHarness({ inMemory: false, dataDir: dir });
    await h.close();
    assert.equal(existsSync(scratch), false);
    h = await buildHarness({ inMemory: false, dataDir: dir });
    await h.close();
    assert.equal(existsSync(scratch), false);
  } finally {
    cleanup();
  }
});
