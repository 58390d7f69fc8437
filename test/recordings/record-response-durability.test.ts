import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Config } from '../../src/config.js';
import { buildHarness, p2pCallBody, tempDataDir, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';
import { goertzel, parseWav } from '../support/audio.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * Recorded responses are durable: a record that finished before a restart is still downloadable after it
 * (its WAV is in the database), and one that was running across the restart completes after it (its steps
 * are durable jobs). On SQLite on disk and on PostgreSQL.
 */

const RATE = 16_000;
const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });

async function scenario(open: () => Promise<Harness>): Promise<void> {
  let h = await open();
  let id: string, finished: any, running: string;
  try {
    id = (await call(h, 'POST', '/v1.0/communications/calls', { body: p2pCallBody() })).body.id;
    await advance(h, 1000);
    const far = (await call(h, 'GET', `/v1.0/communications/calls/${id}/participants`)).body.value.find((p: any) => !p.info.identity.application).id;
    await call(h, 'POST', `/_emulator/calls/${id}/participants/${far}/audio`, { body: { type: 'tone', frequencyHz: 440 }, auth: false });
    const first = (await call(h, 'POST', `/v1.0/communications/calls/${id}/recordResponse`, { body: { playBeep: false, maxRecordDurationInSeconds: 2 } })).body;
    await advance(h, 2500);
    finished = (await call(h, 'GET', `/v1.0/communications/calls/${id}/operations/${first.id}`)).body;
    assert.equal(finished.status, 'completed');
    running = (await call(h, 'POST', `/v1.0/communications/calls/${id}/recordResponse`, { body: { playBeep: false, maxRecordDurationInSeconds: 3 } })).body.id;
    await advance(h, 1000);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}/operations/${running}`)).body.status, 'running');
  } finally {
    await h.close();
  }

  h = await open();
  try {
    const got = await h.comp.app.inject({ method: 'GET', url: new URL(finished.recordingLocation).pathname, headers: { authorization: `Bearer ${finished.recordingAccessToken}` } });
    assert.equal(got.statusCode, 200);
    const wav = parseWav(got.rawPayload);
    assert.equal(wav.samples.length, 2 * RATE);
    assert.ok(goertzel(wav.samples, 0, wav.samples.length, 440, RATE) > 0.01, 'the far side\'s tone, after the restart');

    await advance(h, 2500);
    const op = (await call(h, 'GET', `/beta/communications/calls/${id}/operations/${running}`)).body;
    assert.equal(op.status, 'completed', 'the record running across the restart finished after it');
    assert.equal(op.completionReason, 'maxRecordDurationReached');
    const second = await h.comp.app.inject({ method: 'GET', url: new URL(op.recordingLocation).pathname, headers: { authorization: `Bearer ${op.recordingAccessToken}` } });
    assert.equal(parseWav(second.rawPayload).samples.length, 3 * RATE);
  } finally {
    await h.close();
  }
}

const virtual: Partial<Config> = { clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 };

describe('recorded responses survive a restart', () => {
  test('SQLite on disk', async () => {
    const data = tempDataDir();
    try {
      await scenario(() => buildHarness({ ...virtual, inMemory: false, dataDir: data.dir }));
    } finally {
      data.cleanup();
    }
  });

  let db: TestDatabase | undefined;
  after(async () => { await db?.drop(); });
  test('PostgreSQL', async () => {
    db = await createTestDatabase();
    await scenario(() => buildHarness({ ...virtual, db: db!.url }));
  });
});
