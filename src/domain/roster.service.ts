import type { AudioSource, Call, InvitationParticipantInfo, Operation, OperationType, Participant, Principal, ResultInfo } from './call.js';
import { assertEstablished } from './call-state-machine.js';
import type { CallEffects } from './call-effects.js';
import { assert } from './errors.js';
import type { CallStore, CallWriter, FarSidePort } from './ports.js';
import { ROSTER_RESULT, RESULT } from './result-codes.js';
import { ROSTER_RULES, type AudioRoutingGroup, type ContentSharingSession, type PendingInvitation, type RoutingMode } from './roster.js';

export interface RosterServiceOptions {
  store: CallStore;
  effects: CallEffects;
  farSide: FarSidePort;
  /** Delay before a `running` operation (hold music, large gallery view) completes. */
  operationDelayMs: number;
}

export interface InviteCommand {
  participants: InvitationParticipantInfo[];
  clientContext: string | null;
}

export interface AudioRoutingGroupInput {
  id?: string | null;
  routingMode?: RoutingMode;
  sources?: string[];
  receivers?: string[];
}

/**
 * Roster control: what a bot does to the people in its call (mute, invite, remove, hold music, screen
 * sharing, the large gallery view) and the app-hosted-media navigations (audio routing groups, content-sharing
 * sessions). Each command asserts its preconditions and writes the change, its operation, its notifications
 * and any far-side job in ONE transaction, as CallService does. The far side's part (invitees answering)
 * is simulator/invitees.ts.
 */
export class RosterService {
  private readonly fx: CallEffects;

  constructor(private readonly o: RosterServiceOptions) {
    this.fx = o.effects;
  }

  // ---- mute ---------------------------------------------------------------------------------------

