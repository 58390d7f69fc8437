/**
 * The media actions through the official clients over a real socket, on the virtual clock: the documented
 * requests (call-playprompt, call-record, call-subscribetotone, call-cancelmediaprocessing,
 * call-senddtmftones samples) sent by @microsoft/microsoft-graph-client (v1.0) and by the Kiota beta SDK's
 * adapter and models, with the bot's notifications read by the validating webhook receiver, and the
 * recorded response downloaded with its recordingAccessToken as the docs show.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@microsoft/microsoft-graph-client';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createCancelMediaProcessingOperationFromDiscriminatorValue, createPlayPromptOperationFromDiscriminatorValue, createRecordOperationFromDiscriminatorValue, createSendDtmfTonesOperationFromDiscriminatorValue, createSubscribeToToneOperationFromDiscriminatorValue, serializeMediaPrompt, type CancelMediaProcessingOperation, type MediaPrompt, type PlayPromptOperation, type RecordOperation, type SendDtmfTonesOperation, type SubscribeToToneOperation,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import {
  HttpMethod, RequestInformation, type ErrorMappings, type Parsable, type SerializationWriter,
} from '@microsoft/kiota-abstractions';
import { p2pCallBody, startServer, waitFor, type ServerHarness } from '../support/harness.js';
import { fetchDevToken } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';
import { goertzel, parseWav } from '../support/audio.js';
import { wavHeader } from '../../src/media/wav.js';
import { graphClient, kiotaBetaAdapter } from '../support/official-clients.js';

const CLIENT_ID = '00000000-0000-4000-8000-0000000000b0';
const RATE = 16_000;
const ERRORS: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue };
const ACTION = (name: string) => `{+baseurl}/communications/calls/{call%2Did}/microsoft.graph.${name}`;
type Json = Record<string, any>;

function sineWav(f: number, ms: number): Buffer {
  const n = (ms * RATE) / 1000;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(Math.round(0.5 * 32767 * Math.sin((2 * Math.PI * f * i) / RATE)), i * 2);
  return Buffer.concat([wavHeader(RATE, 1, n), data]);
}

describe('media actions through the official Graph clients over a socket', () => {
  let h: ServerHarness;
  let bot: Receiver;
  let client: Client;
  let adapter: GraphBetaRequestAdapter;

  before(async () => {
    h = await startServer({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
    const token = await fetchDevToken(h.url);
    client = graphClient(h.url, token, 'v1.0');
    adapter = kiotaBetaAdapter(h.url, token);
  });
  after(async () => {
    await h?.close();
    await bot?.close();
  });

  const control = async (method: string, path: string, body?: unknown, contentType = 'application/json') => {
    const res = await fetch(`${h.url}${path}`, {
      method, headers: { 'content-type': contentType, 'x-graph-calls-control': '1' },
      body: Buffer.isBuffer(body) ? new Uint8Array(body) : body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() as Json };
  };
  const advance = (ms: number) => control('POST', '/_emulator/clock/advance', { ms });

  /** A call created through `version`: its notifications are rendered in that version (version-filter.ts). */
  async function established(version: 'v1.0' | 'beta' = 'v1.0'): Promise<{ id: string; far: string }> {
    const created = await client.api('/communications/calls').version(version).post(p2pCallBody({ callbackUri: bot.callbackUri })) as Json;
    await advance(1000);
    const parts = await client.api(`/communications/calls/${created.id}/participants`).get() as Json;
    assert.equal(parts.value.length, 2);
    return { id: created.id, far: parts.value.find((p: Json) => !p.info.identity.application).id };
  }

  /** The bot's notifications about `opId`, once `n` have arrived (deliveries run in real time). */
  const opNotifications = async (callId: string, opId: string, n = 1) => waitFor(() => {
    const l = bot.forCall(callId).filter((x) => x.resourceUrl === `/communications/calls/${callId}/operations/${opId}`);
    return l.length >= n ? l : null;
  }, `${n} notification(s) of operation ${opId}`);

  test('Graph JS client (v1.0): playPrompt then recordResponse as the docs send them; the bot hears both complete and downloads the response', async () => {
    const { id, far } = await established();
    const mediaId = (await control('POST', '/_emulator/media', sineWav(700, 1000), 'audio/wav')).body.mediaId as string;
    const play = await client.api(`/communications/calls/${id}/playPrompt`).post({
      clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c',
      prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { '@odata.type': '#microsoft.graph.mediaInfo', uri: `https://cdn.contoso.com/${mediaId}.wav`, resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E' } }],
    }) as Json;
    assert.deepEqual(play, {
      '@odata.context': `${h.url}/v1.0/$metadata#playPromptOperation`, '@odata.type': '#microsoft.graph.playPromptOperation',
      id: play.id, status: 'running', clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c', resultInfo: null,
    });
    const record = await client.api(`/communications/calls/${id}/recordResponse`).post({
      bargeInAllowed: false, clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c',
      prompts: [{ '@odata.type': '#microsoft.graph.mediaPrompt', mediaInfo: { uri: 'https://cdn.contoso.com/tone-300hz-500ms.wav', resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E' } }],
      maxRecordDurationInSeconds: 10, initialSilenceTimeoutInSeconds: 5, maxSilenceTimeoutInSeconds: 2, playBeep: true, stopTones: ['#', '1', '*'],
    }) as Json;
    assert.equal(record['@odata.type'], '#microsoft.graph.recordOperation');
    assert.equal(record.status, 'running');
    assert.equal(record.recordingLocation, null);

    // The prompt plays 1 s; then the record's prompt (0.5 s) and beep (0.5 s): the record opens at 2 s.
    await advance(1000);
    const [playDone] = await opNotifications(id, play.id);
    assert.equal(playDone!.changeType, 'deleted');
    assert.equal(playDone!.resourceData.status, 'completed');
    assert.deepEqual(playDone!.resourceData.resultInfo, { '@odata.type': '#microsoft.graph.resultInfo', code: 200, subcode: 0, message: 'Action completed successfully.' });
    await advance(1500);
    await control('POST', `/_emulator/calls/${id}/participants/${far}/audio`, { type: 'tone', frequencyHz: 440 });
    await advance(1000);
    await control('POST', `/_emulator/calls/${id}/participants/${far}/tones`, { tones: ['#'] });
    const [recDone] = await opNotifications(id, record.id);
    assert.equal(recDone!.changeType, 'deleted');
    const data = recDone!.resourceData;
    assert.equal(data['@odata.type'], '#microsoft.graph.recordOperation');
    assert.equal(data.status, 'completed');
    // completionReason is beta only: a call created through v1.0 is told in v1.0's shape.
    assert.equal('completionReason' in data, false);
    assert.equal(data.clientContext, 'd45324c1-fcb5-430a-902c-f20af696537c');

    // The notification sequence: established, the roster, then the two operations in order.
    const seq = bot.forCall(id).map((n) => `${n.changeType} ${n.resourceUrl.replace(id, '{id}').replace(play.id, '{play}').replace(record.id, '{record}')}`);
    assert.deepEqual(seq, [
      'updated /communications/calls/{id}', 'updated /communications/calls/{id}', 'updated /communications/calls/{id}/participants',
      'deleted /communications/calls/{id}/operations/{play}', 'deleted /communications/calls/{id}/operations/{record}',
    ]);

    // Download as the docs' example 2: GET recordingLocation with the access token as the bearer.
    const got = await fetch(data.recordingLocation, { headers: { authorization: `Bearer ${data.recordingAccessToken}` } });
    assert.equal(got.status, 200);
    const wav = parseWav(Buffer.from(await got.arrayBuffer()));
    // Open at 2 s; they spoke from 2.5 s; # at 3.5 s.
    assert.equal(wav.samples.length, 1.5 * RATE);
    assert.ok(goertzel(wav.samples, 0, RATE / 2, 440, RATE) < 1e-6);
    assert.ok(goertzel(wav.samples, RATE / 2, 1.5 * RATE, 440, RATE) > 0.02, 'what the far side said');
    const anon = await fetch(data.recordingLocation);
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as Json).error.code, 'InvalidAuthenticationToken');
  });

  test('Kiota beta SDK: subscribeToTone, playPrompt (loop), record, cancelMediaProcessing, sendDtmfTones parse as their typed operations', async () => {
    const { id, far } = await established('beta');
    const send = <T extends Parsable>(name: string, write: (w: SerializationWriter) => void, factory: Parameters<GraphBetaRequestAdapter['send']>[1]) => {
      const ri = new RequestInformation(HttpMethod.POST, ACTION(name));
      ri.pathParameters['call%2Did'] = id;
      ri.headers.tryAdd('Accept', 'application/json');
      ri.setContentFromParsable(adapter, 'application/json', {}, (w: SerializationWriter) => write(w));
      return adapter.send<T>(ri, factory, ERRORS);
    };
    const tone = await send<SubscribeToToneOperation>('subscribeToTone', (w) => w.writeStringValue('clientContext', 'd45324c1-fcb5-430a-902c-f20af696537c'), createSubscribeToToneOperationFromDiscriminatorValue);
    assert.equal(tone?.odataType, '#microsoft.graph.subscribeToToneOperation');
    assert.equal(tone?.clientContext, 'd45324c1-fcb5-430a-902c-f20af696537c');

    const prompts: MediaPrompt[] = [{ odataType: '#microsoft.graph.mediaPrompt', mediaInfo: { odataType: '#microsoft.graph.mediaInfo', uri: 'https://cdn.contoso.com/tone-500hz-300ms.wav', resourceId: '1D6DE2D4-CD51-4309-8DAA-70768651088E' } }];
    const play = await send<PlayPromptOperation>('playPrompt', (w) => {
      w.writeCollectionOfObjectValues('prompts', prompts, serializeMediaPrompt);
      w.writeBooleanValue('loop', true);
    }, createPlayPromptOperationFromDiscriminatorValue);
    assert.equal(play?.odataType, '#microsoft.graph.playPromptOperation');
    assert.ok(play?.id);

    const rec = await send<RecordOperation>('record', (w) => {
      w.writeCollectionOfObjectValues('prompts', prompts, serializeMediaPrompt);
      w.writeBooleanValue('bargeInAllowed', false);
      w.writeNumberValue('maxRecordDurationInSeconds', 1800);
      w.writeNumberValue('initialSilenceTimeoutInSeconds', 10);
      w.writeNumberValue('maxSilenceTimeoutInSeconds', 2);
      w.writeBooleanValue('playBeep', true);
      w.writeBooleanValue('streamWhileRecording', true);
      w.writeCollectionOfPrimitiveValues('stopTones', ['#', '11', '*']);
    }, createRecordOperationFromDiscriminatorValue);
    assert.equal(rec?.odataType, '#microsoft.graph.recordOperation');
    assert.ok(rec?.id);
    assert.equal(rec?.recordingLocation ?? null, null, 'no recording while it runs (Kiota reads JSON null as undefined)');

    await advance(2000);
    await control('POST', `/_emulator/calls/${id}/participants/${far}/tones`, { sequence: [{ tone: '4', atMs: 0 }, { tone: '2', atMs: 250 }] });
    await advance(500);
    const tones = await waitFor(() => {
      const l = bot.forCall(id).filter((n) => n.resourceUrl === `/communications/calls/${id}` && n.resourceData.toneInfo);
      return l.length >= 2 ? l : null;
    }, 'two tone notifications');
    assert.deepEqual(tones.map((n) => [n.changeType, n.resourceData.toneInfo.sequenceId, n.resourceData.toneInfo.tone]), [['updated', 1, 'tone4'], ['updated', 2, 'tone2']]);

    const cancel = await send<CancelMediaProcessingOperation>('cancelMediaProcessing', (w) => w.writeStringValue('clientContext', 'clientContext-value'), createCancelMediaProcessingOperationFromDiscriminatorValue);
    assert.equal(cancel?.odataType, '#microsoft.graph.cancelMediaProcessingOperation');
    const [playEnd] = await opNotifications(id, play!.id!);
    const [recEnd] = await opNotifications(id, rec!.id!);
    assert.deepEqual([playEnd!.resourceData.status, playEnd!.resourceData.resultInfo.subcode, playEnd!.resourceData.completionReason], ['failed', 8508, 'mediaOperationCanceled']);
    assert.deepEqual([recEnd!.resourceData.status, recEnd!.resourceData.resultInfo.subcode, recEnd!.resourceData.completionReason], ['failed', 8508, 'operationCanceled']);

    const dtmf = await send<SendDtmfTonesOperation>('sendDtmfTones', (w) => {
      w.writeCollectionOfPrimitiveValues('tones', ['tone1', 'tone2', 'pound']);
      w.writeNumberValue('delayBetweenTonesMs', 1000);
      w.writeStringValue('clientContext', 'e0be71f1-a14f-4cec-b65a-e7aba5db7c53');
    }, createSendDtmfTonesOperationFromDiscriminatorValue);
    assert.equal(dtmf?.odataType, '#microsoft.graph.sendDtmfTonesOperation');
    await advance(2300);
    const [dtmfEnd] = await opNotifications(id, dtmf!.id!);
    assert.deepEqual([dtmfEnd!.changeType, dtmfEnd!.resourceData.status, dtmfEnd!.resourceData.completionReason], ['deleted', 'completed', 'completedSuccessfully']);
    assert.equal(bot.rejections.length, 0, 'every notification carried a valid token');
  });
});
