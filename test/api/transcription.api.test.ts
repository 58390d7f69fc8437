import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { buildHarness, p2pCallBody, type Harness } from '../support/harness.js';
import { call, snapshot } from '../support/inject.js';

/** Beta start/stopTranscription (call-starttranscription / call-stoptranscription docs). */

const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });

describe('startTranscription / stopTranscription (beta)', () => {
  let h: Harness;
  let id: string;
  before(async () => {
    h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 });
    id = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    await advance(h, 1000);
  });
  after(() => h.close());

  test('startTranscription: 202, Location, a running startTranscriptionOperation; the call\'s transcription is active', async () => {
    const at = Date.parse((await call(h, 'GET', '/_emulator/clock', { auth: false })).body.now);
    const res = await call(h, 'POST', `/beta/communications/calls/${id}/microsoft.graph.StartTranscription`, { body: { language: 'en-us', clientContext: 'ctx-1' } });
    assert.equal(res.status, 202);
    assert.equal(res.headers.location, `http://localhost:80/beta/communications/calls/${id}/operations/${res.body.id}`);
    assert.deepEqual(res.body, {
      '@odata.context': 'http://localhost:80/beta/$metadata#startTranscriptionOperation',
      '@odata.type': '#microsoft.graph.startTranscriptionOperation',
      id: res.body.id, clientContext: 'ctx-1', status: 'running', resultInfo: null,
    });
    const got = await call(h, 'GET', `/beta/communications/calls/${id}`);
    assert.deepEqual(got.body.transcription, { '@odata.type': '#microsoft.graph.callTranscriptionInfo', state: 'active', lastModifiedDateTime: new Date(at).toISOString() });
    await advance(h, 500);
    const done = (await h.comp.store.listOutbox({ callId: id, limit: 100 })).filter((n) => n.resourceUrl.endsWith(`/operations/${res.body.id}`));
    assert.equal(done.length, 1);
    assert.equal(done[0]!.changeType, 'deleted');
    assert.equal((done[0]!.resourceData as any).status, 'completed');
    assert.equal((done[0]!.resourceData as any)['@odata.type'], '#microsoft.graph.startTranscriptionOperation');
    const update = (await h.comp.store.listOutbox({ callId: id, limit: 100 })).filter((n) => n.resourceUrl === `/communications/calls/${id}`).at(-1)!;
    assert.equal((update.resourceData as any).transcription.state, 'active');
  });

  test('wrong state and bad input: 409 / 400, nothing changes', async () => {
    const before = await snapshot(h, id);
    const twice = await call(h, 'POST', `/beta/communications/calls/${id}/startTranscription`);
    assert.equal(twice.status, 409);
    assert.match(twice.body.error.message, /already being transcribed/);
    const lang = await call(h, 'POST', `/beta/communications/calls/${id}/stopTranscription`, { body: { language: 'fr-fr' } });
    assert.equal(lang.status, 400);
    assert.match(lang.body.error.message, /'language'.*en-us/);
    const type = await call(h, 'POST', `/beta/communications/calls/${id}/stopTranscription`, { body: { clientContext: 5 } });
    assert.equal(type.status, 400);
    assert.equal(await snapshot(h, id), before);
    const v1 = await call(h, 'POST', `/v1.0/communications/calls/${id}/startTranscription`, { body: {} });
    assert.equal(v1.status, 400);
    assert.equal(v1.body.error.message, "Resource not found for the segment 'startTranscription'.");
  });

  test('stopTranscription: 202 + completed stopTranscriptionOperation; transcription inactive; stopping again is 409', async () => {
    const res = await call(h, 'POST', `/beta/communications/calls/${id}/stopTranscription`, { body: { language: 'EN-US' } });
    assert.equal(res.status, 202);
    assert.equal(res.body['@odata.type'], '#microsoft.graph.stopTranscriptionOperation');
    assert.equal(res.body.status, 'completed');
    assert.deepEqual(res.body.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' });
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).body.transcription.state, 'inactive');
    const again = await call(h, 'POST', `/beta/communications/calls/${id}/stopTranscription`);
    assert.equal(again.status, 409);
    assert.match(again.body.error.message, /not being transcribed/);
  });

  test('v1.0 reads: the operations list shows beta-only operation types as commsOperation; transcription state is there', async () => {
    const list = await call(h, 'GET', `/v1.0/communications/calls/${id}/operations`);
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.value.map((o: any) => o['@odata.type']), ['#microsoft.graph.commsOperation', '#microsoft.graph.commsOperation']);
    const beta = await call(h, 'GET', `/beta/communications/calls/${id}/operations`);
    assert.deepEqual(beta.body.value.map((o: any) => o['@odata.type']), ['#microsoft.graph.startTranscriptionOperation', '#microsoft.graph.stopTranscriptionOperation']);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.transcription.state, 'inactive');
  });

  test('a call that is not established: 409; an unknown call: 404', async () => {
    const ringing = (await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() })).body.id;
    const r = await call(h, 'POST', `/beta/communications/calls/${ringing}/startTranscription`);
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /state 'establishing'/);
    assert.equal((await call(h, 'POST', '/beta/communications/calls/11111111-2222-4333-8444-555555555555/startTranscription')).status, 404);
  });
});
