import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { p2pCallBody, startServer, TENANT, waitFor, type ServerHarness } from '../support/harness.js';
import { cli, startCli, type RunningCli } from '../support/cli-run.js';

const RECORDER = { tenantId: TENANT, clientId: '5e5e5e5e-0000-4000-8000-00000000b07d', clientSecret: 'recorder-secret', roles: ['Calls.AccessMedia.All', 'Calls.JoinGroupCall.All', 'Calls.Initiate.All'], displayName: 'Recorder bot' };
const USER = { id: '7a7a7a7a-1111-4111-8111-11111111b07d', displayName: 'Recorded User' };

/** `graph-calls bot`, in-process, against one started server. */
describe('graph-calls bot', () => {
  let server: ServerHarness;
  let bot: RunningCli;
  let botUrl: string;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gc-bot-'));
    writeFileSync(join(dir, 'apps.json'), JSON.stringify([RECORDER]));
    server = await startServer({ answerDelayMs: 20, operationDelayMs: 20, appsFile: join(dir, 'apps.json') });
    bot = startCli(server.url, ['bot', '--port', '0', '--answer']);
    botUrl = (await bot.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+\/api\/calls/)).replace('listening on ', '');
  });
  after(async () => {
    await bot.stop();
    await server.close();
  });

  const deliveries = async (callId: string) =>
    ((await (await fetch(`${server.url}/_emulator/deliveries?callId=${callId}`)).json()) as { value: Array<{ status: number | null; outcome: string; error: string | null }> }).value;

  test('registers itself as the calling webhook, prints each notification on one line and answers an incoming call', async () => {
    assert.match(bot.out.stderr, new RegExp(`registered ${botUrl.replace(/[.]/g, '\\.')} as the calling webhook of app 00000000-0000-4000-8000-0000000000b0`));
    const placed = await cli(server.url, ['call', 'incoming', '--from', 'Carol']);
    assert.equal(placed.code, 0, placed.stderr);
    const id = placed.stdout.trim();
    await bot.waitFor(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}  ${id}  created  /communications/calls/${id}  state=incoming$`, 'm'));
    await bot.waitFor(new RegExp(`answered ${id}`));
    await bot.waitFor(new RegExp(`  ${id}  updated  /communications/calls/${id}  state=established$`, 'm'));
    await bot.waitFor(new RegExp(`  ${id}  updated  /communications/calls/${id}/participants  participants=\\d+$`, 'm'));
    // The far side hangs up: the end of the call and why.
    assert.equal((await fetch(`${server.url}/_emulator/calls/${id}/hangUp`, { method: 'POST', headers: { 'x-graph-calls-control': '1' } })).status, 200);
    await bot.waitFor(new RegExp(`  ${id}  deleted  /communications/calls/${id}  state=terminated  resultInfo=200/4521`, 'm'));
  });

  test('answers a /subscriptions validation handshake and prints change notifications, one line each', async () => {
    const token = 'Validation: Testing client application reachability for subscription Request-Id: 1';
    const hs = await fetch(`${botUrl.replace('/api/calls', '/api/notifications')}?validationToken=${encodeURIComponent(token)}`, { method: 'POST', headers: { 'content-type': 'text/plain' } });
    assert.equal(hs.status, 200);
    assert.equal(hs.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(await hs.text(), token);
    await bot.waitFor(/answered a subscription validation handshake on \/api\/notifications/);
    const sent = await fetch(botUrl.replace('/api/calls', '/api/notifications'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ value: [
      { subscriptionId: 'sub-1', changeType: 'created', resource: "users/o/onlineMeetings('m')/recordings('r')", clientState: 'x' },
      { subscriptionId: 'sub-1', lifecycleEvent: 'reauthorizationRequired' },
    ] }) });
    assert.equal(sent.status, 202, 'change notifications carry no bearer token: not refused');
    await bot.waitFor(/subscription sub-1  created  users\/o\/onlineMeetings\('m'\)\/recordings\('r'\)$/m);
    await bot.waitFor(/subscription sub-1  lifecycle reauthorizationRequired$/m);
  });

  test('refuses a notification with a bad token (401), saying why', async () => {
    const rule = await cli(server.url, ['faults', 'add', '{"id":"bad-aud","side":"notification","action":{"type":"badToken","token":"wrongAudience"},"once":true}']);
    assert.equal(rule.code, 0, rule.stderr);
    const id = (await cli(server.url, ['call', 'incoming', '--from', 'Mallory'])).stdout.trim();
    await bot.waitFor(/REFUSED a notification to \/api\/calls: token is for another app \(audience\) \(answered 401\)/);
    const attempts = await waitFor(async () => (await deliveries(id)).find((a) => a.status === 401), 'the refused attempt in the journal');
    assert.equal(attempts.outcome, 'rejected');
    assert.doesNotMatch(bot.out.stdout, new RegExp(`${id}  created`), 'a refused notification is not printed as received');
    const expired = await cli(server.url, ['faults', 'add', '{"side":"notification","action":{"type":"badToken","token":"unknownKey"},"once":true}']);
    assert.equal(expired.code, 0);
    await cli(server.url, ['call', 'incoming', '--from', 'Trudy']);
    await bot.waitFor(/REFUSED a notification to \/api\/calls: token signed by a key that is not in the discovery document/);
  });

  test('--json prints each body as received, one JSON document a line', async () => {
    const raw = startCli(server.url, ['bot', '--port', '0', '--json', '--no-register']);
    try {
      const url = (await raw.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+\/api\/calls/)).replace('listening on ', '');
      assert.doesNotMatch(raw.out.stderr, /registered/);
      const res = await fetch(`${server.url}/beta/communications/calls`, { method: 'POST', headers: { authorization: server.auth, 'content-type': 'application/json' }, body: JSON.stringify(p2pCallBody({ callbackUri: url })) });
      const call = (await res.json()) as { id: string };
      await raw.waitFor(/"state":"established"/);
      const docs = raw.out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { value: Array<{ resourceUrl: string; changeType: string }> });
      assert.ok(docs.length >= 2);
      assert.ok(docs.every((d) => d.value[0]!.resourceUrl.startsWith(`/communications/calls/${call.id}`)));
      assert.equal(docs[0]!.value[0]!.changeType, 'updated');
    } finally {
      await raw.stop();
    }
  });

  test('--answer with --app answers a compliance-recording invite', async () => {
    const recorder = startCli(server.url, ['bot', '--port', '0', '--answer', '--app', RECORDER.clientId, '--secret', RECORDER.clientSecret]);
    try {
      await recorder.waitFor(new RegExp(`registered .* as the calling webhook of app ${RECORDER.clientId}`));
      const put = await fetch(`${server.url}/_emulator/policies/bot-test`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userIds: [USER.id], recorderAppId: RECORDER.clientId }) });
      assert.equal(put.status, 200);
      await fetch(`${server.url}/beta/communications/calls`, { method: 'POST', headers: { authorization: server.auth, 'content-type': 'application/json' }, body: JSON.stringify(p2pCallBody({ callbackUri: botUrl, targets: [{ identity: { user: USER } }] })) });
      const line = await recorder.waitFor(/  ([0-9a-f-]{36})  created  \S+  state=incoming  \(compliance-recording invite\)/);
      const inviteId = /([0-9a-f-]{36})/.exec(line)![1]!;
      await recorder.waitFor(new RegExp(`answered ${inviteId} \\(compliance-recording invite\\)`));
      await recorder.waitFor(new RegExp(`  ${inviteId}  updated  /communications/calls/${inviteId}  state=established`));
    } finally {
      await recorder.stop();
      await fetch(`${server.url}/_emulator/policies/bot-test`, { method: 'DELETE', headers: { 'x-graph-calls-control': '1' } });
    }
  });

  test('a second bot on a port in use exits 2 naming the port', async () => {
    const port = new URL(botUrl).port;
    const r = await cli(server.url, ['bot', '--port', port]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`bot: port ${port} is in use`));
  });
});
