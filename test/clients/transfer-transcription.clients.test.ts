/**
 * transfer (v1.0 and beta) and start/stopTranscription (beta) through the official Graph JS client and the
 * Kiota beta SDK over a real socket, with the bot's notifications read by the validating webhook receiver.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, GraphError, ResponseType } from '@microsoft/microsoft-graph-client';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createStartTranscriptionOperationFromDiscriminatorValue, createStopTranscriptionOperationFromDiscriminatorValue, serializeInvitationParticipantInfo, type InvitationParticipantInfo, type StartTranscriptionOperation, type StopTranscriptionOperation,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import {
  AllowedHostsValidator, BaseBearerTokenAuthenticationProvider, HttpMethod, RequestInformation, type ErrorMappings, type SerializationWriter,
} from '@microsoft/kiota-abstractions';
import { CLIENT_ID, p2pCallBody, startServer, type ServerHarness } from '../support/harness.js';
import { fetchDevToken } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';
import { graphClient, kiotaBetaAdapter } from '../support/official-clients.js';

type Json = Record<string, any>;
const ERRORS: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue };
const HEIDI = '550fae72-d251-43ec-868c-373732c2704f';
const DECLINER = 'dec11e00-0000-4000-8000-000000000001';

const summary = (r: Receiver, callId: string) => r.forCall(callId)
  .filter((n) => n.resourceUrl === `/communications/calls/${callId}`)
  .map((n) => `${n.changeType} ${n.resourceData.state}`);

describe('transfer and transcription through the official clients', () => {
  let h: ServerHarness;
  let bot: Receiver;
  let token: string;
  let v1: Client;
  let beta: Client;

  before(async () => {
    h = await startServer({ answerDelayMs: 20, operationDelayMs: 20 });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
    token = await fetchDevToken(h.url);
    v1 = graphClient(h.url, token, 'v1.0');
    beta = graphClient(h.url, token, 'beta');
    await fetch(`${h.url}/_emulator/far-side/${DECLINER}`, {
      method: 'PUT', headers: { 'content-type': 'application/json', 'x-graph-calls-control': '1' }, body: JSON.stringify({ response: 'decline', afterMs: 20 }),
    });
  });
  after(async () => {
    await h?.close();
    await bot?.close();
  });

  async function establishedCall(client: Client): Promise<string> {
    const call: Json = await client.api('/communications/calls').post(p2pCallBody({ callbackUri: bot.callbackUri }));
    await bot.waitForCount(3, { callId: call.id }); // establishing, established, roster
    return call.id as string;
  }

  test('Graph JS client, v1.0: blind transfer (doc example 1): 202, then transferring -> transferAccepted -> deleted {0, 7015}', async () => {
    const id = await establishedCall(v1);
    const res = (await v1.api(`/communications/calls/${id}/transfer`).responseType(ResponseType.RAW).post({
      transferTarget: { endpointType: 'default', identity: { user: { id: HEIDI, displayName: 'Heidi Steen' } } },
    })) as Response;
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '', '202 with no body');
    assert.ok(res.headers.get('request-id'));
    const got = await bot.waitForCount(6, { callId: id });
    assert.deepEqual(summary(bot, id), ['updated establishing', 'updated established', 'updated transferring', 'updated transferAccepted', 'deleted terminated']);
    const end = got.at(-1)!;
    assert.equal(end.resource, `/app/calls/${id}`);
    assert.deepEqual(end.resourceData.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 0, subcode: 7015, message: 'GracefulTransferCompleted' });
    assert.ok(!('terminationReason' in end.resourceData), 'v1.0 notifications carry no beta-only member');
    assert.equal(end.claims.aud, CLIENT_ID);
  });

  test('Graph JS client, beta: a declined transfer comes back established with {500, 7000}', async () => {
    const id = await establishedCall(beta);
    await beta.api(`/communications/calls/${id}/microsoft.graph.transfer`).post({ transferTarget: { identity: { user: { id: DECLINER } } } });
    const got = await bot.waitForCount(5, { callId: id });
    assert.deepEqual(summary(bot, id), ['updated establishing', 'updated established', 'updated transferring', 'updated established']);
    assert.deepEqual([got.at(-1)!.resourceData.resultInfo.code, got.at(-1)!.resourceData.resultInfo.subcode], [500, 7000]);
    assert.ok('terminationReason' in got.at(-1)!.resourceData, 'a beta call notifies in beta shape');
  });

  test('Graph JS client: bad transfer bodies are GraphErrors naming the member', async () => {
    const id = await establishedCall(v1);
    try {
      await v1.api(`/communications/calls/${id}/transfer`).post({ transferTarget: { identity: { phone: { id: '555' } } } });
      assert.fail('expected a 400');
    } catch (err) {
      assert.ok(err instanceof GraphError);
      assert.equal(err.statusCode, 400);
      assert.match(err.message, /E\.164/);
    }
  });

  function kiota(): GraphBetaRequestAdapter {
    const auth = new BaseBearerTokenAuthenticationProvider({
      getAuthorizationToken: async () => token,
      getAllowedHostsValidator: () => new AllowedHostsValidator(new Set(['127.0.0.1'])),
    });
    const adapter = new GraphBetaRequestAdapter(auth);
    adapter.baseUrl = `${h.url}/beta`;
    return adapter;
  }

  test('Kiota beta SDK: consultative transfer (doc example 2) with the SDK\'s own serializer; both calls end AppTransferred', async () => {
    const adapter = kiota();
    const a = await establishedCall(beta);
    const b = await establishedCall(beta);
    const target: InvitationParticipantInfo = {
      odataType: '#microsoft.graph.invitationParticipantInfo',
      endpointType: 'default',
      identity: { odataType: '#microsoft.graph.identitySet', user: { odataType: '#microsoft.graph.identity', id: HEIDI, displayName: 'Heidi Steen' } },
      replacesCallId: b,
    };
    const ri = new RequestInformation(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/microsoft.graph.transfer');
    ri.pathParameters['call%2Did'] = a;
    ri.setContentFromParsable(adapter, 'application/json', { transferTarget: target }, (w: SerializationWriter, v?: { transferTarget?: InvitationParticipantInfo } | null) => {
      w.writeObjectValue('transferTarget', v?.transferTarget, serializeInvitationParticipantInfo);
    });
    await adapter.sendNoResponseContent(ri, ERRORS);
    await bot.waitForCount(6, { callId: a });
    await bot.waitForCount(4, { callId: b });
    assert.deepEqual(summary(bot, a).slice(-3), ['updated transferring', 'updated transferAccepted', 'deleted terminated']);
    for (const id of [a, b]) {
      const end = bot.forCall(id).at(-1)!;
      assert.equal(end.resourceData.terminationReason, 'AppTransferred');
      assert.equal(end.resourceData.resultInfo.subcode, 7015);
    }
  });

  test('Graph JS client: startTranscription on v1.0 is an unknown segment; on beta it returns the operation', async () => {
    const id = await establishedCall(beta);
    try {
      await v1.api(`/communications/calls/${id}/startTranscription`).post({ language: 'en-us' });
      assert.fail('expected a 400');
    } catch (err) {
      assert.ok(err instanceof GraphError);
      assert.equal(err.statusCode, 400);
      assert.equal(err.message, "Resource not found for the segment 'startTranscription'.");
    }
    const op: Json = await beta.api(`/communications/calls/${id}/startTranscription`).post({ language: 'en-us', clientContext: 'js' });
    assert.equal(op['@odata.type'], '#microsoft.graph.startTranscriptionOperation');
    assert.equal(op.status, 'running');
    assert.equal(op.clientContext, 'js');
  });

  test('Kiota beta SDK: startTranscription / stopTranscription parse as their operation models; Location; notifications', async () => {
    const id = await establishedCall(beta);
    const adapter = kiota();
    const action = (name: string) => {
      const ri = new RequestInformation(HttpMethod.POST, `{+baseurl}/communications/calls/{call%2Did}/microsoft.graph.${name}`);
      ri.pathParameters['call%2Did'] = id;
      ri.headers.tryAdd('Accept', 'application/json');
      ri.setContentFromParsable(adapter, 'application/json', { language: 'en-us' }, (w: SerializationWriter, v?: { language?: string } | null) => {
        w.writeStringValue('language', v?.language);
      });
      return ri;
    };
    const start = await adapter.send<StartTranscriptionOperation>(action('startTranscription'), createStartTranscriptionOperationFromDiscriminatorValue, ERRORS);
    assert.equal(start?.odataType, '#microsoft.graph.startTranscriptionOperation');
    assert.ok(start?.id);
    const done = (await bot.waitForCount(5, { callId: id })).filter((n) => n.resourceUrl.endsWith(`/operations/${start.id}`));
    assert.equal(done[0]?.changeType, 'deleted');
    assert.equal(done[0]?.resourceData.status, 'completed');
    const update = bot.forCall(id).find((n) => n.resourceUrl === `/communications/calls/${id}` && n.resourceData.transcription);
    assert.equal(update?.resourceData.transcription.state, 'active');
    const stop = await adapter.send<StopTranscriptionOperation>(action('stopTranscription'), createStopTranscriptionOperationFromDiscriminatorValue, ERRORS);
    assert.equal(stop?.odataType, '#microsoft.graph.stopTranscriptionOperation');
    const call: Json = await beta.api(`/communications/calls/${id}`).get();
    assert.equal(call.transcription.state, 'inactive');
    assert.match(call.transcription.lastModifiedDateTime, /^\d{4}-\d\d-\d\dT/);
  });
});
