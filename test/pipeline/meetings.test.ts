import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Harness } from '../support/harness.js';
import { TENANT } from '../support/harness.js';
import { call } from '../support/inject.js';
import { control, joinBody, newMeeting, ORGANIZER, parseVtt, pipelineHarness, scriptedMeeting } from './pipeline-support.js';

const ATTENDEE = '7c4e1b2f-3d5e-4f60-9b0a-1d2e3f4a5b6c';
const enc = (s: string) => encodeURIComponent(s);
/** Teams prints percent escapes in lowercase. */
const teams = (s: string) => encodeURIComponent(s).replace(/%[0-9A-F]{2}/g, (x) => x.toLowerCase());

describe('onlineMeetings as a pipeline finds them', () => {
  let h: Harness;
  before(async () => { h = await pipelineHarness(); });
  after(() => h.close());

  test('create: 201 with the onlineMeeting shape; the id, chatInfo and join link agree', async () => {
    const res = await call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings`, { body: {
      subject: 'Design sync', startDateTime: '2026-12-01T14:00:00Z', endDateTime: '2026-12-01T15:00:00Z',
      participants: { attendees: [{ identity: { user: { id: ATTENDEE } }, upn: 'ann@contoso.example', role: 'attendee' }] },
    } });
    assert.equal(res.status, 201, res.raw);
    const m = res.body;
    assert.equal(m['@odata.context'], `http://localhost:80/v1.0/$metadata#users('${ORGANIZER}')/onlineMeetings/$entity`);
    assert.equal(m['@odata.type'], '#microsoft.graph.onlineMeeting');
    assert.equal(m.subject, 'Design sync');
    assert.equal(m.startDateTime, '2026-12-01T14:00:00.000Z');
    assert.equal(m.endDateTime, '2026-12-01T15:00:00.000Z');
    assert.match(m.chatInfo.threadId, /^19:meeting_[A-Za-z0-9]+@thread\.v2$/);
    assert.equal(m.chatInfo.messageId, '0');
    assert.equal(Buffer.from(m.id, 'base64url').toString(), `1*${ORGANIZER}*0**${m.chatInfo.threadId}`);
    assert.equal(m.joinWebUrl, `https://teams.microsoft.com/l/meetup-join/${teams(m.chatInfo.threadId)}/0?context=${teams(JSON.stringify({ Tid: TENANT, Oid: ORGANIZER }))}`);
    assert.match(m.joinMeetingIdSettings.joinMeetingId, /^\d{13}$/);
    assert.equal(m.participants.organizer.identity.user.id, ORGANIZER);
    assert.equal(m.participants.organizer.role, 'presenter');
    assert.equal(m.participants.attendees[0].upn, 'ann@contoso.example');
    assert.equal(m.joinUrl, undefined, 'joinUrl is beta only');
    const beta = await call(h, 'GET', `/beta/users/${ORGANIZER}/onlineMeetings/${m.id}`);
    assert.equal(beta.status, 200);
    assert.equal(beta.body.joinUrl, m.joinWebUrl);
    assert.deepEqual(beta.body.participants.producers, []);
    // The organizer's or an invited attendee's id reads it; anyone else's does not.
    assert.equal((await call(h, 'GET', `/v1.0/users/${ATTENDEE}/onlineMeetings/${m.id}`)).status, 200);
    const other = await call(h, 'GET', `/v1.0/users/00000000-0000-4000-8000-00000000dead/onlineMeetings/${m.id}`);
    assert.deepEqual([other.status, other.body.error.code], [404, 'itemNotFound']);
  });

  test('lookup by join link: encoded once (the docs), twice, or as printed, it finds one meeting', async () => {
    const m = await newMeeting(h);
    for (const form of [enc(m.joinWebUrl), enc(enc(m.joinWebUrl)), m.joinWebUrl]) {
      const res = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings?$filter=${enc(`JoinWebUrl eq '${form}'`)}`);
      assert.equal(res.status, 200, res.raw);
      assert.equal(res.body['@odata.context'], `http://localhost:80/v1.0/$metadata#users('${ORGANIZER}')/onlineMeetings`);
      assert.deepEqual(res.body.value.map((x: any) => x.id), [m.id]);
    }
    const byId = await call(h, 'GET', `/beta/users/${ORGANIZER}/onlineMeetings?$filter=${enc(`joinMeetingIdSettings/joinMeetingId eq '${m.joinMeetingIdSettings.joinMeetingId}'`)}`);
    assert.deepEqual(byId.body.value.map((x: any) => x.id), [m.id]);
    const tenantWide = await call(h, 'GET', `/v1.0/communications/onlineMeetings?$filter=${enc(`JoinWebUrl eq '${m.joinWebUrl}'`)}`);
    assert.deepEqual(tenantWide.body.value.map((x: any) => x.id), [m.id]);
    const elsewhere = m.joinWebUrl.replace(/19%3ameeting_[A-Za-z0-9]+/, '19%3ameeting_nothere');
    assert.deepEqual((await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings?$filter=${enc(`JoinWebUrl eq '${elsewhere}'`)}`)).body.value, []);
  });

  test('createOrGet: 201 once, then 200 with the same meeting for the same externalId; another externalId is another meeting', async () => {
    const body = { externalId: 'ext-7781', subject: 'Standup' };
    const first = await call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings/createOrGet`, { body });
    assert.equal(first.status, 201, first.raw);
    assert.equal(first.body.externalId, 'ext-7781');
    assert.equal(Date.parse(first.body.endDateTime) - Date.parse(first.body.startDateTime), 3_600_000, 'default: one hour from now');
    const again = await call(h, 'POST', `/beta/users/${ORGANIZER}/onlineMeetings/createOrGet`, { body: { ...body, subject: 'changed' } });
    assert.equal(again.status, 200);
    assert.equal(again.body.id, first.body.id);
    assert.equal(again.body.subject, 'Standup');
    const other = await call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings/createOrGet`, { body: { externalId: 'ext-7782' } });
    assert.equal(other.status, 201);
    assert.notEqual(other.body.id, first.body.id);
    // Concurrent createOrGets with one externalId agree on one meeting.
    const racing = await Promise.all([1, 2, 3, 4].map(() => call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings/createOrGet`, { body: { externalId: 'ext-race' } })));
    assert.equal(new Set(racing.map((r) => r.body.id)).size, 1);
    assert.equal(racing.filter((r) => r.status === 201).length, 1);
  });

  test('join link -> meeting id -> join -> record -> recording and transcript, all under the meeting', async () => {
    const m = await newMeeting(h);
    // The pipeline starts from the link alone.
    const found = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings?$filter=${enc(`JoinWebUrl eq '${enc(m.joinWebUrl)}'`)}`);
    const meetingId = found.body.value[0].id;
    const run = await scriptedMeeting(h, m, ['Alice'], [{ who: 'Alice', at: 4, text: 'Recording and transcript, end to end.' }], { endAt: 10 });
    const recs = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${meetingId}/recordings`);
    assert.equal(recs.body.value.length, 1, recs.raw);
    assert.equal(recs.body.value[0].callId, run.callId);
    const content = await h.comp.app.inject({ method: 'GET', url: recs.body.value[0].recordingContentUrl.replace('http://localhost:80', ''), headers: { authorization: h.auth } });
    assert.equal(content.statusCode, 200);
    assert.ok(content.rawPayload.length > 44 + 9 * 32_000);
    const trs = await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${meetingId}/transcripts`);
    const vtt = await h.comp.app.inject({ method: 'GET', url: trs.body.value[0].transcriptContentUrl.replace('http://localhost:80', ''), headers: { authorization: h.auth } });
    assert.deepEqual(parseVtt(vtt.body).map((c) => [c.startMs, c.speaker, c.text]), [[4000, 'Alice', 'Recording and transcript, end to end.']]);
  });

  test('without auto-transcription (or with transcription not allowed) a meeting call has a recording but no transcript', async () => {
    const m = await newMeeting(h);
    assert.equal((await control(h, 'PATCH', `/_emulator/meetings/${m.id}/settings`, { allowTranscription: false })).body.autoTranscription, true);
    const created = await call(h, 'POST', '/beta/communications/calls', { body: joinBody(m.joinWebUrl) });
    const { advance } = await import('./pipeline-support.js');
    await advance(h, 1000);
    await call(h, 'DELETE', `/beta/communications/calls/${created.body.id}`);
    await advance(h, 1000);
    assert.equal((await h.comp.store.transcriptsByCall(created.body.id, 0, 10)).length, 0);
    assert.deepEqual((await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts`)).body.value, []);
  });
});

