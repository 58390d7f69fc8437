/**
 * The Kiota-based Graph beta SDK (@microsoft/msgraph-beta-sdk 1.0.0-preview) against a listening graph-calls
 * over plain http://127.0.0.1.
 *
 * The published package holds the request adapter and the models but no request builders
 * (research/stack.md §7), so each request is a hand-built RequestInformation using the URL templates the
 * generated builders use (`{+baseurl}/communications/calls/{call%2Did}/microsoft.graph.startRecording`), and
 * each response is parsed with the models' discriminator factories — exactly what the builders would do.
 *
 * Known client/wire gap this file pins down: Graph sends commsOperation.status in lowercase
 * ("running", "completed"), while the SDK's OperationStatusObject is PascalCase and Kiota's enum lookup is
 * exact, so the parsed model's `status` is undefined. The raw wire value is checked with a second request.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createCallFromDiscriminatorValue, createCommsOperationFromDiscriminatorValue, createParticipantCollectionResponseFromDiscriminatorValue,
  createStartRecordingOperationFromDiscriminatorValue, createStopRecordingOperationFromDiscriminatorValue,
  createUpdateRecordingStatusOperationFromDiscriminatorValue, serializeCall,
  type Call, type CommsOperation, type ParticipantCollectionResponse, type StartRecordingOperation, type StopRecordingOperation,
  type UpdateRecordingStatusOperation,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue, type ODataError } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import {
  AllowedHostsValidator, BaseBearerTokenAuthenticationProvider, HttpMethod, RequestInformation,
  type ErrorMappings, type SerializationWriter,
} from '@microsoft/kiota-abstractions';
import { HeadersInspectionOptions } from '@microsoft/kiota-http-fetchlibrary';
import { startServer, waitFor, type ServerHarness } from '../support/harness.js';
import { fetchDevToken } from '../support/graph-http.js';

const CLIENT_ID = '00000000-0000-4000-8000-0000000000b0';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const ERRORS: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue };

const CALLS = '{+baseurl}/communications/calls';
const CALL = '{+baseurl}/communications/calls/{call%2Did}';
const ACTION = (name: string) => `{+baseurl}/communications/calls/{call%2Did}/microsoft.graph.${name}`;
const OPERATION = '{+baseurl}/communications/calls/{call%2Did}/operations/{commsOperation%2Did}';
const PARTICIPANTS = '{+baseurl}/communications/calls/{call%2Did}/participants';


function makeAdapter(baseUrl: string, token: string, version: 'beta' | 'v1.0' = 'beta'): GraphBetaRequestAdapter {
  const auth = new BaseBearerTokenAuthenticationProvider({
    getAuthorizationToken: async () => token,
    getAllowedHostsValidator: () => new AllowedHostsValidator(new Set(['127.0.0.1'])),
  });
  const adapter = new GraphBetaRequestAdapter(auth);
  adapter.baseUrl = `${baseUrl}/${version}`; // default is https://graph.microsoft.com/beta
  return adapter;
}

function request(method: HttpMethod, template: string, params: Record<string, string> = {}): RequestInformation {
  const ri = new RequestInformation(method, template);
  for (const [k, v] of Object.entries(params)) ri.pathParameters[k] = v;
  ri.headers.tryAdd('Accept', 'application/json');
  return ri;
}

type ActionBody = { clientContext?: string | number | null; status?: string };
/** JSON body for recording actions, written with Kiota's serialization writer (number allowed to test the 400). */
function setActionBody(adapter: GraphBetaRequestAdapter, ri: RequestInformation, body: ActionBody): void {
  ri.setContentFromParsable(adapter, 'application/json', body, (w: SerializationWriter, v?: Partial<ActionBody> | null) => {
    if (typeof v?.clientContext === 'number') w.writeNumberValue('clientContext', v.clientContext);
    else w.writeStringValue('clientContext', v?.clientContext);
    if (v?.status !== undefined) w.writeStringValue('status', v.status);
  });
}