  /**
   * call-mute / call-unmute docs: a server mute of the bot itself; 200 with a completed operation, then a
   * roster update. The mute is on the media timeline, so the bot is silent in the recording meanwhile.
   */
  muteSelf(p: Principal, callId: string, isMuted: boolean, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, isMuted ? 'mute' : 'unmute');
      return this.setMuted(tx, call, [call.myParticipantId], isMuted ? 'muteParticipantOperation' : 'unmuteParticipantOperation', clientContext);
    });
  }

  /** participant-mute docs: 200 with a completed muteParticipantOperation, then a roster update. */
  muteParticipant(p: Principal, callId: string, participantId: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'mute');
      await this.rosterMember(tx, call, participantId);
      return this.setMuted(tx, call, [participantId], 'muteParticipantOperation', clientContext);
    });
  }

  /** participant-muteall (beta, deprecated): the named participants, or everyone but the bot when none are named. */
  muteAll(p: Principal, callId: string, participants: string[], clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'muteAll');
      const roster = await tx.listParticipants(call.id);
      // The doc sample sends [""]: empty entries name nobody.
      const named = participants.filter((x) => x !== '');
      for (const id of named) await this.rosterMember(tx, call, id);
      const ids = named.length ? [...new Set(named)] : roster.filter((x) => !x.isBot).map((x) => x.id);
      const op = await this.setMuted(tx, call, ids, 'muteParticipantsOperation', clientContext);
      return op;
    });
  }

  private async setMuted(tx: CallWriter, call: Call, ids: string[], type: OperationType, clientContext: string | null): Promise<Operation> {
    const now = this.fx.now();
    const isMuted = type !== 'unmuteParticipantOperation';
    for (const id of ids) {
      const part = (await tx.getParticipant(call.id, id))!;
      if (part.isMuted === isMuted) continue; // already so: nothing changes, the roster says the same
      await tx.upsertParticipant({ ...part, isMuted });
      await tx.appendMediaEvent({ callId: call.id, participantId: id, at: now, kind: 'mute', muted: isMuted });
    }
    const op = this.newOperation(call.id, type, 'completed', clientContext, RESULT.operationSucceeded, now);
    if (type === 'muteParticipantsOperation') op.participants = ids;
    await tx.insertOperation(op);
    await tx.updateCall({ ...call, updatedAt: now });
    await this.fx.notifyRoster(tx, call);
    return op;
  }

  // ---- invite and remove --------------------------------------------------------------------------

  /**
   * participant-invite docs: 200 with a running inviteParticipantsOperation (Location); when the invitees
   * answer, the operation completes (`deleted`) and a roster update adds them. Each invitee has a
   * participant id from now on (its `participantId`, or one we assign, echoed in the operation), which
   * DELETE participants/{id} takes to cancel the invitation.
   */
  invite(p: Principal, callId: string, cmd: InviteCommand): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'invite');
      assert(cmd.participants.length > 0, 'INVALID_REQUEST', `'participants' must name at least one invitationParticipantInfo.`);
      assert(cmd.participants.length <= ROSTER_RULES.maxInvitees, 'INVALID_REQUEST',
        `'participants' names ${cmd.participants.length} invitees; at most ${ROSTER_RULES.maxInvitees} can be invited at once.`);
      assert(cmd.participants.length === 1 || isGroupCall(call), 'INVALID_REQUEST',
        'Inviting several participants in one request is supported for group calls only (a call with chatInfo or meetingInfo); invite one.');
      const roster = await tx.listParticipants(call.id, { includeLeft: true });
      const pending = await tx.listCallItems(call.id, 'invitation');
      const now = this.fx.now();
      const op = this.newOperation(call.id, 'inviteParticipantsOperation', 'running', cmd.clientContext, null, now);
      const invitations: PendingInvitation[] = [];
      for (const [i, info] of cmd.participants.entries()) {
        assert(!isBotIdentity(info), 'INVALID_REQUEST', `participants[${i}]: another bot (an application identity) cannot be invited to a call.`);
        if (info.replacesCallId) {
          const replaced = await tx.getCall(info.replacesCallId);
          assert(replaced && replaced.appId === call.appId && replaced.tenantId === call.tenantId && replaced.state !== 'terminated' && replaced.id !== call.id,
            'INVALID_REQUEST', `participants[${i}].replacesCallId: '${info.replacesCallId}' is not another live call of this application.`);
        }
        const id = info.participantId ?? this.fx.newId();
        assert(!roster.some((x) => x.id === id) && !pending.some((x) => x.id === id) && !invitations.some((x) => x.id === id),
          'INVALID_REQUEST', `participants[${i}].participantId: '${id}' is already a participant or invitee of the call.`);
        invitations.push({ id, callId: call.id, operationId: op.id, info: { ...info, participantId: id }, invitedAt: now });
      }
      op.participants = invitations.map((x) => x.info);
      await tx.insertOperation(op);
      for (const inv of invitations) {
        await tx.putCallItem('invitation', inv);
        // The far side answers each invitee like a callee of a new call: its behaviour (answer, decline, busy,
        // no answer) is decided now and travels in the job (FarSidePort.inviteAnswer).
        const answer = this.o.farSide.inviteAnswer(inv.info);
        await this.fx.schedule(tx, call.id, 'answerInvite', answer.afterMs, { ...answer.payload, operationId: op.id, participantId: inv.id });
      }
      await tx.updateCall({ ...call, updatedAt: now });
      return op;
    });
  }

  /**
   * participant-delete docs: 204. A participant in the roster is dropped (a roster update follows); an
   * invitee not yet in it has the invitation cancelled (its inviteParticipantsOperation fails once no
   * invitee of it is left; ROSTER_RESULT.invitationCanceled).
   */
  removeParticipant(p: Principal, callId: string, participantId: string): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'delete participant');
      const now = this.fx.now();
      const invitation = await tx.getCallItem(call.id, 'invitation', participantId);
      if (invitation) {
        await tx.deleteCallItem(call.id, 'invitation', participantId);
        const left = (await tx.listCallItems(call.id, 'invitation')).filter((x) => x.operationId === invitation.operationId);
        const op = await tx.getOperation(call.id, invitation.operationId);
        if (op && op.status === 'running' && left.length === 0) {
          const failed: Operation = { ...op, status: 'failed', resultInfo: ROSTER_RESULT.invitationCanceled, completedAt: now };
          await tx.updateOperation(failed);
          await this.fx.notifyOperationDone(tx, call, failed);
        }
        await tx.updateCall({ ...call, updatedAt: now });
        return;
      }
      const part = await tx.getParticipant(call.id, participantId);
      assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `Participant '${participantId}' is neither in the call nor invited to it.`);
      assert(!part.isBot, 'INVALID_REQUEST', `Participant '${participantId}' is the application itself; hang up with DELETE /communications/calls/{id}.`);
      await tx.upsertParticipant({ ...part, leftAt: now, onHold: null });
      await tx.updateCall({ ...call, updatedAt: now });
      await this.fx.notifyRoster(tx, call);
    });
  }

  // ---- hold music ---------------------------------------------------------------------------------

  /**
   * participant-startholdmusic docs: 202 with a running startHoldMusicOperation, completed (`deleted`)
   * shortly after. Only one participant can be on hold at a time. The held participant's track carries the
   * hold music (`music`: the customPrompt's media, or ROSTER_RULES.holdMusic) from now on.
   */
  startHoldMusic(p: Principal, callId: string, participantId: string, music: AudioSource | null, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'startHoldMusic');
      const part = await this.rosterMember(tx, call, participantId);
      assert(!part.isBot, 'INVALID_REQUEST', `Participant '${participantId}' is the application itself; the application cannot put itself on hold.`);
      const held = (await tx.listParticipants(call.id)).find((x) => x.onHold);
      assert(!held, 'PARTICIPANT_ON_HOLD', held?.id === part.id
        ? `Participant '${participantId}' is already on hold; call stopHoldMusic first.`
        : `Participant '${held?.id}' is on hold; only one participant can be on hold at a time.`);
      const now = this.fx.now();
      const previous = currentSource(await tx.listMediaEvents(call.id), part.id);
      await tx.upsertParticipant({ ...part, onHold: { previous } });
      await tx.appendMediaEvent({ callId: call.id, participantId: part.id, at: now, kind: 'source', source: music ?? ROSTER_RULES.holdMusic });
      return this.runningOperation(tx, call, 'startHoldMusicOperation', clientContext, now);
    });
  }

  /** participant-stopholdmusic docs: 202, running then completed; the participant sends what they sent before the hold. */
  stopHoldMusic(p: Principal, callId: string, participantId: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'stopHoldMusic');
      const part = await this.rosterMember(tx, call, participantId);
      assert(part.onHold, 'PARTICIPANT_NOT_ON_HOLD', `Participant '${participantId}' is not on hold; call startHoldMusic first.`);
      const now = this.fx.now();
      await tx.upsertParticipant({ ...part, onHold: null });
      await tx.appendMediaEvent({ callId: call.id, participantId: part.id, at: now, kind: 'source', source: part.onHold.previous });
      return this.runningOperation(tx, call, 'stopHoldMusicOperation', clientContext, now);
    });
  }

  // ---- screen sharing and gallery -----------------------------------------------------------------

  /**
   * call-changescreensharingrole docs: 202 with no body, for group calls with app-hosted media; a roster
   * update follows, where a sharer's media streams include a videoBasedScreenSharing stream (sendOnly).
   */
  changeScreenSharingRole(p: Principal, callId: string, role: 'viewer' | 'sharer'): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'changeScreenSharingRole');
      assertAppHostedMedia(call, 'changeScreenSharingRole');
      const bot = (await tx.getParticipant(call.id, call.myParticipantId))!;
      await tx.upsertParticipant({ ...bot, screenSharingRole: role });
      await tx.updateCall({ ...call, updatedAt: this.fx.now() });
      await this.fx.notifyRoster(tx, call);
    });
  }

  /** call-addlargegalleryview docs: 202 with a running addLargeGalleryViewOperation, completed (`deleted`) shortly after. */
  addLargeGalleryView(p: Principal, callId: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'addLargeGalleryView');
      return this.runningOperation(tx, call, 'addLargeGalleryViewOperation', clientContext, this.fx.now());
    });
  }

  // ---- audio routing groups (app-hosted media) ----------------------------------------------------

  async listAudioRoutingGroups(p: Principal, callId: string): Promise<AudioRoutingGroup[]> {
    const call = await this.ownedCall(p, callId);
    assertAppHostedMedia(call, 'audioRoutingGroups');
    return this.o.store.listCallItems(call.id, 'audioRoutingGroup');
  }

  async getAudioRoutingGroup(p: Principal, callId: string, id: string): Promise<AudioRoutingGroup> {
    const call = await this.ownedCall(p, callId);
    assertAppHostedMedia(call, 'audioRoutingGroups');
    const group = await this.o.store.getCallItem(call.id, 'audioRoutingGroup', id);
    assert(group, 'AUDIO_ROUTING_GROUP_NOT_FOUND', `Audio routing group '${id}' not found.`);
    return group;
  }

  /** call-post-audioroutinggroups docs: 200 (not 201) with the group; the client may choose its id. */
  createAudioRoutingGroup(p: Principal, callId: string, input: AudioRoutingGroupInput): Promise<AudioRoutingGroup> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'audioRoutingGroups');
      assertAppHostedMedia(call, 'audioRoutingGroups');
      const existing = await tx.listCallItems(call.id, 'audioRoutingGroup');
      assert(existing.length < ROSTER_RULES.maxAudioRoutingGroups, 'INVALID_REQUEST',
        `The call has ${existing.length} audio routing groups, the most graph-calls keeps per call; delete one first.`);
      const id = input.id ?? this.fx.newId();
      assert(!existing.some((g) => g.id === id), 'AUDIO_ROUTING_GROUP_EXISTS', `An audio routing group with id '${id}' already exists in the call.`);
      assert(input.routingMode, 'INVALID_REQUEST', `'routingMode' is required (oneToOne or multicast).`);
      const group: AudioRoutingGroup = { id, callId: call.id, routingMode: input.routingMode, sources: input.sources ?? [], receivers: input.receivers ?? [] };
      await this.assertRoutes(tx, call, group);
      await tx.putCallItem('audioRoutingGroup', group);
      await tx.updateCall({ ...call, updatedAt: this.fx.now() });
      return group;
    });
  }

  /** audioroutinggroup-update docs: 200 with the updated group; members left out keep their values. */
  updateAudioRoutingGroup(p: Principal, callId: string, id: string, input: AudioRoutingGroupInput): Promise<AudioRoutingGroup> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'audioRoutingGroups');
      assertAppHostedMedia(call, 'audioRoutingGroups');
      const group = await tx.getCallItem(call.id, 'audioRoutingGroup', id);
      assert(group, 'AUDIO_ROUTING_GROUP_NOT_FOUND', `Audio routing group '${id}' not found.`);
      assert(input.id == null || input.id === id, 'INVALID_REQUEST', `'id' is read-only: it is '${id}', not '${input.id}'.`);
      const next: AudioRoutingGroup = {
        ...group, routingMode: input.routingMode ?? group.routingMode, sources: input.sources ?? group.sources, receivers: input.receivers ?? group.receivers,
      };
      await this.assertRoutes(tx, call, next);
      await tx.putCallItem('audioRoutingGroup', next);
      await tx.updateCall({ ...call, updatedAt: this.fx.now() });
      return next;
    });
  }

  /** audioroutinggroup-delete docs: 204. */
  deleteAudioRoutingGroup(p: Principal, callId: string, id: string): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = await this.establishedCall(tx, p, callId, 'audioRoutingGroups');
      assertAppHostedMedia(call, 'audioRoutingGroups');
      assert(await tx.deleteCallItem(call.id, 'audioRoutingGroup', id), 'AUDIO_ROUTING_GROUP_NOT_FOUND', `Audio routing group '${id}' not found.`);
      await tx.updateCall({ ...call, updatedAt: this.fx.now() });
    });
  }

  /** audioroutinggroup resource docs: oneToOne has one source and one receiver; multicast one source and any receivers; all in the roster. */
  private async assertRoutes(tx: CallWriter, call: Call, g: AudioRoutingGroup): Promise<void> {
    assert(g.sources.length === 1, 'INVALID_REQUEST', `'sources' must name exactly one participant (it names ${g.sources.length}).`);
    assert(g.routingMode === 'multicast' ? g.receivers.length >= 1 : g.receivers.length === 1, 'INVALID_REQUEST',
      g.routingMode === 'multicast' ? `'receivers' of a multicast group must name at least one participant.` : `'receivers' of a oneToOne group must name exactly one participant (it names ${g.receivers.length}).`);
    const roster = new Set((await tx.listParticipants(call.id)).map((x) => x.id));
    for (const [member, ids] of [['sources', g.sources], ['receivers', g.receivers]] as const) {
      const unknown = ids.find((x) => !roster.has(x));
      assert(unknown === undefined, 'INVALID_REQUEST', `'${member}': '${unknown}' is not a participant of the call.`);
    }
  }

  // ---- content sharing sessions -------------------------------------------------------------------

  async listContentSharingSessions(p: Principal, callId: string): Promise<ContentSharingSession[]> {
    const call = await this.ownedCall(p, callId);
    return this.o.store.listCallItems(call.id, 'contentSharingSession');
  }

  async getContentSharingSession(p: Principal, callId: string, id: string): Promise<ContentSharingSession> {
    const call = await this.ownedCall(p, callId);
    const s = await this.o.store.getCallItem(call.id, 'contentSharingSession', id);
    assert(s, 'CONTENT_SHARING_SESSION_NOT_FOUND', `Content sharing session '${id}' not found.`);
    return s;
  }

  // ---- helpers ------------------------------------------------------------------------------------

  private async ownedCall(p: Principal, id: string): Promise<Call> {
    return ownedCall(await this.o.store.getCall(id), p);
  }

  private async establishedCall(tx: CallWriter, p: Principal, id: string, action: string): Promise<Call> {
    const call = ownedCall(await tx.getCall(id), p);
    assertEstablished(call.state, action);
    return call;
  }

  private async rosterMember(tx: CallWriter, call: Call, participantId: string): Promise<Participant> {
    const part = await tx.getParticipant(call.id, participantId);
    assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `Participant '${participantId}' not found.`);
    return part;
  }

  private async runningOperation(tx: CallWriter, call: Call, type: OperationType, clientContext: string | null, now: number): Promise<Operation> {
    const op = this.newOperation(call.id, type, 'running', clientContext, null, now);
    await tx.insertOperation(op);
    await tx.updateCall({ ...call, updatedAt: now });
    // The far side's completeOperation job completes it with a `deleted` notification, as for startRecording.
    await this.fx.schedule(tx, call.id, 'completeOperation', this.o.operationDelayMs, { operationId: op.id });
    return op;
  }

  private newOperation(callId: string, type: OperationType, status: Operation['status'], clientContext: string | null,
    resultInfo: ResultInfo | null, now: number): Operation {
    return { id: this.fx.newOrderedId(), callId, type, status, clientContext, resultInfo, createdAt: now,
      completedAt: status === 'completed' || status === 'failed' ? now : null };
  }
}

