import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeRenderLeftovers } from '../../src/media/recorder.service.js';
import { buildHarness, tempDataDir } from '../support/harness.js';

test('what interrupted renders left in <data>/recordings is removed at start; other files stay', async () => {
  const { dir, cleanup } = tempDataDir();
  try {
    const scratch = join(dir, 'recordings');
    mkdirSync(scratch, { recursive: true });
    for (const f of ['a.wav.tmp', 'b.mp3.tmp', 'c.wav', 'd.mp3', 'e.tmp', 'README.txt']) writeFileSync(join(scratch, f), 'x');
    const h = await buildHarness({ inMemory: false, dataDir: dir });
    try {
      assert.deepEqual(readdirSync(scratch), ['README.txt']);
    } finally {
      await h.close();
    }
  } finally {
    cleanup();
  }
});

test('removeRenderLeftovers spares files younger than minAgeMs (a render another instance may still be writing)', () => {
  const { dir, cleanup } = tempDataDir();
  try {
    writeFileSync(join(dir, 'old.wav.tmp'), 'x');
    writeFileSync(join(dir, 'new.wav.tmp'), 'x');
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(dir, 'old.wav.tmp'), old, old);
    assert.deepEqual(removeRenderLeftovers(dir, 10_000), ['old.wav.tmp']);
    assert.ok(existsSync(join(dir, 'new.wav.tmp')));
    assert.deepEqual(removeRenderLeftovers(dir), ['new.wav.tmp']);
  } finally {
    cleanup();
  }
});
