/**
 * The official clients read what a recording pipeline reads — the meeting by its join link, its transcripts,
 * their content, getAllTranscripts and its delta — from a listening graph-calls over a real socket:
 * @microsoft/microsoft-graph-client 3.x and the Kiota-based beta SDK (request builders hand-built from the
 * generated URL templates, responses parsed with the SDK's own model factories; see test/clients/).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ResponseType } from '@microsoft/microsoft-graph-client';
import {
  createCallTranscriptCollectionResponseFromDiscriminatorValue, createOnlineMeetingCollectionResponseFromDiscriminatorValue, createOnlineMeetingFromDiscriminatorValue, type CallTranscriptCollectionResponse, type OnlineMeeting, type OnlineMeetingCollectionResponse,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import { HttpMethod, RequestInformation, type ErrorMappings } from '@microsoft/kiota-abstractions';
import type { Harness } from '../support/harness.js';
import { fetchDevToken } from '../support/graph-http.js';
import { newMeeting, ORGANIZER, parseVtt, pipelineHarness, scriptedMeeting } from './pipeline-support.js';
import { graphClient, kiotaBetaAdapter } from '../support/official-clients.js';

const ERRORS: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue };

describe('official clients read meetings and transcripts over a socket', () => {
  let h: Harness;
  let url: string;
  let token: string;
  let meeting: any;
  before(async () => {
    h = await pipelineHarness();
    url = (await h.comp.app.listen({ port: 0, host: '127.0.0.1' })).replace('localhost', '127.0.0.1');
    token = await fetchDevToken(url);
    meeting = await newMeeting(h);
    await scriptedMeeting(h, meeting, ['Alice'], [
      { who: 'organizer', at: 1, text: 'Hello from the organizer.' },
      { who: 'Alice', at: 3, text: 'And hello from Alice.' },
    ], { endAt: 6 });
  });
  after(() => h.close());

  test('Graph JS client: create, find by join link, list transcripts, download VTT, delta', async () => {
    const client = graphClient(url, token, 'v1.0');
    const created = await client.api(`/users/${ORGANIZER}/onlineMeetings`).post({ subject: 'From the JS client' });
    assert.equal(created.subject, 'From the JS client');
    const found = await client.api(`/users/${ORGANIZER}/onlineMeetings`).filter(`JoinWebUrl eq '${encodeURIComponent(meeting.joinWebUrl)}'`).get();
    assert.deepEqual(found.value.map((m: any) => m.id), [meeting.id]);
    const list = await client.api(`/users/${ORGANIZER}/onlineMeetings/${meeting.id}/transcripts`).get();
    assert.equal(list.value.length, 1);
    const vtt = await client.api(`/users/${ORGANIZER}/onlineMeetings/${meeting.id}/transcripts/${list.value[0].id}/content`).responseType(ResponseType.TEXT).get();
    assert.deepEqual(parseVtt(vtt).map((c) => [c.startMs, c.speaker, c.text]), [
      [1000, 'Olivia Organizer', 'Hello from the organizer.'], [3000, 'Alice', 'And hello from Alice.'],
    ]);
    const delta = await client.api(`/users/${ORGANIZER}/onlineMeetings/getAllTranscripts(meetingOrganizerUserId='${ORGANIZER}')/delta`).get();
    assert.equal(delta.value.length, 1);
    // The v3 client follows absolute links only for https Graph hosts; over http it is given the path.
    const next = await client.api((delta['@odata.deltaLink'] as string).replace(`${url}/v1.0`, '')).get();
    assert.deepEqual(next.value, []);
  });

  test('Kiota beta SDK: onlineMeeting and transcript models, content with the SDK\'s own Accept, aliases in getAllTranscripts', async () => {
    const adapter = kiotaBetaAdapter(url, token);
    const req = (template: string, params: Record<string, string>, accept = 'application/json') => {
      const ri = new RequestInformation(HttpMethod.GET, template);
      for (const [k, v] of Object.entries(params)) ri.pathParameters[k] = v;
      ri.headers.tryAdd('Accept', accept);
      return ri;
    };
    const m = await adapter.send<OnlineMeeting>(req('{+baseurl}/users/{user%2Did}/onlineMeetings/{onlineMeeting%2Did}', { 'user%2Did': ORGANIZER, 'onlineMeeting%2Did': meeting.id }),
      createOnlineMeetingFromDiscriminatorValue, ERRORS);
    assert.equal(m?.joinWebUrl, meeting.joinWebUrl);
    assert.equal(m?.chatInfo?.threadId, meeting.chatInfo.threadId);
    assert.equal(m?.participants?.organizer?.identity?.user?.id, ORGANIZER);
    const byLink = req('{+baseurl}/users/{user%2Did}/onlineMeetings{?%24filter}', { 'user%2Did': ORGANIZER });
    byLink.queryParameters['%24filter'] = `JoinWebUrl eq '${meeting.joinWebUrl}'`;
    const found = await adapter.send<OnlineMeetingCollectionResponse>(byLink, createOnlineMeetingCollectionResponseFromDiscriminatorValue, ERRORS);
    assert.deepEqual(found?.value?.map((x) => x.id), [meeting.id]);
    const list = await adapter.send<CallTranscriptCollectionResponse>(
      req('{+baseurl}/users/{user%2Did}/onlineMeetings/{onlineMeeting%2Did}/transcripts', { 'user%2Did': ORGANIZER, 'onlineMeeting%2Did': meeting.id }),
      createCallTranscriptCollectionResponseFromDiscriminatorValue, ERRORS);
    const t = list?.value?.[0];
    assert.equal(t?.meetingId, meeting.id);
    assert.ok(t?.createdDateTime instanceof Date);
    const bytes = await adapter.sendPrimitive<ArrayBuffer>(req('{+baseurl}/users/{user%2Did}/onlineMeetings/{onlineMeeting%2Did}/transcripts/{callTranscript%2Did}/content',
      { 'user%2Did': ORGANIZER, 'onlineMeeting%2Did': meeting.id, 'callTranscript%2Did': t!.id! }, 'application/octet-stream, application/json'), 'ArrayBuffer', ERRORS);
    assert.equal(parseVtt(Buffer.from(bytes!).toString('utf8')).length, 2);
    // The builders pass function parameters as OData aliases.
    const all = req(`{+baseurl}/users/{user%2Did}/onlineMeetings/getAllTranscripts(meetingOrganizerUserId='@meetingOrganizerUserId',startDateTime=@startDateTime,endDateTime=@endDateTime){?%40endDateTime*,%40meetingOrganizerUserId*,%40startDateTime*}`, { 'user%2Did': ORGANIZER });
    all.queryParameters['%40meetingOrganizerUserId'] = `'${ORGANIZER}'`;
    all.queryParameters['%40startDateTime'] = '2000-01-01T00:00:00Z';
    all.queryParameters['%40endDateTime'] = '2100-01-01T00:00:00Z';
    const got = await adapter.send<CallTranscriptCollectionResponse>(all, createCallTranscriptCollectionResponseFromDiscriminatorValue, ERRORS);
    assert.deepEqual(got?.value?.map((x) => x.id), [t!.id]);
  });
});
