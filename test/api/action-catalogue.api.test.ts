import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildHarness, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';

/**
 * Every call and participant action in Graph's metadata is served, on exactly the versions that have it.
 * The catalogue below is what the README lists; when Graph's metadata is beside the repository (as here
 * and in CI on this machine) the catalogue is checked against it, so a new action in the metadata fails
 * this test until it is served or listed as left out.
 */

type Binding = 'call' | 'participant' | 'Collection(participant)' | 'Collection(call)';
interface Action { name: string; boundTo: Binding; versions: Array<'v1.0' | 'beta'> }

const BOTH = ['v1.0', 'beta'] as Array<'v1.0' | 'beta'>;
const BETA = ['beta'] as Array<'v1.0' | 'beta'>;
export const SERVED: Action[] = [
  { name: 'answer', boundTo: 'call', versions: BOTH },
  { name: 'reject', boundTo: 'call', versions: BOTH },
  { name: 'redirect', boundTo: 'call', versions: BOTH },
  { name: 'keepAlive', boundTo: 'call', versions: BOTH },
  { name: 'transfer', boundTo: 'call', versions: BOTH },
  { name: 'mute', boundTo: 'call', versions: BOTH },
  { name: 'unmute', boundTo: 'call', versions: BOTH },
  { name: 'playPrompt', boundTo: 'call', versions: BOTH },
  { name: 'recordResponse', boundTo: 'call', versions: BOTH },
  { name: 'record', boundTo: 'call', versions: BETA },
  { name: 'cancelMediaProcessing', boundTo: 'call', versions: BOTH },
  { name: 'subscribeToTone', boundTo: 'call', versions: BOTH },
  { name: 'sendDtmfTones', boundTo: 'call', versions: BOTH },
  { name: 'changeScreenSharingRole', boundTo: 'call', versions: BOTH },
  { name: 'addLargeGalleryView', boundTo: 'call', versions: BOTH },
  { name: 'updateRecordingStatus', boundTo: 'call', versions: BOTH },
  { name: 'startRecording', boundTo: 'call', versions: BETA },
  { name: 'stopRecording', boundTo: 'call', versions: BETA },
  { name: 'startTranscription', boundTo: 'call', versions: BETA },
  { name: 'stopTranscription', boundTo: 'call', versions: BETA },
  { name: 'mute', boundTo: 'participant', versions: BOTH },
  { name: 'startHoldMusic', boundTo: 'participant', versions: BOTH },
  { name: 'stopHoldMusic', boundTo: 'participant', versions: BOTH },
  { name: 'invite', boundTo: 'Collection(participant)', versions: BOTH },
  { name: 'muteAll', boundTo: 'Collection(participant)', versions: BETA },
];
/** Deliberately not served (README "What it does today"): device telemetry, no call state to emulate. */
export const LEFT_OUT: Array<Pick<Action, 'name' | 'boundTo'>> = [{ name: 'logTeleconferenceDeviceQuality', boundTo: 'Collection(call)' }];

const CALL = '00000000-0000-4000-8000-00000000ca11';
const PARTICIPANT = '00000000-0000-4000-8000-0000000000a1';
const pathOf = (a: Pick<Action, 'name' | 'boundTo'>) => ({
  call: `/communications/calls/${CALL}/${a.name}`,
  participant: `/communications/calls/${CALL}/participants/${PARTICIPANT}/${a.name}`,
  'Collection(participant)': `/communications/calls/${CALL}/participants/${a.name}`,
  'Collection(call)': `/communications/calls/${a.name}`,
})[a.boundTo];

const METADATA = resolve(process.cwd(), '../shared/spec/graph-metadata-calls.json');
const BINDINGS = new Set<string>(['call', 'participant', 'Collection(participant)', 'Collection(call)']);

describe('the call and participant action catalogue', () => {
  let h: Harness;
  before(async () => { h = await buildHarness(); });
  after(() => h.close());

  test('matches Graph\'s metadata: every action bound to a call or participant is served or listed as left out', { skip: !existsSync(METADATA) && 'metadata not beside the repository' }, () => {
    const md = JSON.parse(readFileSync(METADATA, 'utf8')) as Record<'v1.0' | 'beta', { operations: Array<{ kind: string; name: string; boundTo: string }> }>;
    const key = (a: { name: string; boundTo: string }) => `${a.boundTo} ${a.name}`;
    for (const v of ['v1.0', 'beta'] as const) {
      const inMetadata = md[v].operations.filter((o) => o.kind === 'action' && BINDINGS.has(o.boundTo)).map(key).sort();
      const ours = [...SERVED.filter((a) => a.versions.includes(v)), ...LEFT_OUT].map(key).sort();
      assert.deepEqual(ours, inMetadata, `${v}: catalogue vs metadata`);
    }
  });

  test('each served action has a route on its versions and none on the others (Graph\'s unknown-segment 400 there)', async () => {
    for (const a of SERVED) {
      for (const v of ['v1.0', 'beta'] as const) {
        const res = await call(h, 'POST', `/${v}${pathOf(a)}`, { body: {} });
        const unknownSegment = res.status === 400 && /Resource not found for the segment/.test(res.body?.error?.message ?? '');
        if (a.versions.includes(v)) {
          // The route exists: an unknown call is 404 (or the body is refused first), never an unknown segment.
          assert.ok(!unknownSegment && res.status !== 405, `${v} ${a.boundTo} ${a.name}: ${res.status} ${res.raw}`);
          assert.ok([400, 404].includes(res.status), `${v} ${a.boundTo} ${a.name}: ${res.status} ${res.raw}`);
        } else {
          assert.ok(unknownSegment, `${v} ${a.boundTo} ${a.name} must not exist on ${v}: ${res.status} ${res.raw}`);
        }
      }
    }
  });

  test('what is left out answers as a path Graph does not serve here, naming the segment', async () => {
    for (const a of LEFT_OUT) {
      const res = await call(h, 'POST', `/v1.0${pathOf(a)}`, { body: {} });
      assert.ok(res.status === 400 || res.status === 404 || res.status === 405, `${a.name}: ${res.status} ${res.raw}`);
    }
  });
});
