/**
 * Roster control through the official clients over a real socket, on the virtual clock: the documented
 * requests sent by @microsoft/microsoft-graph-client 3.x and the Kiota beta SDK (hand-built RequestInformation
 * on the generated builders' URL templates, models parsed with the SDK's discriminator factories), and the
 * notifications the bot receives, read by the validating webhook receiver (every token checked).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, GraphError, ResponseType } from '@microsoft/microsoft-graph-client';
import { GraphBetaRequestAdapter } from '@microsoft/msgraph-beta-sdk';
import {
  createAudioRoutingGroupFromDiscriminatorValue, createContentSharingSessionCollectionResponseFromDiscriminatorValue, createInviteParticipantsOperationFromDiscriminatorValue, createMuteParticipantOperationFromDiscriminatorValue, createMuteParticipantsOperationFromDiscriminatorValue, createStartHoldMusicOperationFromDiscriminatorValue, serializeAudioRoutingGroup, serializeInvitationParticipantInfo, serializeMediaPrompt, type AudioRoutingGroup, type ContentSharingSessionCollectionResponse, type InvitationParticipantInfo, type InviteParticipantsOperation, type MediaPrompt, type MuteParticipantOperation, type MuteParticipantsOperation, type StartHoldMusicOperation,
} from '@microsoft/msgraph-beta-sdk/models/index.js';
import { createODataErrorFromDiscriminatorValue, type ODataError } from '@microsoft/msgraph-beta-sdk/models/oDataErrors/index.js';
import {
  HttpMethod, RequestInformation, type ErrorMappings, type SerializationWriter,
} from '@microsoft/kiota-abstractions';
import { HeadersInspectionOptions } from '@microsoft/kiota-http-fetchlibrary';
import { CLIENT_ID, meetingCallBody, startServer, type ServerHarness } from '../support/harness.js';
import { api, fetchDevToken } from '../support/graph-http.js';
import { startReceiver, type Receiver } from '../support/webhook-receiver.js';
import { graphClient, kiotaBetaAdapter } from '../support/official-clients.js';

type Json = Record<string, any>;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SUPERVISOR = '278405a3-f568-4b3e-b684-009193463064';
const ERRORS: ErrorMappings = { XXX: createODataErrorFromDiscriminatorValue };

function request(method: HttpMethod, template: string, params: Record<string, string>): RequestInformation {
  const ri = new RequestInformation(method, template);
  for (const [k, v] of Object.entries(params)) ri.pathParameters[k] = v;
  ri.headers.tryAdd('Accept', 'application/json');
  return ri;
}

const firstHeader = (hio: HeadersInspectionOptions, name: string): string | undefined => [...(hio.getResponseHeaders().get(name) ?? [])][0];

describe('roster control through the official clients (virtual clock, real socket)', () => {
  let h: ServerHarness;
  let bot: Receiver;
  let token: string;
  let v1: Client;
  let beta: Client;
  let adapter: GraphBetaRequestAdapter;

  before(async () => {
    h = await startServer({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500 });
    bot = await startReceiver({ graphCallsUrl: h.url, appId: CLIENT_ID });
    token = await fetchDevToken(h.url);
    v1 = graphClient(h.url, token, 'v1.0');
    beta = graphClient(h.url, token, 'beta');
    adapter = kiotaBetaAdapter(h.url, token);
  });
  after(async () => {
    await h?.close();
    await bot?.close();
  });

  const advance = async (ms: number) => assert.equal((await api(h, 'POST', '/_emulator/clock/advance', { ms }, { auth: false })).status, 200);

  /** A meeting call the bot is in, established, with its first notifications delivered. */
  async function meeting(extra: Record<string, unknown> = {}): Promise<{ id: string; botId: string; bobId: string }> {
    const created = (await beta.api('/communications/calls').post(meetingCallBody({ callbackUri: bot.callbackUri, ...extra }))) as Json;
    await advance(1000);
    await bot.waitForCount(3, { callId: created.id });
    const roster = (await beta.api(`/communications/calls/${created.id}/participants`).get()) as Json;
    const other = (roster.value as Json[]).find((p) => p.id !== created.myParticipantId)!;
    return { id: created.id, botId: created.myParticipantId, bobId: other.id };
  }

  describe('@microsoft/microsoft-graph-client', () => {
    test('mute / unmute (v1.0): 200, Location, the operation; roster updates with isMuted reach the bot', async () => {
      const c = await meeting();
      const res = (await v1.api(`/communications/calls/${c.id}/mute`).responseType(ResponseType.RAW).post({ clientContext: 'clientContext-value' })) as Response;
      assert.equal(res.status, 200);
      const op = (await res.json()) as Json;
      assert.equal(res.headers.get('location'), `${h.url}/v1.0/communications/calls/${c.id}/operations/${op.id}`);
      assert.equal(op['@odata.context'], `${h.url}/v1.0/$metadata#muteParticipantOperation`);
      assert.deepEqual([op['@odata.type'], op.status, op.clientContext], ['#microsoft.graph.muteParticipantOperation', 'completed', 'clientContext-value']);
      const [muted] = (await bot.waitForCount(4, { callId: c.id })).slice(3);
      assert.equal(muted!.resourceUrl, `/communications/calls/${c.id}/participants`);
      assert.equal((muted!.resourceData as Json[]).find((p) => p.id === c.botId)!.isMuted, true);
      const un = (await v1.api(`/communications/calls/${c.id}/unmute`).post({ clientContext: 'u' })) as Json;
      assert.equal(un['@odata.type'], '#microsoft.graph.unmuteParticipantOperation');
      const [unmuted] = (await bot.waitForCount(5, { callId: c.id })).slice(4);
      assert.equal((unmuted!.resourceData as Json[]).find((p) => p.id === c.botId)!.isMuted, false);
    });

    test('invite a supervisor, then the operation completes and the roster adds them, in that order', async () => {
      const c = await meeting();
      const op = (await beta.api(`/communications/calls/${c.id}/participants/invite`).post({
        participants: [{
          '@odata.type': '#microsoft.graph.invitationParticipantInfo',
          identity: { '@odata.type': '#microsoft.graph.identitySet', user: { '@odata.type': '#microsoft.graph.identity', id: SUPERVISOR, identityProvider: 'AAD' } },
        }],
        clientContext: 'f2fa86af-3c51-4bc2-8fc0-475452d9764f',
      })) as Json;
      assert.deepEqual([op['@odata.type'], op.status, op.resultInfo], ['#microsoft.graph.inviteParticipantsOperation', 'running', null]);
      const pid = op.participants[0].participantId as string;
      assert.match(pid, GUID);
      await advance(1000);
      const got = (await bot.waitForCount(5, { callId: c.id })).slice(3);
      assert.deepEqual(got.map((n) => `${n.changeType} ${n.resourceUrl}`), [
        `deleted /communications/calls/${c.id}/operations/${op.id}`,
        `updated /communications/calls/${c.id}/participants`,
      ]);
      assert.equal(got[0]!.resourceData.status, 'completed');
      assert.ok((got[1]!.resourceData as Json[]).some((p) => p.id === pid && p.info.identity.user.id === SUPERVISOR));
      // The supervisor is dropped again: 204 and a roster update without them.
      await v1.api(`/communications/calls/${c.id}/participants/${pid}`).delete();
      const [dropped] = (await bot.waitForCount(6, { callId: c.id })).slice(5);
      assert.ok(!(dropped!.resourceData as Json[]).some((p) => p.id === pid));
    });

    test('startHoldMusic / stopHoldMusic: 202 with running operations, each completed with `deleted`', async () => {
      const c = await meeting();
      const start = (await v1.api(`/communications/calls/${c.id}/participants/${c.bobId}/startHoldMusic`).responseType(ResponseType.RAW)
        .post({ clientContext: 'd45324c1-fcb5-430a-902c-f20af696537c' })) as Response;
      assert.equal(start.status, 202);
      const op = (await start.json()) as Json;
      assert.deepEqual([op['@odata.type'], op.status], ['#microsoft.graph.startHoldMusicOperation', 'running']);
      assert.equal(start.headers.get('location'), `${h.url}/v1.0/communications/calls/${c.id}/operations/${op.id}`);
      await advance(500);
      const [done] = (await bot.waitForCount(4, { callId: c.id })).slice(3);
      assert.deepEqual([done!.changeType, done!.resourceData.status, done!.resourceData.clientContext], ['deleted', 'completed', 'd45324c1-fcb5-430a-902c-f20af696537c']);
      const twice = await v1.api(`/communications/calls/${c.id}/participants/${c.bobId}/startHoldMusic`).post({}).then(() => null, (e: unknown) => e);
      assert.ok(twice instanceof GraphError);
      assert.deepEqual([twice.statusCode, twice.code], [409, 'Conflict']);
      const stop = (await v1.api(`/communications/calls/${c.id}/participants/${c.bobId}/stopHoldMusic`).post({})) as Json;
      assert.equal(stop['@odata.type'], '#microsoft.graph.stopHoldMusicOperation');
    });

    test('addLargeGalleryView and changeScreenSharingRole (app-hosted media)', async () => {
      const c = await meeting({ mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '<blob>' } });
      const gallery = (await v1.api(`/communications/calls/${c.id}/addLargeGalleryView`).post({ clientContext: '785f4929-92ca-497b-863f-c778c77c9758' })) as Json;
      assert.deepEqual([gallery['@odata.type'], gallery.status], ['#microsoft.graph.addLargeGalleryViewOperation', 'running']);
      const share = (await v1.api(`/communications/calls/${c.id}/changeScreenSharingRole`).responseType(ResponseType.RAW).post({ role: 'viewer' })) as Response;
      assert.equal(share.status, 202);
      assert.equal(await share.text(), '');
      const [roster] = (await bot.waitForCount(4, { callId: c.id })).slice(3);
      assert.equal(roster!.resourceUrl, `/communications/calls/${c.id}/participants`);
    });

    test('muteAll is served on beta and is an unknown segment on v1.0', async () => {
      const c = await meeting();
      const e = await v1.api(`/communications/calls/${c.id}/participants/muteAll`).post({ participants: [c.bobId] }).then(() => null, (x: unknown) => x);
      assert.ok(e instanceof GraphError);
      assert.deepEqual([e.statusCode, e.message], [400, "Resource not found for the segment 'muteAll'."]);
      const op = (await beta.api(`/communications/calls/${c.id}/participants/muteAll`).post({ participants: [c.bobId], clientContext: 'clientContext-value' })) as Json;
      assert.deepEqual([op['@odata.type'], op.participants], ['#microsoft.graph.muteParticipantsOperation', [c.bobId]]);
    });
  });

  describe('Kiota beta SDK', () => {
    test('mute (microsoft.graph.mute): parses as muteParticipantOperation; Location via HeadersInspectionOptions', async () => {
      const c = await meeting();
      const ri = request(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/microsoft.graph.mute', { 'call%2Did': c.id });
      ri.setContentFromParsable(adapter, 'application/json', { clientContext: 'k-mute' }, (w: SerializationWriter, v?: { clientContext?: string } | null) => {
        w.writeStringValue('clientContext', v?.clientContext);
      });
      const hio = new HeadersInspectionOptions({ inspectResponseHeaders: true });
      ri.addRequestOptions([hio]);
      const op = await adapter.send<MuteParticipantOperation>(ri, createMuteParticipantOperationFromDiscriminatorValue, ERRORS);
      assert.equal(op?.odataType, '#microsoft.graph.muteParticipantOperation');
      assert.equal(op?.clientContext, 'k-mute');
      assert.equal(op?.resultInfo?.code, 200);
      assert.equal(firstHeader(hio, 'location'), `${h.url}/beta/communications/calls/${c.id}/operations/${op?.id}`);
    });

    test('participants/microsoft.graph.invite with SDK-serialised invitationParticipantInfo; muteAll; startHoldMusic with a mediaPrompt', async () => {
      const c = await meeting();
      const invitee: InvitationParticipantInfo = {
        odataType: '#microsoft.graph.invitationParticipantInfo',
        identity: { odataType: '#microsoft.graph.identitySet', user: { odataType: '#microsoft.graph.identity', id: SUPERVISOR, displayName: 'Supervisor' } },
      };
      const ri = request(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/participants/microsoft.graph.invite', { 'call%2Did': c.id });
      ri.setContentFromParsable(adapter, 'application/json', { participants: [invitee], clientContext: 'k-invite' }, (w: SerializationWriter, v?: Partial<{ participants: InvitationParticipantInfo[]; clientContext: string }> | null) => {
        w.writeCollectionOfObjectValues('participants', v?.participants, serializeInvitationParticipantInfo);
        w.writeStringValue('clientContext', v?.clientContext);
      });
      const op = await adapter.send<InviteParticipantsOperation>(ri, createInviteParticipantsOperationFromDiscriminatorValue, ERRORS);
      assert.equal(op?.odataType, '#microsoft.graph.inviteParticipantsOperation');
      assert.equal(op?.participants?.[0]?.identity?.user?.id, SUPERVISOR);
      assert.match(op?.participants?.[0]?.participantId ?? '', GUID);

      const all = request(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/participants/microsoft.graph.muteAll', { 'call%2Did': c.id });
      all.setContentFromParsable(adapter, 'application/json', { participants: [c.bobId] }, (w: SerializationWriter, v?: Partial<{ participants: string[] }> | null) => {
        w.writeCollectionOfPrimitiveValues('participants', v?.participants);
      });
      const muted = await adapter.send<MuteParticipantsOperation>(all, createMuteParticipantsOperationFromDiscriminatorValue, ERRORS);
      assert.deepEqual([muted?.odataType, muted?.participants], ['#microsoft.graph.muteParticipantsOperation', [c.bobId]]);

      // An unknown customPrompt URI: a 400 ODataError naming the member.
      const prompt: MediaPrompt = { odataType: '#microsoft.graph.mediaPrompt', mediaInfo: { odataType: '#microsoft.graph.mediaInfo', uri: 'https://bot.contoso.com/onHold.wav' } };
      const hold = (withPrompt: boolean) => {
        const r = request(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/participants/{participant%2Did}/microsoft.graph.startHoldMusic', { 'call%2Did': c.id, 'participant%2Did': c.bobId });
        r.setContentFromParsable(adapter, 'application/json', { clientContext: 'k-hold' }, (w: SerializationWriter, v?: Partial<{ clientContext: string }> | null) => {
          if (withPrompt) w.writeObjectValue('customPrompt', prompt, serializeMediaPrompt);
          w.writeStringValue('clientContext', v?.clientContext);
        });
        return adapter.send<StartHoldMusicOperation>(r, createStartHoldMusicOperationFromDiscriminatorValue, ERRORS);
      };
      const err = await hold(true).then(() => null, (e: unknown) => e as ODataError);
      assert.equal(err?.responseStatusCode, 400);
      assert.match(err?.errorEscaped?.message ?? '', /customPrompt\.mediaInfo\.uri/);
      const started = await hold(false);
      assert.equal(started?.odataType, '#microsoft.graph.startHoldMusicOperation');
    });

    test('audioRoutingGroups (POST 200, serialised by the SDK) and contentSharingSessions (list) on an app-hosted call', async () => {
      const c = await meeting({ mediaConfig: { '@odata.type': '#microsoft.graph.appHostedMediaConfig', blob: '<blob>' } });
      const ri = request(HttpMethod.POST, '{+baseurl}/communications/calls/{call%2Did}/audioRoutingGroups', { 'call%2Did': c.id });
      ri.setContentFromParsable(adapter, 'application/json',
        { odataType: '#microsoft.graph.audioRoutingGroup', id: 'oneToOne', routingMode: 'oneToOne', sources: [c.botId], receivers: [c.bobId] } as AudioRoutingGroup,
        serializeAudioRoutingGroup);
      const group = await adapter.send<AudioRoutingGroup>(ri, createAudioRoutingGroupFromDiscriminatorValue, ERRORS);
      assert.deepEqual([group?.id, group?.routingMode, group?.sources, group?.receivers], ['oneToOne', 'oneToOne', [c.botId], [c.bobId]]);

      const started = await api(h, 'POST', `/_emulator/calls/${c.id}/contentSharingSessions`, { participantId: c.bobId }, { auth: false });
      assert.equal(started.status, 201);
      const list = await adapter.send<ContentSharingSessionCollectionResponse>(
        request(HttpMethod.GET, '{+baseurl}/communications/calls/{call%2Did}/contentSharingSessions', { 'call%2Did': c.id }),
        createContentSharingSessionCollectionResponseFromDiscriminatorValue, ERRORS);
      assert.deepEqual(list?.value?.map((s) => [s.id, s.presenterParticipantId]), [[started.body.id, c.bobId]]);
    });
  });
});
