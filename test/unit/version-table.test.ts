import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { BETA_ONLY_MEMBERS, BETA_ONLY_TYPES } from '../../src/graph/version-table.js';
import { forVersion } from '../../src/graph/version-filter.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { deriveVersionTable } from '../../scripts/version-table.mjs';
import { buildHarness, meetingCallBody, p2pCallBody, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';

/**
 * v1.0 carries no beta-only types or members. The table the filter uses is generated from Graph's
 * metadata (shared/spec/graph-metadata-calls.json, beside the repository as in CI); this checks the
 * checked-in table against it, then checks real v1.0 bodies and notifications against the metadata.
 */

const METADATA = resolve(process.cwd(), '../shared/spec/graph-metadata-calls.json');
type Types = Record<string, { base?: string; properties?: Record<string, string> }>;
const metadata = existsSync(METADATA) ? JSON.parse(readFileSync(METADATA, 'utf8')) as { 'v1.0': { types: Types }; beta: { types: Types } } : null;
const skip = metadata ? false : `Graph's metadata is not at ${METADATA}`;

/** Every member `type` has in v1.0, inherited ones included (null: no such type in v1.0). */
function v1Members(type: string): Set<string> | null {
  const types = metadata!['v1.0'].types;
  if (!types[type]) return null;
  const out = new Set<string>();
  for (let t: typeof types[string] | undefined = types[type]; t; t = t.base ? types[t.base] : undefined) for (const p of Object.keys(t.properties ?? {})) out.add(p);
  return out;
}

/** Walks a v1.0 body: every typed value must be a v1.0 type, and carry no member v1.0 lacks that beta declares. */
function assertV1(value: unknown, where: string): void {
  if (Array.isArray(value)) { value.forEach((v, i) => assertV1(v, `${where}[${i}]`)); return; }
  if (!value || typeof value !== 'object') return;
  const o = value as Record<string, unknown>;
  const t = o['@odata.type'];
  if (typeof t === 'string') {
    const name = t.replace('#microsoft.graph.', '');
    const members = v1Members(name);
    assert.ok(members, `${where}: ${name} is not a v1.0 type`);
    const betaTypes = metadata!.beta.types;
    const betaDeclared = new Set<string>();
    for (let b: typeof betaTypes[string] | undefined = betaTypes[name]; b; b = b.base ? betaTypes[b.base] : undefined) for (const p of Object.keys(b.properties ?? {})) betaDeclared.add(p);
    for (const k of Object.keys(o)) if (!k.startsWith('@odata.')) assert.ok(members.has(k) || !betaDeclared.has(k), `${where}: ${name}.${k} is beta only`);
  }
  for (const [k, v] of Object.entries(o)) assertV1(v, `${where}.${k}`);
}

describe('the v1.0 filter table', { skip }, () => {
  test('the checked-in table is the one the metadata gives (regenerate: node scripts/version-table.mjs)', () => {
    const derived = deriveVersionTable(metadata);
    assert.deepEqual(BETA_ONLY_TYPES, derived.betaOnlyTypes);
    assert.deepEqual(BETA_ONLY_MEMBERS, derived.betaOnlyMembers);
    assert.deepEqual(BETA_ONLY_MEMBERS.call, ['activeModalities', 'answeredBy', 'meetingCapability', 'ringingTimeoutInSeconds', 'routingPolicies', 'terminationReason']);
  });

  test('forVersion: beta unchanged; v1.0 drops members, re-types beta-only types, keeps open extras', () => {
    const body = { '@odata.type': '#microsoft.graph.call', id: 'x', terminationReason: 'r', applicationMetadata: { a: 1 }, resultInfo: { '@odata.type': '#microsoft.graph.resultInfo', code: 1, subcode: 2, message: 'm' } };
    assert.equal(forVersion(body, 'beta'), body);
    assert.deepEqual(forVersion(body, 'v1.0'), { '@odata.type': '#microsoft.graph.call', id: 'x', applicationMetadata: { a: 1 }, resultInfo: body.resultInfo });
    assert.deepEqual(forVersion({ '@odata.type': '#microsoft.graph.startRecordingOperation', id: 'o', status: 'running' }, 'v1.0'),
      { '@odata.type': '#microsoft.graph.commsOperation', id: 'o', status: 'running' });
    assert.deepEqual(forVersion([{ '@odata.type': '#microsoft.graph.meetingCapability' }], 'v1.0'), [null]);
    const proto = forVersion(JSON.parse('{"@odata.type":"#microsoft.graph.identity","__proto__":{"x":1}}'), 'v1.0') as Record<string, unknown>;
    assert.ok(Object.prototype.hasOwnProperty.call(proto, '__proto__'), 'a "__proto__" member stays a plain member');
  });
});

describe('v1.0 responses and notifications against the metadata', { skip }, () => {
  let h: Harness;
  before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 100, operationDelayMs: 50 }); });
  after(() => h.close());

  test('a call driven through v1.0: every body and every notification is v1.0-shaped; beta keeps its members', async () => {
    for (const body of [p2pCallBody(), meetingCallBody()]) {
      const created = await call(h, 'POST', '/v1.0/communications/calls', { body });
      assertV1(created.body, 'POST /calls');
      const id = created.body.id;
      await call(h, 'POST', '/_emulator/clock/advance', { body: { ms: 100 }, auth: false });
      // Recording started through beta on the same call: its operation is beta-only.
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
      await call(h, 'POST', '/_emulator/clock/advance', { body: { ms: 50 }, auth: false });
      assertV1((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body, 'GET call');
      const ops = await call(h, 'GET', `/v1.0/communications/calls/${id}/operations`);
      assert.equal(ops.body.value.length, 1);
      assertV1(ops.body, 'GET operations');
      assertV1((await call(h, 'GET', `/v1.0/communications/calls/${id}/participants`)).body, 'GET participants');
      const outbox = await h.comp.store.listOutbox({ callId: id, limit: 100 });
      assert.ok(outbox.length >= 4);
      for (const n of outbox) assertV1(n.resourceData, `notification ${n.resourceUrl}`);
      const beta = await call(h, 'GET', `/beta/communications/calls/${id}`);
      for (const k of BETA_ONLY_MEMBERS.call!) assert.ok(k in beta.body, `beta call has ${k}`);
      assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}/operations`)).body.value[0]['@odata.type'], '#microsoft.graph.startRecordingOperation');
    }
  });

  test('a call created through beta notifies in beta shape', async () => {
    const created = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
    const first = (await h.comp.store.listOutbox({ callId: created.body.id, limit: 10 }))[0]!;
    assert.ok('terminationReason' in (first.resourceData as object));
  });
});