/** The first value of a response header captured by HeadersInspectionOptions (a Set<string> per header). */
const firstHeader = (hio: HeadersInspectionOptions, name: string): string | undefined => [...(hio.getResponseHeaders().get(name) ?? [])][0];

/** A peer-to-peer call, as a Kiota model serialized by the SDK's own serializeCall. */
function p2pCall(): Call {
  return {
    odataType: '#microsoft.graph.call',
    callbackUri: 'http://127.0.0.1:9/callback',
    requestedModalities: ['audio'],
    mediaConfig: { odataType: '#microsoft.graph.serviceHostedMediaConfig' },
    targets: [{
      odataType: '#microsoft.graph.invitationParticipantInfo',
      identity: {
        odataType: '#microsoft.graph.identitySet',
        user: { odataType: '#microsoft.graph.identity', id: '8d4a0c7e-1b3f-4e5a-9c2d-6f7e8a9b0c1d', displayName: 'Alice' },
      },
    }],
  };
}

/**
 * Awaits a rejection and returns the ODataError. Kiota throws the deserialized model (not an Error
 * subclass: no instanceof check is possible), with responseStatusCode/responseHeaders added by the adapter.
 */
async function odataError(p: Promise<unknown>): Promise<ODataError> {
  try {
    await p;
  } catch (err) {
    // Its prototype chain has no Object.prototype: String(err) would throw, so describe it with inspect().
    assert.ok(err !== null && typeof err === 'object', `expected an ODataError object, got ${inspect(err)}`);
    assert.ok(!(err instanceof Error), 'Kiota ODataError is a plain model object, not an Error');
    assert.ok('errorEscaped' in err && 'responseStatusCode' in err, `expected an ODataError, got ${inspect(err)}`);
    return err as ODataError;
  }
  assert.fail('expected the request to fail');
}