/** A group call: a meeting join, or a call with a chat (participant-invite docs: several invitees need chatInfo). */
export function isGroupCall(call: Call): boolean {
  return call.meetingInfo !== null || call.chatInfo !== null;
}

/** participant-invite docs: another bot cannot be invited. */
function isBotIdentity(info: InvitationParticipantInfo): boolean {
  const set = info.identity;
  return Boolean(set.application || set.applicationInstance) && !set.user && !set.phone;
}

/** What the participant sends now: the last source on the media timeline, or silence. */
function currentSource(events: Array<{ participantId: string; kind: string; source?: AudioSource }>, participantId: string): AudioSource {
  let source: AudioSource = { type: 'silence' };
  for (const e of events) if (e.participantId === participantId && e.kind === 'source' && e.source) source = e.source;
  return source;
}

function assertAppHostedMedia(call: Call, action: string): void {
  // INFERRED (fidelity.md): audio routing groups and screen sharing act on the bot's own media stack, which
  // only app-hosted media has; Graph's answer for a service-hosted call is undocumented.
  assert(call.mediaConfig.type === 'appHostedMediaConfig', 'NOT_APP_HOSTED_MEDIA',
    `'${action}' is supported only for calls with app-hosted media (appHostedMediaConfig); this call uses ${call.mediaConfig.type}.`);
}

/** Ownership is part of existence: another app's or tenant's call is simply not found (never 403). */
function ownedCall(call: Call | undefined, p: Principal): Call {
  assert(call && call.appId === p.appId && call.tenantId === p.tenantId && call.state !== 'terminated', 'CALL_NOT_FOUND');
  return call;
}