describe('bad inputs to every new route: a clear Graph error, and nothing changes', () => {
  let h: Harness;
  let m: any;
  before(async () => { h = await pipelineHarness(); m = await newMeeting(h); });
  after(() => h.close());

  test('create and createOrGet', async () => {
    const cases: Array<[string, unknown, RegExp]> = [
      [`/v1.0/users/${ORGANIZER}/onlineMeetings`, { startDateTime: 'tomorrow' }, /startDateTime/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings`, { startDateTime: '2026-12-02T10:00:00Z', endDateTime: '2026-12-02T09:00:00Z' }, /endDateTime.*before/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings`, { endDateTime: '2026-12-02T09:00:00Z' }, /without 'startDateTime'/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings`, { subject: 5 }, /subject/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings`, { participants: { attendees: 'all' } }, /attendees/],
      [`/v1.0/users/not-a-guid/onlineMeetings`, {}, /Entra object id/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/createOrGet`, { subject: 'no key' }, /externalId/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/createOrGet`, { externalId: '' }, /externalId/],
      [`/beta/communications/onlineMeetings`, { subject: 'no organizer' }, /participants\.organizer\.identity\.user\.id/],
    ];
    const before = await h.comp.store.onlineMeetingByExternalId(TENANT, ORGANIZER, 'never');
    for (const [url, body, message] of cases) {
      const res = await call(h, 'POST', url, { body });
      assert.equal(res.status, 400, `${url} ${JSON.stringify(body)}: ${res.raw}`);
      assert.equal(res.body.error.code, 'BadRequest');
      assert.match(res.body.error.message, message);
    }
    assert.equal(before, undefined);
    assert.equal(await h.comp.store.onlineMeetingByExternalId(TENANT, ORGANIZER, ''), undefined, 'nothing stored');
    const dup = await call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings`, { body: { externalId: 'dup' } });
    assert.equal(dup.status, 201);
    const dup2 = await call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings`, { body: { externalId: 'dup' } });
    assert.equal(dup2.status, 400);
    assert.match(dup2.body.error.message, /createOrGet/);
  });

  test('lookups and reads', async () => {
    const cases: Array<[string, number, string, RegExp]> = [
      [`/v1.0/users/${ORGANIZER}/onlineMeetings`, 400, 'BadRequest', /needs \$filter/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings?$filter=${enc("subject eq 'x'")}`, 400, 'BadRequest', /Invalid \$filter/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings?$filter=${enc("JoinWebUrl eq 'https://example.com/nope'")}`, 400, 'BadRequest', /Teams meeting join link/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/bm9wZQ`, 404, 'itemNotFound', /bm9wZQ/],
      [`/v1.0/communications/onlineMeetings/bm9wZQ`, 404, 'itemNotFound', /not found/],
      [`/v1.0/communications/onlineMeetings/getAllRecordings`, 404, 'NotFound', /^Requested API is not supported\. Please check the path\.$/],
      [`/v1.0/communications/onlineMeetings/getAllTranscripts/delta`, 404, 'NotFound', /not supported/],
      [`/beta/communications/adhocCalls`, 404, 'NotFound', /not supported/],
      [`/beta/communications/adhocCalls/getAllRecordings(userId='x')`, 404, 'NotFound', /not supported/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/getAllTranscripts(meetingOrganizerUserId='${ORGANIZER}')/nope`, 400, 'BadRequest', /segment 'nope'/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/getAllTranscripts(startDateTime=soon)`, 400, 'BadRequest', /startDateTime/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/getAllTranscripts/delta?$deltatoken=garbage`, 400, 'BadRequest', /\$deltatoken/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/getAllRecordings/delta?$skiptoken=e30`, 400, 'BadRequest', /\$skiptoken/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/getAllTranscripts?$filter=${enc("subject eq 'x'")}`, 400, 'BadRequest', /MeetingOrganizer\/User\/Id/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts/bm9wZQ`, 404, 'itemNotFound', /transcript/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts/bm9wZQ/content`, 404, 'itemNotFound', /transcript/],
      [`/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts?$top=0`, 400, 'BadRequest', /\$top/],
      [`/v1.0/users/${ORGANIZER}/adhocCalls/whatever`, 400, 'BadRequest', /segment 'whatever'/],
    ];
    for (const [url, status, code, message] of cases) {
      const res = await call(h, 'GET', url);
      assert.equal(res.status, status, `${url}: ${res.raw}`);
      assert.equal(res.body.error.code, code, url);
      assert.match(res.body.error.message, message, url);
    }
  });

  test('transcript content: unsupported formats are refused by name; Kiota\'s Accept gets VTT', async () => {
    const run = await scriptedMeeting(h, m, ['Zed'], [{ who: 'Zed', at: 1, text: 'Format check.' }], { endAt: 3 });
    const [t] = (await call(h, 'GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts`)).body.value;
    assert.equal(t.callId, run.callId);
    const url = `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts/${t.id}/content`;
    const get = (q: string, accept?: string) => h.comp.app.inject({ method: 'GET', url: url + q, headers: { authorization: h.auth, ...(accept ? { accept } : {}) } });
    for (const [q, accept] of [['?$format=application/pdf', undefined], ['?$format=application/vnd.microsoft.graph.transcript%2Btext', undefined], ['', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'], ['', 'image/png']] as const) {
      const res = await get(q, accept);
      assert.equal(res.statusCode, 400, `${q} ${accept}`);
      assert.match(JSON.parse(res.body).error.message, /^Invalid format '.+' specified/);
    }
    const kiota = await get('', 'application/octet-stream, application/json');
    assert.equal(kiota.statusCode, 200);
    assert.match(String(kiota.headers['content-type']), /^text\/vtt/);
  });

  test('meeting settings (control plane)', async () => {
    const cases: Array<[string, unknown, number, RegExp]> = [
      [`/_emulator/meetings/${m.id}/settings`, { autoTranscription: 'yes' }, 400, /boolean/],
      [`/_emulator/meetings/${m.id}/settings`, { recordEverything: true }, 400, /unknown setting/],
      [`/_emulator/meetings/bm9wZQ/settings`, { autoTranscription: true }, 404, /No online meeting/],
    ];
    for (const [url, body, status, message] of cases) {
      const res = await control(h, 'PATCH', url, body);
      assert.equal(res.status, status, res.raw);
      assert.match(res.body.error.message, message);
    }
    assert.equal((await control(h, 'GET', `/_emulator/meetings/${m.id}/settings`)).body.autoTranscription, true, 'unchanged');
  });

  test('roles: reading meetings and transcripts needs the meeting and transcript roles', async () => {
    const put = await control(h, 'POST', '/_emulator/apps', { tenantId: TENANT, clientId: '11111111-2222-4333-8444-555555555555', clientSecret: 's', roles: ['Calls.JoinGroupCall.All'] });
    assert.equal(put.status, 201, put.raw);
    const { accessToken } = await h.comp.tokens.issue({ ...h.comp.apps.get('11111111-2222-4333-8444-555555555555')! });
    const auth = `Bearer ${accessToken}`;
    for (const [method, url] of [
      ['POST', `/v1.0/users/${ORGANIZER}/onlineMeetings`], ['GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}`],
      ['GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/${m.id}/transcripts`], ['GET', `/v1.0/users/${ORGANIZER}/onlineMeetings/getAllTranscripts`],
    ] as const) {
      const res = await call(h, method, url, { auth, body: method === 'POST' ? {} : undefined });
      assert.equal(res.status, 403, `${method} ${url}: ${res.raw}`);
      assert.equal(res.body.error.code, 'accessDenied');
    }
  });
});
