import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../support/harness.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { call } from '../support/inject.js';
import { advance, newMeeting, now, ORGANIZER, parseVtt, pipelineHarness, scriptedMeeting, speechMs, type Line } from './pipeline-support.js';

const SCRIPT: Line[] = [
  { who: 'organizer', at: 2, text: 'Welcome everyone to the quarterly review.' },
  { who: 'Alice Analyst', at: 6, text: 'Thanks Olivia, the numbers are in.' },
  { who: 'Bob Builder', at: 11, text: 'Revenue & costs <both> grew.' },
  { who: 'organizer', at: 15, text: 'Great, let us go through them.' },
  // Alice speaks again before her first line would have ended: the first is cut where the second starts.
  { who: 'Alice Analyst', at: 17, text: 'First the revenue numbers in detail.' },
  { who: 'Alice Analyst', at: 18, text: 'Then the costs, line by line.' },
];
const NAMES: Record<string, string> = { organizer: 'Olivia Organizer', 'Alice Analyst': 'Alice Analyst', 'Bob Builder': 'Bob Builder' };

for (const engine of ['sqlite', 'postgres'] as const) describe(`transcripts of a scripted three-party meeting on the virtual clock (${engine})`, () => {
  let h: Harness;
  let db: TestDatabase | null = null;
  let meeting: any;
  let run: Awaited<ReturnType<typeof scriptedMeeting>>;
  before(async () => {
    db = engine === 'postgres' ? await createTestDatabase() : null;
    h = await pipelineHarness(db ? { db: db.url } : {});
    meeting = await newMeeting(h);
    // Bob plays a tone before speaking, and Carol only ever plays a tone: neither contributes text.
    run = await scriptedMeeting(h, meeting, ['Alice Analyst', 'Bob Builder', 'Carol Tone'], SCRIPT, {
      tones: [{ who: 'Bob Builder', at: 8 }, { who: 'Carol Tone', at: 3 }], endAt: 30,
    });
  });
  after(async () => { await h.close(); await db?.drop(); });

  test('the VTT has one cue per line of the script, cued to the second it was said, speaker named, text escaped', async () => {
    const list = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${meeting.id}/transcripts`);
    assert.equal(list.status, 200, list.raw);
    assert.equal(list.body['@odata.context'], 'http://localhost:80/v1.0/$metadata#Collection(microsoft.graph.callTranscript)');
    assert.equal(list.body.value.length, 1);
    const t = list.body.value[0];
    assert.deepEqual(Object.keys(t).sort(), ['@odata.type', 'callId', 'contentCorrelationId', 'createdDateTime', 'endDateTime', 'id', 'meetingId', 'meetingOrganizer', 'transcriptContentUrl'].sort());
    assert.equal(t['@odata.type'], '#microsoft.graph.callTranscript');
    assert.equal(t.meetingId, meeting.id);
    assert.equal(t.callId, run.callId);
    assert.equal(t.meetingOrganizer.user.id, ORGANIZER);
    assert.equal(Date.parse(t.createdDateTime), run.t0, 'transcription started when the bot joined');
    assert.equal(Date.parse(t.endDateTime), run.endedAt, 'and ended with the call');
    assert.equal(t.transcriptContentUrl, `http://localhost:80/v1.0/users/${ORGANIZER}/onlineMeetings/${meeting.id}/transcripts/${t.id}/content`);

    const res = await h.comp.app.inject({ method: 'GET', url: `/v1.0/users/${ORGANIZER}/onlineMeetings/${meeting.id}/transcripts/${t.id}/content`, headers: { authorization: h.auth } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/vtt/);
    const cues = parseVtt(res.body);
    assert.equal(cues.length, SCRIPT.length, res.body);
    const group = cues[0]!.id.split('/')[0];
    const expected = [...run.said].sort((a, b) => a.offsetMs - b.offsetMs);
    cues.forEach((c, i) => {
      const line = expected[i]!;
      assert.equal(c.id, `${group}/${i + 1}-0`, 'cue ids {uuid}/{n}-0, one uuid per file');
      assert.equal(c.startMs, line.at * 1000, `cue ${i} starts at second ${line.at}`);
      assert.equal(c.speaker, NAMES[line.who]);
      assert.equal(c.text, line.text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'));
      const next = expected.find((l) => l.who === line.who && l.at > line.at);
      const natural = line.at * 1000 + speechMs(line.text);
      assert.equal(c.endMs, next ? Math.min(natural, next.at * 1000) : natural, `cue ${i} ends when its speech does`);
    });
    assert.ok(!res.body.includes('Carol'), 'a participant playing a tone says nothing');
    assert.equal(cues.find((c) => c.text.startsWith('First'))!.endMs, 18_000, 'cut short by the next line');
  });

  test('transcript+text has timings and text without speakers; metadataContent carries JSON per cue', async () => {
    const [t] = (await call(h, 'GET', `/beta/communications/onlineMeetings/${meeting.id}/transcripts`)).body.value;
    const url = `/beta/communications/onlineMeetings/${meeting.id}/transcripts/${t.id}`;
    const plain = await h.comp.app.inject({ method: 'GET', url: `${url}/content`, headers: { authorization: h.auth, accept: 'application/vnd.microsoft.graph.transcript+text' } });
    assert.equal(plain.statusCode, 200);
    assert.match(String(plain.headers['content-type']), /^application\/vnd\.microsoft\.graph\.transcript\+text/);
    assert.ok(!plain.body.includes('<v '), 'no voice spans');
    assert.ok(!plain.body.startsWith('WEBVTT'));
    assert.equal(plain.body.split('\n\n').filter((b) => b.trim()).length, SCRIPT.length);
    assert.match(plain.body, /^00:00:02\.000 --> 00:00:03\.800\nWelcome everyone to the quarterly review\.\n/);

    const vttByFormat = await h.comp.app.inject({ method: 'GET', url: `${url}/content?$format=text/vtt`, headers: { authorization: h.auth } });
    assert.equal(vttByFormat.statusCode, 200);
    assert.ok(vttByFormat.body.startsWith('WEBVTT'));

    const meta = await h.comp.app.inject({ method: 'GET', url: `${url}/metadataContent`, headers: { authorization: h.auth } });
    assert.equal(meta.statusCode, 200);
    assert.match(String(meta.headers['content-type']), /^text\/vtt/);
    const payloads = meta.body.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.equal(payloads.length, SCRIPT.length);
    assert.deepEqual(Object.keys(payloads[0]), ['startDateTime', 'endDateTime', 'speakerName', 'spokenText', 'spokenLanguage']);
    assert.equal(payloads[0].speakerName, 'Olivia Organizer');
    assert.equal(payloads[0].spokenText, SCRIPT[0]!.text);
    assert.equal(payloads[0].startDateTime, `${new Date(run.t0 + 2000).toISOString().slice(0, 23)}0000+00:00`);
  });

  test('the recording of the same span is there, and shares the transcript\'s contentCorrelationId', async () => {
    const recs = (await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${meeting.id}/recordings`)).body.value;
    const [t] = (await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${meeting.id}/transcripts`)).body.value;
    assert.equal(recs.length, 1);
    assert.equal(recs[0].meetingId, meeting.id, 'the join link, the call and the recording name one meeting');
    assert.equal(recs[0].contentCorrelationId, t.contentCorrelationId);
  });

  test('getAllTranscripts and delta: initial round, then only what is new, then nothing', async () => {
    const fn = `getAllTranscripts(meetingOrganizerUserId='${ORGANIZER}',startDateTime=2000-01-01T00:00:00Z)`;
    const all = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${fn}`);
    assert.equal(all.status, 200, all.raw);
    assert.equal(all.body.value.length, 1);
    const first = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${fn}/delta`);
    assert.equal(first.status, 200, first.raw);
    assert.deepEqual(first.body.value.map((x: any) => x.id), all.body.value.map((x: any) => x.id));
    assert.equal(first.body['@odata.nextLink'], undefined);
    const link = first.body['@odata.deltaLink'] as string;
    assert.match(link, /\/delta\?\$deltatoken=/);
    const path = (u: string) => u.replace('http://localhost:80', '');

    const empty = await call(h, 'GET', path(link));
    assert.deepEqual(empty.body.value, [], 'nothing new yet');

    // A second call in the same meeting: one new transcript.
    const second = await scriptedMeeting(h, meeting, ['Dana'], [{ who: 'Dana', at: 3, text: 'Sorry I am late.' }], { endAt: 6 });
    const changes = await call(h, 'GET', path(link));
    assert.equal(changes.body.value.length, 1);
    assert.equal(changes.body.value[0].callId, second.callId);
    const again = await call(h, 'GET', path(changes.body['@odata.deltaLink']));
    assert.deepEqual(again.body.value, []);
    assert.ok(again.body['@odata.deltaLink']);

    // Paged: $top=1 gives a nextLink first, then the deltaLink.
    const paged = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${fn}/delta?$top=1`);
    assert.equal(paged.body.value.length, 1);
    assert.ok(paged.body['@odata.nextLink'], paged.raw);
    const page2 = await call(h, 'GET', path(paged.body['@odata.nextLink']));
    assert.equal(page2.body.value.length, 1);
    assert.notEqual(page2.body.value[0].id, paged.body.value[0].id);
    const page3 = await call(h, 'GET', path(page2.body['@odata.nextLink'] ?? page2.body['@odata.deltaLink']));
    assert.deepEqual(page3.body.value, []);
    assert.ok(page3.body['@odata.deltaLink']);

    // Recordings have the same delta rounds, per organizer and per meeting.
    const recs = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/getAllRecordings(meetingOrganizerUserId='${ORGANIZER}')/delta`);
    assert.equal(recs.body.value.length, 2);
    assert.equal((await call(h, 'GET', path(recs.body['@odata.deltaLink']))).body.value.length, 0);
    const perMeeting = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${meeting.id}/recordings/delta()`);
    assert.equal(perMeeting.status, 200, perMeeting.raw);
    assert.equal(perMeeting.body.value.length, 2);
    const perMeetingTr = await call(h, 'GET', `/beta/communications/onlineMeetings/${meeting.id}/transcripts/delta()`);
    assert.equal(perMeetingTr.body.value.length, 2);
  });

  test('ad hoc calls: startTranscription … stopTranscription gives a transcript of that window under each participant', async () => {
    const created = await call(h, 'POST', '/beta/communications/calls', { body: {
      '@odata.type': '#microsoft.graph.call', callbackUri: 'http://127.0.0.1:9/callback', requestedModalities: ['audio'],
      mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
      targets: [{ identity: { user: { id: 'a1a1a1a1-0000-4000-8000-000000000001', displayName: 'Erin Adhoc' } } }],
    } });
    const id = created.body.id;
    await advance(h, 1000);
    const [, erin] = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startTranscription`, { body: { language: 'en-us' } })).status, 202);
    await advance(h, 1000);
    await call(h, 'POST', `/_emulator/calls/${id}/participants/${erin.id}/audio`, { auth: false, body: { type: 'speech', text: 'Just a quick question.' } });
    await advance(h, 4000);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopTranscription`, { body: {} })).status, 202);
    // Said after the window closed: not in the transcript.
    await call(h, 'POST', `/_emulator/calls/${id}/participants/${erin.id}/audio`, { auth: false, body: { type: 'speech', text: 'Off the record.' } });
    await advance(h, 3000);
    const base = `/v1.0/users/a1a1a1a1-0000-4000-8000-000000000001/adhocCalls/${id}/transcripts`;
    let list: any;
    for (let i = 0; i < 50 && !list?.body?.value?.length; i++) { await advance(h, 0); list = await call(h, 'GET', base); }
    assert.equal(list.body.value.length, 1, list.raw);
    const t = list.body.value[0];
    assert.equal(t.meetingId, null);
    assert.match(Buffer.from(t.id, 'base64url').toString(), new RegExp(`^3##19:.*@thread\\.v2##${id}-\\d+-TranscriptV2##0$`));
    const vtt = await h.comp.app.inject({ method: 'GET', url: `${base}/${t.id}/content`, headers: { authorization: h.auth } });
    assert.deepEqual(parseVtt(vtt.body).map((c) => [c.startMs, c.speaker, c.text]), [[1000, 'Erin Adhoc', 'Just a quick question.']]);
    assert.equal((await call(h, 'GET', `/v1.0/users/someone-else/adhocCalls/${id}/transcripts/${t.id}`)).status, 404);
    const all = await call(h, 'GET', `/beta/users/a1a1a1a1-0000-4000-8000-000000000001/adhocCalls/getAllTranscripts(userId='a1a1a1a1-0000-4000-8000-000000000001')`);
    assert.deepEqual(all.body.value.map((x: any) => x.id), [t.id]);
    await call(h, 'DELETE', `/beta/communications/calls/${id}`);
  });
});