describe('@microsoft/msgraph-beta-sdk (Kiota) against graph-calls over http', () => {
  let h: ServerHarness;
  /** A second server whose far side never answers within a test: calls stay 'establishing'. */
  let slow: ServerHarness;
  let token: string;
  let adapter: GraphBetaRequestAdapter;

  before(async () => {
    h = await startServer();
    slow = await startServer({ answerDelayMs: 600_000 });
    token = await fetchDevToken(h.url);
    adapter = makeAdapter(h.url, token);
  });

  after(async () => {
    await h?.close();
    await slow?.close();
  });

  async function createCall(a: GraphBetaRequestAdapter = adapter, hio?: HeadersInspectionOptions): Promise<Call> {
    const ri = request(HttpMethod.POST, CALLS);
    ri.setContentFromParsable(a, 'application/json', p2pCall(), serializeCall);
    if (hio) ri.addRequestOptions([hio]);
    const call = await a.send<Call>(ri, createCallFromDiscriminatorValue, ERRORS);
    assert.ok(call?.id);
    return call;
  }

  const getCall = (id: string, a: GraphBetaRequestAdapter = adapter) =>
    a.send<Call>(request(HttpMethod.GET, CALL, { 'call%2Did': id }), createCallFromDiscriminatorValue, ERRORS);

  async function establishedCall(): Promise<Call> {
    const created = await createCall();
    return waitFor(async () => {
      const c = await getCall(created.id!);
      return c?.state === 'established' ? c : null;
    }, `call ${created.id} established`, 5000);
  }

  function action(name: string, callId: string, body: ActionBody, a: GraphBetaRequestAdapter = adapter): RequestInformation {
    const ri = request(HttpMethod.POST, ACTION(name), { 'call%2Did': callId });
    setActionBody(a, ri, body);
    return ri;
  }

  /** The operation's JSON exactly as sent, through the same adapter (bytes, no model). */
  async function rawOperation(callId: string, opId: string): Promise<Record<string, unknown>> {
    const ri = request(HttpMethod.GET, OPERATION, { 'call%2Did': callId, 'commsOperation%2Did': opId });
    const bytes = await adapter.sendPrimitive<ArrayBuffer>(ri, 'ArrayBuffer', ERRORS);
    assert.ok(bytes);
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
  }

  async function botRecordingStatus(call: Call): Promise<string | null | undefined> {
    const list = await adapter.send<ParticipantCollectionResponse>(
      request(HttpMethod.GET, PARTICIPANTS, { 'call%2Did': call.id! }), createParticipantCollectionResponseFromDiscriminatorValue, ERRORS);
    const bot = list?.value?.find((p) => p.id === call.myParticipantId);
    assert.ok(bot, 'the bot (myParticipantId) is in the roster');
    return bot.recordingInfo?.recordingStatus;
  }

  describe('record a call: create -> startRecording -> stopRecording -> hang up', () => {
    let call: Call;
    let startOp: StartRecordingOperation;
    let stopOp: StopRecordingOperation;

    test('create: parses as a call in state establishing, Location via HeadersInspectionOptions', async () => {
      const hio = new HeadersInspectionOptions({ inspectResponseHeaders: true });
      call = await createCall(adapter, hio);
      assert.equal(call.odataType, '#microsoft.graph.call');
      assert.match(call.id ?? '', GUID);
      // callState is camelCase in the SDK ('establishing'), matching the wire, so it parses.
      assert.equal(call.state, 'establishing');
      assert.equal(call.direction, 'outgoing');
      assert.deepEqual(call.requestedModalities, ['audio']);
      assert.equal(call.mediaConfig?.odataType, '#microsoft.graph.serviceHostedMediaConfig');
      assert.equal(call.targets?.[0]?.identity?.user?.displayName, 'Alice');
      assert.match(call.myParticipantId ?? '', GUID);
      assert.equal(firstHeader(hio, 'location'), `${h.url}/beta/communications/calls/${call.id}`);
    });

    test('GET until established; the bot is notRecording', async () => {
      const established = await waitFor(async () => {
        const c = await getCall(call.id!);
        return c?.state === 'established' ? c : null;
      }, 'call established', 5000);
      assert.equal(established.id, call.id);
      assert.equal(await botRecordingStatus(call), 'notRecording');
    });

    test('startRecording: 202 startRecordingOperation, Location of the operation, status undefined (casing gap)', async () => {
      const ri = action('startRecording', call.id!, { clientContext: 'start-ctx' });
      const hio = new HeadersInspectionOptions({ inspectResponseHeaders: true });
      ri.addRequestOptions([hio]);
      const op = await adapter.send<StartRecordingOperation>(ri, createStartRecordingOperationFromDiscriminatorValue, ERRORS);
      assert.ok(op);
      startOp = op;
      assert.equal(op.odataType, '#microsoft.graph.startRecordingOperation');
      assert.match(op.id ?? '', GUID);
      assert.equal(op.clientContext, 'start-ctx');
      // Fidelity gap, on purpose: the wire says "running" (Graph's real casing), the SDK's OperationStatus
      // enum only knows "Running", and Kiota's enum lookup is exact -> undefined in the model.
      assert.equal(op.status, undefined);
      assert.equal(firstHeader(hio, 'location'), `${h.url}/beta/communications/calls/${call.id}/operations/${op.id}`);
      assert.match(firstHeader(hio, 'request-id') ?? '', GUID);
      assert.match(firstHeader(hio, 'content-type') ?? '', /^application\/json/);
    });

    test('the bot participant reports recording (recordingStatus is camelCase in the SDK, so it parses)', async () => {
      assert.equal(await botRecordingStatus(call), 'recording');
    });

    test('GET the operation (polymorphic commsOperation): startRecordingOperation, completes with resultInfo 200/0', async () => {
      const raw = await waitFor(async () => {
        const r = await rawOperation(call.id!, startOp.id!);
        return r.status === 'completed' ? r : null;
      }, 'startRecording operation completed', 5000);
      assert.equal(raw['@odata.type'], '#microsoft.graph.startRecordingOperation');

      const ri = request(HttpMethod.GET, OPERATION, { 'call%2Did': call.id!, 'commsOperation%2Did': startOp.id! });
      const op = await adapter.send<CommsOperation>(ri, createCommsOperationFromDiscriminatorValue, ERRORS);
      assert.ok(op);
      assert.equal(op.odataType, '#microsoft.graph.startRecordingOperation');
      assert.equal(op.id, startOp.id);
      assert.equal(op.clientContext, 'start-ctx');
      assert.equal(op.status, undefined); // "completed" on the wire; see the casing note above
      assert.equal(op.resultInfo?.code, 200);
      assert.equal(op.resultInfo?.subcode, 0);
    });

    test('stopRecording (SDK template …/microsoft.graph.stopRecording): stopRecordingOperation, clientContext echoed', async () => {
      const ri = action('stopRecording', call.id!, { clientContext: 'ctx-1' });
      const hio = new HeadersInspectionOptions({ inspectResponseHeaders: true });
      ri.addRequestOptions([hio]);
      const op = await adapter.send<StopRecordingOperation>(ri, createStopRecordingOperationFromDiscriminatorValue, ERRORS);
      assert.ok(op);
      stopOp = op;
      assert.equal(op.odataType, '#microsoft.graph.stopRecordingOperation');
      assert.equal(op.clientContext, 'ctx-1');
      assert.equal(op.status, undefined); // "completed" on the wire; see the casing note above
      assert.equal(firstHeader(hio, 'location'), `${h.url}/beta/communications/calls/${call.id}/operations/${op.id}`);

      const raw = await rawOperation(call.id!, op.id!);
      assert.equal(raw.status, 'completed');
      assert.equal(raw.clientContext, 'ctx-1');
    });

    test('GET the stop operation through the base factory: stopRecordingOperation, the bot is notRecording', async () => {
      const ri = request(HttpMethod.GET, OPERATION, { 'call%2Did': call.id!, 'commsOperation%2Did': stopOp.id! });
      const op = await adapter.send<CommsOperation>(ri, createCommsOperationFromDiscriminatorValue, ERRORS);
      assert.equal(op?.odataType, '#microsoft.graph.stopRecordingOperation');
      assert.equal(op?.clientContext, 'ctx-1');
      assert.equal(op?.resultInfo?.code, 200);
      assert.equal(await botRecordingStatus(call), 'notRecording');
    });

    test('DELETE with sendNoResponseContent, then GET is 404 8522 once terminated', async () => {
      await adapter.sendNoResponseContent(request(HttpMethod.DELETE, CALL, { 'call%2Did': call.id! }), ERRORS);
      const e = await waitFor(async () => {
        try {
          await getCall(call.id!);
          return null;
        } catch (err) {
          return (err as ODataError).responseStatusCode === 404 ? (err as ODataError) : null;
        }
      }, 'call gone after DELETE', 5000);
      assert.equal(e.errorEscaped?.code, '8522');
      assert.equal(e.errorEscaped?.message, 'Call not found.');
    });
  });

  describe('errors are thrown as ODataError', () => {
    test('unknown call: 404 8522 with innerError request ids', async () => {
      const e = await odataError(adapter.send(action('startRecording', randomUUID(), {}), createStartRecordingOperationFromDiscriminatorValue, ERRORS));
      assert.equal(e.responseStatusCode, 404);
      assert.equal(e.errorEscaped?.code, '8522');
      assert.equal(e.errorEscaped?.message, 'Call not found.');
      assert.equal(e.message, 'Call not found.'); // the adapter copies error.message up
      assert.match(e.errorEscaped?.innerError?.requestId ?? '', GUID);
      assert.ok(e.errorEscaped?.innerError?.date instanceof Date);
      assert.deepEqual(e.responseHeaders?.['request-id'], [e.errorEscaped?.innerError?.requestId]);
    });

    test('startRecording twice: 409 Conflict; stopRecording when not recording: 409 Conflict', async () => {
      const call = await establishedCall();
      await adapter.send(action('startRecording', call.id!, {}), createStartRecordingOperationFromDiscriminatorValue, ERRORS);
      const again = await odataError(adapter.send(action('startRecording', call.id!, {}), createStartRecordingOperationFromDiscriminatorValue, ERRORS));
      assert.equal(again.responseStatusCode, 409);
      assert.equal(again.errorEscaped?.code, 'Conflict');

      await adapter.send(action('stopRecording', call.id!, {}), createStopRecordingOperationFromDiscriminatorValue, ERRORS);
      const stopAgain = await odataError(adapter.send(action('stopRecording', call.id!, {}), createStopRecordingOperationFromDiscriminatorValue, ERRORS));
      assert.equal(stopAgain.responseStatusCode, 409);
      assert.equal(stopAgain.errorEscaped?.code, 'Conflict');
    });

    test('startRecording before the call is established: 409 Conflict', async () => {
      const slowAdapter = makeAdapter(slow.url, await fetchDevToken(slow.url));
      const created = await createCall(slowAdapter);
      assert.equal(created.state, 'establishing');
      const e = await odataError(slowAdapter.send(action('startRecording', created.id!, {}, slowAdapter),
        createStartRecordingOperationFromDiscriminatorValue, ERRORS));
      assert.equal(e.responseStatusCode, 409);
      assert.equal(e.errorEscaped?.code, 'Conflict');
    });

    test('v1.0 has no stopRecording: 400 BadRequest naming the segment', async () => {
      const call = await establishedCall();
      // The adapter writes its baseUrl into every request's {+baseurl}, so v1.0 needs its own adapter.
      const v1 = makeAdapter(h.url, token, 'v1.0');
      const ri = request(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/stopRecording', { 'call%2Did': call.id! });
      setActionBody(v1, ri, {});
      const e = await odataError(v1.send(ri, createStopRecordingOperationFromDiscriminatorValue, ERRORS));
      assert.equal(e.responseStatusCode, 400);
      assert.equal(e.errorEscaped?.code, 'BadRequest');
      assert.equal(e.errorEscaped?.message, "Resource not found for the segment 'stopRecording'.");
    });

    test('bad bearer: 401 InvalidAuthenticationToken', async () => {
      const bad = makeAdapter(h.url, 'not-a-jwt');
      const e = await odataError(getCall(randomUUID(), bad));
      assert.equal(e.responseStatusCode, 401);
      assert.equal(e.errorEscaped?.code, 'InvalidAuthenticationToken');
      assert.match(e.errorEscaped?.message ?? '', /JWT is not well formed/);
    });

    test('{"clientContext":5}: 400 BadRequest', async () => {
      const call = await establishedCall();
      const e = await odataError(adapter.send(action('startRecording', call.id!, { clientContext: 5 }), createStartRecordingOperationFromDiscriminatorValue, ERRORS));
      assert.equal(e.responseStatusCode, 400);
      assert.equal(e.errorEscaped?.code, 'BadRequest');
      assert.match(e.errorEscaped?.message ?? '', /clientContext/);
    });

    test('updateRecordingStatus on a non-compliance call: 403 8506', async () => {
      const call = await establishedCall();
      const e = await odataError(adapter.send<UpdateRecordingStatusOperation>(
        action('updateRecordingStatus', call.id!, { clientContext: 'u-1', status: 'recording' }),
        createUpdateRecordingStatusOperationFromDiscriminatorValue, ERRORS));
      assert.equal(e.responseStatusCode, 403);
      assert.equal(e.errorEscaped?.code, '8506');
      assert.equal(e.errorEscaped?.message, 'API call not allowed for non-Compliance Recording call');
    });

    test('a client-request-id sent by the client is echoed in the header and innerError', async () => {
      const sent = randomUUID();
      const ri = request(HttpMethod.GET, CALL, { 'call%2Did': randomUUID() });
      ri.headers.tryAdd('client-request-id', sent);
      const e = await odataError(adapter.send(ri, createCallFromDiscriminatorValue, ERRORS));
      assert.equal(e.responseStatusCode, 404);
      assert.deepEqual(e.responseHeaders?.['client-request-id'], [sent]);
      assert.equal(e.errorEscaped?.innerError?.clientRequestId, sent);
    });
  });
});
