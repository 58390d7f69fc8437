import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isProblem, parseResource, scopeKeysFor } from '../../src/subscriptions/resource-strings.js';

const M = 'MSoxMjM0KjAqKjE5Om1lZXRpbmdfYWJjQHRocmVhZC52Mg';
const U = '5810CEDE-f3cc-42eb-b2c1-e9bd5d53ec96';

test('every resource string of the spec parses to its kind, scope, role and version', () => {
  const cases: Array<[string, string, string, string, boolean]> = [
    ['communications/onlineMeetings/getAllRecordings', 'callRecording', 'meetings', 'OnlineMeetingRecording.Read.All', false],
    [`communications/onlineMeetings/${M}/recordings`, 'callRecording', `meeting:${M}`, 'OnlineMeetingRecording.Read.All', false],
    [`communications/onlineMeetings('${M}')/recordings`, 'callRecording', `meeting:${M}`, 'OnlineMeetingRecording.Read.All', false],
    [`users/${U}/onlineMeetings/getAllRecordings`, 'callRecording', `userMeetings:${U.toLowerCase()}`, 'OnlineMeetingRecording.Read.All', false],
    ['appCatalogs/teamsApps/APP-1/installedToOnlineMeetings/getAllRecordings', 'callRecording', 'appMeetings:app-1', 'OnlineMeetingRecording.Read.All', true],
    ['communications/adhocCalls/getAllRecordings', 'callRecording', 'adhoc', 'CallRecordings.Read.All', true],
    ['communications/adhocCalls/CALL-1/recordings', 'callRecording', 'adhocCall:call-1', 'CallRecordings.Read.All', true],
    [`users/${U}/adhocCalls/getAllRecordings`, 'callRecording', `userAdhoc:${U.toLowerCase()}`, 'CallRecordings.Read.All', true],
    ['communications/onlineMeetings/getAllTranscripts', 'callTranscript', 'meetings', 'OnlineMeetingTranscript.Read.All', false],
    [`communications/onlineMeetings/${M}/transcripts`, 'callTranscript', `meeting:${M}`, 'OnlineMeetingTranscript.Read.All', false],
    [`users/${U}/onlineMeetings/getAllTranscripts`, 'callTranscript', `userMeetings:${U.toLowerCase()}`, 'OnlineMeetingTranscript.Read.All', false],
    ['appCatalogs/teamsApps/a/installedToOnlineMeetings/getAllTranscripts', 'callTranscript', 'appMeetings:a', 'OnlineMeetingTranscript.Read.All', true],
    ['communications/adhocCalls/getAllTranscripts', 'callTranscript', 'adhoc', 'CallTranscripts.Read.All', true],
    ['communications/adhocCalls/c/transcripts', 'callTranscript', 'adhocCall:c', 'CallTranscripts.Read.All', true],
    [`users/${U}/adhocCalls/getAllTranscripts`, 'callTranscript', `userAdhoc:${U.toLowerCase()}`, 'CallTranscripts.Read.All', true],
  ];
  for (const [resource, kind, scopeKey, role, betaOnly] of cases) {
    const p = parseResource(resource);
    assert.ok(!isProblem(p), `${resource}: ${isProblem(p) ? p.problem : ''}`);
    assert.deepEqual([p.kind, p.scopeKey, p.roles, p.betaOnly], [kind, scopeKey, [role], betaOnly], resource);
  }
});

test('spelling: leading slash, case of the fixed segments, `()` and the RSC switch are accepted; the meeting id keeps its case', () => {
  const a = parseResource('/COMMUNICATIONS/onlinemeetings/getallrecordings()?useResourceSpecificConsentBasedAuthorization=true');
  assert.ok(!isProblem(a));
  assert.equal(a.matchKey, 'callRecording|meetings');
  assert.equal(a.rsc, true);
  const lower = parseResource(`communications/onlineMeetings/${M.toLowerCase()}/recordings`);
  assert.ok(!isProblem(lower));
  assert.notEqual(lower.scopeKey, `meeting:${M}`);
});

test('anything else is a problem that names it', () => {
  for (const bad of ['', 'me/messages', 'communications/onlineMeetings', 'communications/onlineMeetings/getAllTrancripts', 'communications/calls/x/recordings',
    'communications/onlineMeetings/a/b/recordings', 'communications/onlineMeetings/getAllRecordings?$filter=x', 'users//onlineMeetings/getAllRecordings']) {
    const p = parseResource(bad);
    assert.ok(isProblem(p), `'${bad}' should be refused`);
  }
});

test('the publisher\'s scope keys cover exactly the subscriptions that announce an artifact', () => {
  assert.deepEqual(scopeKeysFor({ meetingId: M, organizerId: U, callId: 'c', userIds: ['u2'], appIds: ['A1'] }),
    ['meetings', `meeting:${M}`, `userMeetings:${U.toLowerCase()}`, 'appMeetings:a1']);
  assert.deepEqual(scopeKeysFor({ meetingId: null, organizerId: null, callId: 'C', userIds: ['U1', 'u2'], appIds: ['a'] }),
    ['adhoc', 'adhocCall:c', 'userAdhoc:u1', 'userAdhoc:u2']);
});
