import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildHarness, meetingCallBody, p2pCallBody, TENANT, type Harness } from '../support/harness.js';
import { call, snapshot } from '../support/inject.js';

/**
 * call-transfer (v1.0 and beta docs) on the virtual clock: blind and consultative, to a user or a phone,
 * the notification sequence and its codes, the target's answer played by the far side, and bad input.
 */

const HEIDI = '550fae72-d251-43ec-868c-373732c2704f';
const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
const userTarget = (id = HEIDI, extra: Record<string, unknown> = {}) => ({
  endpointType: 'default', identity: { user: { id, displayName: 'Heidi Steen' } }, ...extra,
});

/** The call's notifications as `changeType state` lines (call resource only), after `skip` of them. */
async function callNotifications(h: Harness, callId: string): Promise<any[]> {
  return (await h.comp.store.listOutbox({ callId, limit: 1000 })).filter((n) => n.resourceUrl === `/communications/calls/${callId}`);
}
const lines = (ns: any[]) => ns.map((n) => `${n.changeType} ${n.resourceData.state}`);

describe('transfer on the virtual clock', () => {
  let h: Harness;
  before(async () => { h = await buildHarness({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500, ringingTimeoutMs: 30_000 }); });
  after(() => h.close());

  async function established(body = p2pCallBody(), version = 'beta'): Promise<string> {
    const created = await call(h, 'POST', `/${version}/communications/calls`, { body });
    assert.equal(created.status, 201, created.raw);
    await advance(h, 1000);
    const got = await call(h, 'GET', `/beta/communications/calls/${created.body.id}`);
    assert.equal(got.body.state, 'established');
    return created.body.id as string;
  }

  test('blind transfer to a user (v1.0 sample body): 202, transferring -> transferAccepted -> deleted {0, 7015}', async () => {
    const id = await established(p2pCallBody(), 'v1.0');
    const res = await call(h, 'POST', `/v1.0/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget() } });
    assert.equal(res.status, 202);
    assert.equal(res.raw, '');
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.state, 'transferring');
    await advance(h, 1000); // the target answers after --answer-delay-ms
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).body.state, 'transferAccepted');
    await advance(h, 500);
    assert.equal((await call(h, 'GET', `/v1.0/communications/calls/${id}`)).status, 404);
    const ns = await callNotifications(h, id);
    assert.deepEqual(lines(ns).slice(-3), ['updated transferring', 'updated transferAccepted', 'deleted terminated']);
    assert.deepEqual(ns.at(-1).resourceData.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 0, subcode: 7015, message: 'GracefulTransferCompleted' });
    // A call driven through v1.0 gets v1.0 notifications: no beta-only call members.
    for (const k of ['terminationReason', 'activeModalities', 'answeredBy', 'meetingCapability', 'ringingTimeoutInSeconds', 'routingPolicies']) {
      assert.ok(!(k in ns.at(-1).resourceData), `${k} is beta only`);
    }
  });

  test('blind transfer to a phone number (E.164), with clientContext', async () => {
    const id = await established();
    const res = await call(h, 'POST', `/beta/communications/calls/${id}/microsoft.graph.transfer`, {
      body: { transferTarget: { endpointType: 'default', identity: { phone: { '@odata.type': '#microsoft.graph.identity', id: '+12345678901' } }, languageId: 'en-us', region: 'amer' }, clientContext: '9e90d1c1-f61e-43e7-9f75-d420159aae08' },
    });
    assert.equal(res.status, 202);
    await advance(h, 1500);
    const ns = await callNotifications(h, id);
    assert.deepEqual(lines(ns).slice(-3), ['updated transferring', 'updated transferAccepted', 'deleted terminated']);
    assert.equal(ns.at(-1).resourceData.resultInfo.subcode, 7015);
  });

  test('consultative transfer (replacesCallId): both of the bot\'s calls end, terminationReason AppTransferred', async () => {
    const a = await established();
    const b = await established(p2pCallBody({ targets: [{ identity: { user: { id: HEIDI, displayName: 'Heidi Steen' } } }] }));
    const res = await call(h, 'POST', `/beta/communications/calls/${a}/transfer`, {
      body: { transferTarget: { '@odata.type': '#microsoft.graph.invitationParticipantInfo', ...userTarget(HEIDI, { replacesCallId: b.toUpperCase() }) } },
    });
    assert.equal(res.status, 202);
    await advance(h, 500);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${a}`)).body.state, 'transferAccepted');
    await advance(h, 500);
    for (const id of [a, b]) {
      const last = (await callNotifications(h, id)).at(-1);
      assert.equal(last.changeType, 'deleted');
      assert.equal(last.resourceData.state, 'terminated');
      assert.equal(last.resourceData.terminationReason, 'AppTransferred');
      assert.equal(last.resourceData.resultInfo.subcode, 7015);
    }
  });

  test('consultative transfer whose replaced call is gone: back to established with {500, 7700} and replacesContext', async () => {
    const a = await established();
    const b = await established();
    await call(h, 'DELETE', `/beta/communications/calls/${b}`);
    await advance(h, 500);
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${a}/transfer`, { body: { transferTarget: userTarget(HEIDI, { replacesCallId: b }) } })).status, 202);
    await advance(h, 500);
    const last = (await callNotifications(h, a)).at(-1);
    assert.deepEqual(lines([last]), ['updated established']);
    assert.equal(last.resourceData.resultInfo.code, 500);
    assert.equal(last.resourceData.resultInfo.subcode, 7700);
    assert.equal(last.resourceData.replacesContext, b);
    const got = await call(h, 'GET', `/beta/communications/calls/${a}`);
    assert.equal(got.body.state, 'established');
    // The call is usable again: a second transfer is accepted.
    assert.equal((await call(h, 'POST', `/beta/communications/calls/${a}/transfer`, { body: { transferTarget: userTarget() } })).status, 202);
  });

  for (const [response, code] of [['decline', 603], ['busy', 486]] as const) {
    test(`a target that answers '${response}': the transfer fails back to established with {500, 7000}`, async () => {
      const target = `7e57${response === 'busy' ? 'b' : 'd'}000-0000-4000-8000-000000000001`;
      assert.equal((await control(h, 'PUT', `/_emulator/far-side/${target}`, { response, afterMs: 2000 })).status, 200);
      const id = await established();
      assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget(target) } })).status, 202);
      await advance(h, 1999);
      assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).body.state, 'transferring', 'still ringing the target');
      await advance(h, 1);
      const last = (await callNotifications(h, id)).at(-1);
      assert.deepEqual(lines([last]), ['updated established']);
      assert.deepEqual([last.resourceData.resultInfo.code, last.resourceData.resultInfo.subcode], [500, 7000]);
      assert.ok(code > 0);
    });
  }

  test('a target that never answers: the transfer fails after the ringing timeout', async () => {
    const target = '7e57a000-0000-4000-8000-000000000002';
    await control(h, 'PUT', `/_emulator/far-side/${target}`, { response: 'noAnswer' });
    const id = await established();
    await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget(target) } });
    await advance(h, 29_999);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).body.state, 'transferring');
    await advance(h, 1);
    assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).body.state, 'established');
  });

  test('hanging up while transferring ends the call; the transfer outcome then does nothing', async () => {
    const id = await established();
    await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget() } });
    assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${id}`)).status, 204);
    await advance(h, 2000);
    const ns = await callNotifications(h, id);
    assert.deepEqual(lines(ns).slice(-3), ['updated transferring', 'updated terminating', 'deleted terminated']);
    assert.equal(ns.at(-1).resourceData.resultInfo.subcode, 5001);
  });

  test('group call: transferee names a participant; without it, or naming nobody, 400 and nothing changes', async () => {
    const id = await established(meetingCallBody());
    const roster = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
    const organizer = roster.find((p: any) => p.id !== undefined && p.info.identity.user);
    const before = await snapshot(h, id);
    const missing = await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget() } });
    assert.equal(missing.status, 400);
    assert.match(missing.body.error.message, /'transferee' is required/);
    const nobody = await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, {
      body: { transferTarget: userTarget(), transferee: { identity: { user: { id: '751f6800-3180-414d-bd94-333364659951' } }, participantId: '909c6581-5130-43e9-88f3-fcb3582cde37' } },
    });
    assert.equal(nobody.status, 400);
    assert.match(nobody.body.error.message, /transferee.*909c6581/);
    assert.equal(await snapshot(h, id), before);
    const ok = await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, {
      body: { transferTarget: userTarget(), transferee: { identity: organizer.info.identity, participantId: organizer.id.toUpperCase() } },
    });
    assert.equal(ok.status, 202, ok.raw);
  });

  test('bad input: clear 400s naming the member; wrong state 409; unknown call 404; nothing changes', async () => {
    const id = await established();
    const before = await snapshot(h, id);
    const cases: Array<[unknown, RegExp]> = [
      [{}, /transferTarget/],
      [{ transferTarget: { endpointType: 'default' } }, /identity/],
      [{ transferTarget: { identity: {} } }, /transferTarget\.identity' must name/],
      [{ transferTarget: { identity: { user: { displayName: 'no id' } } } }, /transferTarget\.identity\.user\.id/],
      [{ transferTarget: { identity: { phone: { id: '12345' } } } }, /E\.164/],
      [{ transferTarget: userTarget(HEIDI, { replacesCallId: id }) }, /replacesCallId/],
      [{ transferTarget: userTarget(), clientContext: 'x'.repeat(257) }, /clientContext/],
      [{ transferTarget: userTarget(), transferee: 'me' }, /transferee/],
    ];
    for (const [body, message] of cases) {
      const res = await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.body.error.code, 'BadRequest');
      assert.match(res.body.error.message, message, JSON.stringify(body));
    }
    assert.equal(await snapshot(h, id), before);

    const ringing = await call(h, 'POST', '/beta/communications/calls', { body: p2pCallBody() });
    const early = await call(h, 'POST', `/beta/communications/calls/${ringing.body.id}/transfer`, { body: { transferTarget: userTarget() } });
    assert.equal(early.status, 409);
    assert.match(early.body.error.message, /state 'establishing'/);
    await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget() } });
    const twice = await call(h, 'POST', `/beta/communications/calls/${id}/transfer`, { body: { transferTarget: userTarget() } });
    assert.equal(twice.status, 409);
    assert.match(twice.body.error.message, /state 'transferring'/);
    const unknown = await call(h, 'POST', '/beta/communications/calls/11111111-2222-4333-8444-555555555555/transfer', { body: { transferTarget: userTarget() } });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, '8522');
  });

  test('an app without Calls.Initiate.All gets 403 and nothing changes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-apps-'));
    const file = join(dir, 'apps.json');
    const limited = { tenantId: TENANT, clientId: '45454545-4545-4545-8545-454545454545', clientSecret: 's', roles: ['Calls.InitiateGroupCall.All'] };
    writeFileSync(file, JSON.stringify([limited]));
    const h2 = await buildHarness({ appsFile: file, clock: 'virtual', answerDelayMs: 10 });
    try {
      const auth = `Bearer ${(await h2.comp.tokens.issue({ ...limited, displayName: 'limited', callbackUri: null })).accessToken}`;
      const created = await call(h2, 'POST', '/beta/communications/calls', { body: p2pCallBody(), auth });
      await advance(h2, 10);
      const before = await snapshot(h2, created.body.id);
      const r = await call(h2, 'POST', `/beta/communications/calls/${created.body.id}/transfer`, { body: { transferTarget: userTarget() }, auth });
      assert.equal(r.status, 403);
      assert.match(r.body.error.message, /Calls\.Initiate\.All/);
      assert.equal(await snapshot(h2, created.body.id), before);
    } finally {
      await h2.close();
    }
  });
});
