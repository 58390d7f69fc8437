import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tempDataDir, waitFor } from '../support/harness.js';
import { call } from '../support/inject.js';
import { advance, control, joinBody, newMeeting, ORGANIZER, parseVtt, pipelineHarness } from './pipeline-support.js';

test('a call that ended just before a restart is transcribed after it: the job, the timeline and the speech text are durable', async () => {
  const data = tempDataDir();
  try {
    let h = await pipelineHarness({ inMemory: false, dataDir: data.dir });
    const m = await newMeeting(h);
    const id = (await call(h, 'POST', '/beta/communications/calls', { body: joinBody(m.joinWebUrl) })).body.id;
    await advance(h, 1000);
    const alice = (await control(h, 'POST', `/_emulator/calls/${id}/participants`, { displayName: 'Alice' })).body.id;
    await advance(h, 2000);
    assert.equal((await control(h, 'POST', `/_emulator/calls/${id}/participants/${alice}/audio`, { type: 'speech', text: 'Survive the restart please.' })).status, 200);
    await advance(h, 3000);
    // The hang-up is accepted; its finishing (and so the transcript) is still a pending job when the process stops.
    assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${id}`)).status, 204);
    assert.equal((await h.comp.store.transcriptsByCall(id, 0, 10)).length, 0);
    await h.close();

    h = await pipelineHarness({ inMemory: false, dataDir: data.dir });
    try {
      await waitFor(async () => { await advance(h, 500); return (await h.comp.store.transcriptsByCall(id, 0, 10)).length > 0; }, 'the transcript after the restart', 20_000);
      const [t] = (await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts`)).body.value;
      const vtt = await h.comp.app.inject({ method: 'GET', url: `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts/${t.id}/content`, headers: { authorization: h.auth } });
      assert.deepEqual(parseVtt(vtt.body).map((c) => [c.startMs, c.speaker, c.text]), [[2000, 'Alice', 'Survive the restart please.']]);
      assert.equal((await h.comp.store.transcriptsByCall(id, 0, 10)).length, 1, 'made once');
    } finally {
      await h.close();
    }
  } finally {
    data.cleanup();
  }
});
