/**
 * The official Microsoft Graph JavaScript client (@microsoft/microsoft-graph-client 3.x) against a listening
 * graph-calls over plain http://127.0.0.1 — the way a recording bot's test suite would use it.
 *
 * Over http the stock AuthenticationHandler sends no bearer (isValidEndpoint() accepts only https, and the
 * handler even deletes an explicit Authorization header), so the client is built with
 * Client.initWithMiddleware and a chain of our own: StaticBearer -> RetryHandler -> HTTPMessageHandler
 * (research/stack.md §7). The token comes from graph-calls' Entra-shaped token endpoint over the socket.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  Client, GraphError, HTTPMessageHandler, ResponseType, RetryHandler, RetryHandlerOptions,
  type Context, type Middleware,
} from '@microsoft/microsoft-graph-client';
import { startServer, p2pCallBody, waitFor, type ServerHarness } from '../support/harness.js';
import { fetchDevToken } from '../support/graph-http.js';

const CLIENT_ID = '00000000-0000-4000-8000-0000000000b0';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The v3 client returns untyped JSON. */
type Json = Record<string, any>;


/** Adds `Authorization: Bearer …` to every request (or nothing when token is null). */
class StaticBearer implements Middleware {
  private next: Middleware | undefined;
  constructor(private readonly token: string | null) {}
  async execute(ctx: Context): Promise<void> {
    if (this.token !== null) {
      const options = (ctx.options ??= {});
      if (options.headers instanceof Headers) options.headers.set('Authorization', `Bearer ${this.token}`);
      else options.headers = { ...(options.headers as Record<string, string> | undefined), Authorization: `Bearer ${this.token}` };
    }
    if (!this.next) throw new Error('StaticBearer has no next middleware');
    return this.next.execute(ctx);
  }
  setNext(next: Middleware): void {
    this.next = next;
  }
}

function graphClient(baseUrl: string, token: string | null): Client {
  const bearer = new StaticBearer(token);
  const retry = new RetryHandler(new RetryHandlerOptions());
  const http = new HTTPMessageHandler();
  bearer.setNext(retry);
  retry.setNext(http);
  return Client.initWithMiddleware({ baseUrl, defaultVersion: 'beta', middleware: bearer });
}

/** Awaits a rejection and returns it as a GraphError (fails the test on success or another error type). */
async function graphError(p: Promise<unknown>): Promise<GraphError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof GraphError, `expected GraphError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

describe('@microsoft/microsoft-graph-client 3.x against graph-calls over http', () => {
  let h: ServerHarness;
  /** A second server whose far side never answers within a test: calls stay 'establishing'. */
  let slow: ServerHarness;
  let token: string;
  let client: Client;

  before(async () => {
    h = await startServer();
    slow = await startServer({ answerDelayMs: 600_000 });
    token = await fetchDevToken(h.url);
    client = graphClient(h.url, token);
  });

  after(async () => {
    await h?.close();
    await slow?.close();
  });

  /** POST a peer-to-peer call and wait (<= 5 s) until GET reports it established. */
  async function establishedCall(c: Client = client): Promise<Json> {
    const created = (await c.api('/communications/calls').post(p2pCallBody())) as Json;
    return waitFor(async () => {
      const call = (await c.api(`/communications/calls/${created.id}`).get()) as Json;
      return call.state === 'established' ? call : null;
    }, `call ${created.id} established`, 5000);
  }

  const botOf = async (call: Json): Promise<Json> => {
    const list = (await client.api(`/communications/calls/${call.id}/participants`).get()) as Json;
    const bot = (list.value as Json[]).find((p) => p.id === call.myParticipantId);
    assert.ok(bot, 'the bot (myParticipantId) is in the roster');
    return bot;
  };

  test('the stock AuthenticationHandler sends no bearer over http (why the custom chain exists)', async () => {
    const stock = Client.init({
      baseUrl: h.url,
      defaultVersion: 'beta',
      customHosts: new Set(['127.0.0.1']),
      authProvider: (done) => done(null, token),
    });
    const e = await graphError(stock.api('/communications/calls/00000000-0000-0000-0000-000000000000').get());
    assert.equal(e.statusCode, 401);
    assert.equal(e.code, 'InvalidAuthenticationToken');
    assert.equal(e.message, 'Access token is empty.');
  });

  describe('record a call: create -> startRecording -> stopRecording -> hang up', () => {
    let call: Json;
    let startOp: Json;
    let startLocation: string;
    let stopOp: Json;

    test('POST /communications/calls: 201, Location, state establishing', async () => {
      const res = (await client.api('/communications/calls').responseType(ResponseType.RAW).post(p2pCallBody())) as Response;
      assert.equal(res.status, 201);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      call = (await res.json()) as Json;
      assert.equal(call['@odata.type'], '#microsoft.graph.call');
      assert.match(call.id, GUID);
      assert.equal(call.state, 'establishing');
      assert.equal(res.headers.get('location'), `${h.url}/beta/communications/calls/${call.id}`);
    });

    test('GET the call until the far side answers: established', async () => {
      const established = await waitFor(async () => {
        const c = (await client.api(`/communications/calls/${call.id}`).get()) as Json;
        return c.state === 'established' ? c : null;
      }, 'call established', 5000);
      assert.equal(established.id, call.id);
      assert.equal(established.myParticipantId, call.myParticipantId);
      assert.equal((await botOf(call)).recordingInfo.recordingStatus, 'notRecording');
    });

    test('POST …/microsoft.graph.StartRecording (docs spelling): 202 + Location + running operation', async () => {
      const res = (await client.api(`/communications/calls/${call.id}/microsoft.graph.StartRecording`)
        .responseType(ResponseType.RAW)
        .post({ clientContext: 'start-ctx' })) as Response;
      assert.equal(res.status, 202);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      const requestId = res.headers.get('request-id');
      assert.match(requestId ?? '', GUID);
      // No client-request-id was sent (no TelemetryHandler in the chain): Graph echoes its request-id there.
      assert.equal(res.headers.get('client-request-id'), requestId);
      startOp = (await res.json()) as Json;
      assert.equal(startOp['@odata.type'], '#microsoft.graph.startRecordingOperation');
      assert.match(startOp.id, GUID);
      assert.equal(startOp.status, 'running');
      assert.equal(startOp.clientContext, 'start-ctx');
      startLocation = res.headers.get('location') ?? '';
      assert.equal(startLocation, `${h.url}/beta/communications/calls/${call.id}/operations/${startOp.id}`);
    });

    test('the bot participant reports recording while the recording runs', async () => {
      assert.equal((await botOf(call)).recordingInfo.recordingStatus, 'recording');
    });

    test('GET the Location: the start operation completes with resultInfo 200/0', async () => {
      // The v3 client only parses https:// absolute URLs; hand it the path after the version.
      const prefix = `${h.url}/beta`;
      assert.ok(startLocation.startsWith(prefix));
      const path = startLocation.slice(prefix.length);
      const done = await waitFor(async () => {
        const op = (await client.api(path).get()) as Json;
        return op.status === 'completed' ? op : null;
      }, 'startRecording operation completed', 5000);
      assert.equal(done['@odata.type'], '#microsoft.graph.startRecordingOperation');
      assert.equal(done.id, startOp.id);
      assert.equal(done.clientContext, 'start-ctx');
      assert.equal(done.resultInfo.code, 200);
      assert.equal(done.resultInfo.subcode, 0);
    });

    test('POST …/stopRecording (SDK spelling) with clientContext: 202, completed', async () => {
      const res = (await client.api(`/communications/calls/${call.id}/stopRecording`)
        .responseType(ResponseType.RAW)
        .post({ clientContext: 'ctx-1' })) as Response;
      assert.equal(res.status, 202);
      stopOp = (await res.json()) as Json;
      assert.equal(stopOp['@odata.type'], '#microsoft.graph.stopRecordingOperation');
      assert.equal(stopOp.status, 'completed');
      assert.equal(stopOp.clientContext, 'ctx-1');
      assert.equal(res.headers.get('location'), `${h.url}/beta/communications/calls/${call.id}/operations/${stopOp.id}`);
    });

    test('GET the stop operation back: clientContext echoed, status completed', async () => {
      const op = (await client.api(`/communications/calls/${call.id}/operations/${stopOp.id}`).get()) as Json;
      assert.equal(op['@odata.type'], '#microsoft.graph.stopRecordingOperation');
      assert.equal(op.id, stopOp.id);
      assert.equal(op.clientContext, 'ctx-1');
      assert.equal(op.status, 'completed');
      assert.equal(op.resultInfo.code, 200);
    });

    test('the bot participant reports notRecording after stopRecording', async () => {
      assert.equal((await botOf(call)).recordingInfo.recordingStatus, 'notRecording');
    });

    test('DELETE the call: 204, then GET is 404 8522 once terminated', async () => {
      const res = (await client.api(`/communications/calls/${call.id}`).responseType(ResponseType.RAW).delete()) as Response;
      assert.equal(res.status, 204);
      const e = await waitFor(async () => {
        try {
          await client.api(`/communications/calls/${call.id}`).get();
          return null;
        } catch (err) {
          return err instanceof GraphError && err.statusCode === 404 ? err : null;
        }
      }, 'call gone after DELETE', 5000);
      assert.equal(e.code, '8522');
      assert.equal(e.message, 'Call not found.');
    });
  });

  describe('errors surface as GraphError', () => {
    test('unknown call: 404 8522 "Call not found." with the request id', async () => {
      const e = await graphError(client.api(`/communications/calls/${randomUUID()}/microsoft.graph.startRecording`).post({}));
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, '8522');
      assert.equal(e.message, 'Call not found.');
      assert.match(e.requestId ?? '', GUID);
      assert.equal(e.headers?.get('request-id'), e.requestId);
    });

    test('startRecording twice: 409 Conflict; stopRecording when not recording: 409 Conflict', async () => {
      const call = await establishedCall();
      const first = (await client.api(`/communications/calls/${call.id}/startRecording`).post({})) as Json;
      assert.equal(first.status, 'running');
      const again = await graphError(client.api(`/communications/calls/${call.id}/startRecording`).post({}));
      assert.equal(again.statusCode, 409);
      assert.equal(again.code, 'Conflict');
      assert.match(again.message, /already being recorded/);

      await client.api(`/communications/calls/${call.id}/stopRecording`).post({});
      const stopAgain = await graphError(client.api(`/communications/calls/${call.id}/stopRecording`).post({}));
      assert.equal(stopAgain.statusCode, 409);
      assert.equal(stopAgain.code, 'Conflict');
      assert.match(stopAgain.message, /not being recorded/);
    });

    test('startRecording before the call is established: 409 Conflict', async () => {
      const slowClient = graphClient(slow.url, await fetchDevToken(slow.url));
      const created = (await slowClient.api('/communications/calls').post(p2pCallBody())) as Json;
      assert.equal(created.state, 'establishing');
      const e = await graphError(slowClient.api(`/communications/calls/${created.id}/startRecording`).post({}));
      assert.equal(e.statusCode, 409);
      assert.equal(e.code, 'Conflict');
      assert.match(e.message, /establishing/);
    });

    test('v1.0 has no stopRecording: 400 BadRequest naming the segment', async () => {
      const call = await establishedCall();
      const e = await graphError(client.api(`/communications/calls/${call.id}/stopRecording`).version('v1.0').post({}));
      assert.equal(e.statusCode, 400);
      assert.equal(e.code, 'BadRequest');
      assert.equal(e.message, "Resource not found for the segment 'stopRecording'.");
    });

    test('bad or missing bearer: 401 InvalidAuthenticationToken with WWW-Authenticate', async () => {
      const bad = await graphError(graphClient(h.url, 'not-a-jwt').api('/communications/calls/x').get());
      assert.equal(bad.statusCode, 401);
      assert.equal(bad.code, 'InvalidAuthenticationToken');
      assert.match(bad.message, /JWT is not well formed/);
      assert.match(bad.headers?.get('www-authenticate') ?? '', /^Bearer .*error="invalid_token"/);

      // A well-formed token with a broken signature.
      const [head, payload, sig] = token.split('.');
      const forged = `${head}.${payload}.${sig!.slice(0, -4)}${sig!.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
      const forgedErr = await graphError(graphClient(h.url, forged).api('/communications/calls/x').get());
      assert.equal(forgedErr.statusCode, 401);
      assert.equal(forgedErr.code, 'InvalidAuthenticationToken');
      assert.equal(forgedErr.message, 'Access token validation failure. Signature verification failed.');

      const none = await graphError(graphClient(h.url, null).api('/communications/calls/x').get());
      assert.equal(none.statusCode, 401);
      assert.equal(none.code, 'InvalidAuthenticationToken');
      assert.equal(none.message, 'Access token is empty.');
    });

    test('clientContext must be a string: {"clientContext":5} is 400 BadRequest', async () => {
      const call = await establishedCall();
      const e = await graphError(client.api(`/communications/calls/${call.id}/startRecording`).post({ clientContext: 5 }));
      assert.equal(e.statusCode, 400);
      assert.equal(e.code, 'BadRequest');
      assert.match(e.message, /clientContext/);
      // Nothing started: a valid start still succeeds afterwards.
      const op = (await client.api(`/communications/calls/${call.id}/startRecording`).post({ clientContext: '5' })) as Json;
      assert.equal(op.clientContext, '5');
    });

    test('updateRecordingStatus on a non-compliance call: 403 8506', async () => {
      const call = await establishedCall();
      const e = await graphError(client.api(`/communications/calls/${call.id}/microsoft.graph.updateRecordingStatus`)
        .post({ clientContext: 'u-1', status: 'recording' }));
      assert.equal(e.statusCode, 403);
      assert.equal(e.code, '8506');
      assert.equal(e.message, 'API call not allowed for non-Compliance Recording call');
    });

    test('a client-request-id sent by the client is echoed, on success and in the error body', async () => {
      const call = await establishedCall();
      const sent = randomUUID();
      const res = (await client.api(`/communications/calls/${call.id}`)
        .header('client-request-id', sent)
        .responseType(ResponseType.RAW)
        .get()) as Response;
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('client-request-id'), sent);
      assert.notEqual(res.headers.get('request-id'), sent);

      const sent2 = randomUUID();
      const e = await graphError(client.api(`/communications/calls/${randomUUID()}`).header('client-request-id', sent2).get());
      assert.equal(e.statusCode, 404);
      assert.equal(e.headers?.get('client-request-id'), sent2);
      const body = JSON.parse(e.body as string) as Json; // GraphError.body is the JSON of `error`
      assert.equal(body.innerError['client-request-id'], sent2);
      assert.equal(body.innerError['request-id'], e.requestId);
    });
  });
});
