import type { AudioSource, Call, IdentitySet, InvitationParticipantInfo, Job, JobKind, Participant, ResultInfo } from '../domain/call.js';
import { isEnded, transition } from '../domain/call-state-machine.js';
import type { CallEffects } from '../domain/call-effects.js';
import { assert } from '../domain/errors.js';
import type { AppDirectory, CallStore, CallWriter, FarSidePort } from '../domain/ports.js';
import type { CompliancePolicy } from '../domain/recording-policy.js';
import { RESULT } from '../domain/result-codes.js';
import { answerFromPayload, answerToPayload, LOBBY_TIMEOUT_MS, type AnswerDefaults, type FarSideAnswer, type FarSideBehaviours } from './far-side-behaviour.js';
import type { JobRegistry } from './job-registry.js';
import type { PolicyRegistry } from './policy-registry.js';

export interface FarSideOptions {
  store: CallStore;
  effects: CallEffects;
  apps: AppDirectory;
  policies: PolicyRegistry;
  /** How long the callee takes to answer, the meeting to admit the bot, or media to connect after answer. */
  answerDelayMs: number;
  /** Calls without keepAlive for this long end with 408/8537 (call-keepalive docs: 45 minutes). */
  keepAliveTimeoutMs: number;
  /** Bots must answer within 15 s, or 5 s for compliance-recording invites (call-answer docs). */
  incomingTimeoutMs: number;
  policyInviteTimeoutMs: number;
  /** Who answers how (far-side-behaviour.ts): `--far-side FILE` and the control plane. */
  behaviours: FarSideBehaviours;
  /** How long an unanswered outgoing call or transfer target rings before it fails with 408/10057. */
  ringingTimeoutMs: number;
  /** How long a transfer takes from `transferAccepted` to the bot's leg ending. */
  operationDelayMs: number;
}

export interface IncomingCallCommand {
  /** Client id of the app whose calling webhook is called. */
  appId: string;
  /** The simulated caller. */
  from: IdentitySet;
  requestedModalities: string[];
  /** Defaults to the app's registered calling webhook. */
  callbackUri: string | null;
}

/**
 * The simulated other side of Teams: callees that answer, meetings that admit the bot, people who join,
 * leave, mute and hang up, callers who ring the bot, and compliance-recording policies that invite a
 * recorder. Everything it does is a durable job or a control-plane command, committed like a bot's.
 */
export class FarSideService implements FarSidePort {
  private readonly fx: CallEffects;

  constructor(private readonly o: FarSideOptions) {
    this.fx = o.effects;
  }

  answerDelayMs(_call: Call): number {
    return this.o.answerDelayMs;
  }

  get behaviours(): FarSideBehaviours {
    return this.o.behaviours;
  }

  private get defaults(): AnswerDefaults {
    return { answerDelayMs: this.o.answerDelayMs, ringingTimeoutMs: this.o.ringingTimeoutMs };
  }

  /**
   * How anyone rung answers (far-side-behaviour.ts): the one decision outgoing calls, transfers and
   * participant invites share. Schedule its outcome `afterMs` from now with `answerToPayload(answer)`.
   */
  answerFor(target: InvitationParticipantInfo | Call): FarSideAnswer {
    return this.o.behaviours.answerFor(target, this.defaults);
  }

  /** FarSidePort: an invitee's behaviour is decided when the invitation is sent and travels in its job. */
  inviteAnswer(invitee: InvitationParticipantInfo): { afterMs: number; payload: Record<string, string> } {
    const a = this.answerFor(invitee);
    return { afterMs: a.afterMs, payload: answerToPayload(a) };
  }

  /** FarSidePort: the target's behaviour is decided now and travels in the job, so it cannot change mid-ring. */
  async ring(tx: CallWriter, call: Call): Promise<void> {
    const a = this.answerFor(call);
    await this.fx.schedule(tx, call.id, 'answerCall', a.afterMs, answerToPayload(a));
  }

  /**
   * FarSidePort: a blind transfer rings its target, who answers as its behaviour says; a consultative
   * transfer's target is already on the consultation call (replacesCallId), so only that call's state counts.
   */
  async ringTransferTarget(tx: CallWriter, call: Call): Promise<void> {
    const t = call.transfer;
    if (!t) throw new Error(`call ${call.id} is transferring without a transfer`);
    if (t.replacesCallId) {
      await this.fx.schedule(tx, call.id, 'transferOutcome', this.o.operationDelayMs, { outcome: 'answer' });
      return;
    }
    const a = this.answerFor(t.target);
    await this.fx.schedule(tx, call.id, 'transferOutcome', a.afterMs, answerToPayload(a));
  }

  // ---- durable jobs ---------------------------------------------------------------------------------

  /** The far side's durable jobs, each run in a transaction that also deletes its row (so it runs once). */
  registerJobs(jobs: JobRegistry): void {
    const kinds: Array<[JobKind, (tx: CallWriter, call: Call, job: Job) => Promise<void>]> = [
      ['answerCall', (tx, call, job) => this.answered(tx, call, answerFromPayload(job.payload))],
      ['farSideHangUp', async (tx, call) => {
        if (!isEnded(call.state)) await this.fx.terminate(tx, call, call.meetingInfo ? RESULT.meetingEnded : RESULT.peerHungUp);
      }],
      ['lobbyTimeout', async (tx, call) => {
        if (call.state === 'establishing' && call.inLobby) await this.fx.terminate(tx, call, RESULT.lobbyTimeout);
      }],
      ['transferOutcome', (tx, call, job) => this.transferOutcome(tx, call, answerFromPayload(job.payload))],
      ['finishTransfer', (tx, call) => this.finishTransfer(tx, call)],
      ['completeOperation', (tx, call, job) => this.completeOperation(tx, call, job.payload.operationId ?? '')],
      ['finishTermination', async (tx, call) => {
        if (call.state === 'terminating') await this.fx.terminate(tx, call, RESULT.conversationEnded);
      }],
      ['keepAliveExpiry', (tx, call) => this.expireKeepAlive(tx, call)],
      ['incomingTimeout', async (tx, call) => {
        if (call.state !== 'incoming') return;
        await this.fx.terminate(tx, call, call.isComplianceRecording ? RESULT.recorderUnreachable : RESULT.notAnswered);
        await this.recorderRefused(tx, call);
      }],
    ];
    for (const [kind, run] of kinds) {
      jobs.register(kind, (job) => this.o.store.write(async (tx) => {
        if (!(await tx.deleteJob(job.id))) return;
        const call = await await tx.getCall(job.callId);
        if (call) await run(tx, call, job);
      }));
    }
  }

  private async completeOperation(tx: CallWriter, call: Call, operationId: string): Promise<void> {
    const op = await tx.getOperation(call.id, operationId);
    if (!op || op.status === 'completed' || op.status === 'failed') return;
    // A call that ended meanwhile still completes the operation: the recording did start.
    const done = { ...op, status: 'completed' as const, resultInfo: RESULT.operationSucceeded, completedAt: this.fx.now() };
    await tx.updateOperation(done);
    await this.fx.notifyOperationDone(tx, call, done);
  }

  private async expireKeepAlive(tx: CallWriter, call: Call): Promise<void> {
    if (call.state !== 'established') return;
    const expires = (call.keepAliveAt ?? call.updatedAt) + this.o.keepAliveTimeoutMs;
    if (expires <= this.fx.now()) await this.fx.terminate(tx, call, RESULT.keepAliveTimeout);
    else await this.fx.schedule(tx, call.id, 'keepAliveExpiry', expires - this.fx.now());
  }

  /** The far side's answer to an outgoing call (or media connecting after the bot answered an incoming one). */
  private async answered(tx: CallWriter, call: Call, a: FarSideAnswer): Promise<void> {
    if (call.state !== 'establishing') return; // hung up before the far side answered
    if (a.kind === 'refuse') {
      await this.fx.terminate(tx, call, a.result);
      return;
    }
    if (a.kind === 'lobby' && call.meetingInfo) {
      // The call stays `establishing` while the bot waits (docs/fidelity.md); the control plane admits it.
      await tx.updateCall({ ...call, inLobby: true, updatedAt: this.fx.now() });
      await this.fx.schedule(tx, call.id, 'lobbyTimeout', LOBBY_TIMEOUT_MS);
      return;
    }
    await this.establish(tx, call, a.hangUpAfterMs);
  }

  /** establishing -> established: the roster forms, and policy recorders of anyone in it are invited. */
  private async establish(tx: CallWriter, call: Call, hangUpAfterMs: number | null = null): Promise<void> {
    if (call.state !== 'establishing') return; // hung up before the far side answered
    const next = await tx.updateCall({ ...call, state: transition(call.state, 'established'), inLobby: false, keepAliveAt: this.fx.now(), updatedAt: this.fx.now() });
    await this.fx.notifyCall(tx, next, 'updated');
    await this.fx.schedule(tx, call.id, 'keepAliveExpiry', this.o.keepAliveTimeoutMs);
    if (hangUpAfterMs !== null) await this.fx.schedule(tx, call.id, 'farSideHangUp', hangUpAfterMs);
    const roster = this.initialRoster(next);
    for (const part of roster) await await tx.upsertParticipant(part);
    await this.fx.notifyRoster(tx, next, roster);
    if (!next.isComplianceRecording) for (const part of roster) await this.inviteRecorders(tx, next, part);
  }

  /**
   * The roster once established: the bot first, then the invited targets (peer-to-peer), the meeting's
   * organizer (meeting join; a generated user when meetingInfo names none), or the caller (incoming calls
   * and policy invites).
   */
  private initialRoster(call: Call): Participant[] {
    let seq = 0;
    const roster = [this.participant(call, call.myParticipantId, this.fx.appIdentity(call.appId, call.tenantId), true, seq++)];
    if (call.direction === 'incoming') {
      if (call.source) roster.push(this.participant(call, call.source.participantId ?? this.fx.newId(), call.source.identity, false, seq++));
    } else if (call.meetingInfo) {
      const organizer = call.meetingInfo.props.organizer as IdentitySet | undefined;
      roster.push(this.participant(call, this.fx.newId(), organizer && Object.keys(organizer).length
        ? organizer
        : { user: { id: this.fx.newId(), displayName: 'Meeting Organizer', tenantId: call.tenantId } }, false, seq++));
    } else {
      for (const t of call.targets) roster.push(this.participant(call, t.participantId ?? this.fx.newId(), t.identity, false, seq++));
    }
    return roster;
  }

  private participant(call: Call, id: string, identity: IdentitySet, isBot: boolean, seq: number): Participant {
    return {
      id, callId: call.id, seq,
      info: { identity, endpointType: isBot ? null : 'default', region: null, languageId: isBot ? null : 'en-US', participantId: id },
      isMuted: false, isInLobby: false, isBot,
      recordingInfo: isBot ? { recordingStatus: 'notRecording', initiator: null } : null,
      joinedAt: this.fx.now(), leftAt: null,
    };
  }

  // ---- control plane: the far side acts -----------------------------------------------------------

  /** A simulated user calls an app: the bot gets `created` with state `incoming` on its calling webhook. */
  placeIncomingCall(cmd: IncomingCallCommand): Promise<Call> {
    const app = this.o.apps.get(cmd.appId);
    assert(app, 'UNKNOWN_APP', `No app with client id '${cmd.appId}' is registered.`);
    const callbackUri = cmd.callbackUri ?? app.callbackUri;
    assert(callbackUri, 'INVALID_REQUEST', `App '${cmd.appId}' has no calling webhook: register a callbackUri for it, or pass one.`);
    return this.o.store.write(async (tx) => {
      const call = this.newIncomingCall(cmd.appId, app.tenantId, callbackUri, { identity: cmd.from, participantId: this.fx.newId() }, cmd.requestedModalities);
      await tx.insertCall(call);
      await this.fx.notifyCall(tx, call, 'created');
      await this.fx.schedule(tx, call.id, 'incomingTimeout', this.o.incomingTimeoutMs);
      return call;
    });
  }

  /**
   * The far side hangs up (P2P) or ends the meeting: the bot gets only `deleted`, as from Teams. A callee
   * who hangs up an outgoing call still ringing declines it; a caller who gives up on an incoming call the
   * bot has not answered leaves it unanswered.
   */
  hangUp(callId: string): Promise<Call> {
    return this.o.store.write(async (tx) => {
      const call = liveCall(await tx.getCall(callId));
      const ringing = call.state === 'establishing' && call.direction === 'outgoing';
      const result = call.meetingInfo ? RESULT.meetingEnded
        : call.state === 'incoming' ? RESULT.notAnswered
          : ringing ? RESULT.declined : RESULT.peerHungUp;
      return this.fx.terminate(tx, call, result);
    });
  }

  /** The meeting admits the bot waiting in its lobby (control plane): the call becomes established. */
  admitFromLobby(callId: string): Promise<Call> {
    return this.o.store.write(async (tx) => {
      const call = liveCall(await tx.getCall(callId));
      assert(call.state === 'establishing' && call.inLobby, 'CALL_NOT_IN_LOBBY', `The call is not waiting in a meeting lobby (state '${call.state}').`);
      await this.establish(tx, call, this.o.behaviours.forCall(call)?.hangUpAfterMs ?? null);
      return (await tx.getCall(callId))!;
    });
  }

  // ---- transfer (call-transfer docs) ----------------------------------------------------------------

  /** The target answered (transferAccepted, then the bot's leg ends) or not (back to established, with why). */
  private async transferOutcome(tx: CallWriter, call: Call, a: FarSideAnswer): Promise<void> {
    const t = call.transfer;
    if (call.state !== 'transferring' || !t) return; // hung up meanwhile
    let failure: ResultInfo | null = a.kind === 'refuse' ? RESULT.transferFailed : null;
    if (t.replacesCallId) {
      const replaced = await tx.getCall(t.replacesCallId);
      const connected = replaced && replaced.appId === call.appId && replaced.tenantId === call.tenantId && replaced.state === 'established';
      if (!connected) failure = RESULT.consultativeTransferFailed;
    }
    const now = this.fx.now();
    if (failure) {
      // "When a call transfer fails, the call state will be established" (call-transfer docs); the
      // consultative sample adds `replacesContext`, whose content Graph does not document (fidelity.md).
      const extras = t.replacesCallId ? { ...call.extras, replacesContext: t.replacesCallId } : call.extras;
      const next = await tx.updateCall({ ...call, state: transition(call.state, 'established'), resultInfo: failure, transfer: null, extras, updatedAt: now });
      await this.fx.notifyCall(tx, next, 'updated');
      await this.fx.schedule(tx, call.id, 'keepAliveExpiry', this.o.keepAliveTimeoutMs);
      return;
    }
    const next = await tx.updateCall({ ...call, state: transition(call.state, 'transferAccepted'), updatedAt: now });
    await this.fx.notifyCall(tx, next, 'updated');
    await this.fx.schedule(tx, call.id, 'finishTransfer', this.o.operationDelayMs);
  }

  /** The bot leaves: terminated with 7015; a consultative transfer also ends the consultation call it replaced. */
  private async finishTransfer(tx: CallWriter, call: Call): Promise<void> {
    const t = call.transfer;
    if (call.state !== 'transferAccepted' || !t) return;
    const reason = t.replacesCallId ? 'AppTransferred' : call.terminationReason;
    await this.fx.terminate(tx, { ...call, terminationReason: reason }, RESULT.transferCompleted);
    if (!t.replacesCallId) return;
    const replaced = await tx.getCall(t.replacesCallId);
    if (replaced && !isEnded(replaced.state)) await this.fx.terminate(tx, { ...replaced, terminationReason: 'AppTransferred' }, RESULT.transferCompleted);
  }

  /** Someone joins: a roster update, and a policy invite if the newcomer is recorded by policy. */
  join(callId: string, identity: IdentitySet): Promise<Participant> {
    return this.o.store.write(async (tx) => {
      const call = establishedCall(await tx.getCall(callId));
      const all = await tx.listParticipants(call.id, { includeLeft: true });
      const part = this.participant(call, this.fx.newId(), identity, false, all.reduce((m, p) => Math.max(m, p.seq), -1) + 1);
      await tx.upsertParticipant(part);
      await this.fx.notifyRoster(tx, call);
      if (!call.isComplianceRecording) await this.inviteRecorders(tx, call, part);
      return part;
    });
  }

  /** Someone leaves: a roster update. When the last other party of a P2P call leaves, the call ends. */
  leave(callId: string, participantId: string): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = establishedCall(await tx.getCall(callId));
      const part = await tx.getParticipant(call.id, participantId);
      assert(part && part.leftAt === null && !part.isBot, 'PARTICIPANT_NOT_FOUND', `No remote participant '${participantId}' in the call.`);
      await tx.upsertParticipant({ ...part, leftAt: this.fx.now() });
      const remaining = (await tx.listParticipants(call.id)).filter((p) => !p.isBot);
      if (!call.meetingInfo && remaining.length === 0) {
        await this.fx.terminate(tx, call, RESULT.peerHungUp);
        return;
      }
      await this.fx.notifyRoster(tx, call);
    });
  }

  setMuted(callId: string, participantId: string, isMuted: boolean): Promise<Participant> {
    return this.o.store.write(async (tx) => {
      const call = establishedCall(await tx.getCall(callId));
      const part = await tx.getParticipant(call.id, participantId);
      assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `No participant '${participantId}' in the call.`);
      const next = { ...part, isMuted };
      await tx.upsertParticipant(next);
      await tx.appendMediaEvent({ callId: call.id, participantId: part.id, at: this.fx.now(), kind: 'mute', muted: isMuted });
      await this.fx.notifyRoster(tx, call);
      return next;
    });
  }

  /** What a participant (or the bot) sends from now on: kept on the call's media timeline. */
  setAudio(callId: string, participantId: string, source: AudioSource): Promise<Participant> {
    return this.o.store.write(async (tx) => {
      const call = establishedCall(await tx.getCall(callId));
      const part = await tx.getParticipant(call.id, participantId);
      assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `No participant '${participantId}' in the call.`);
      await tx.appendMediaEvent({ callId: call.id, participantId: part.id, at: this.fx.now(), kind: 'source', source });
      return part;
    });
  }

  // ---- compliance recording ----------------------------------------------------------------------

  /**
   * Invites the recorder of every policy covering `part` with an incoming call carrying the policy
   * context Teams sends (incomingContext, applicationMetadata.botData). The invite is the only kind of
   * call on which updateRecordingStatus succeeds.
   */
  /**
   * Someone joined `observed` by another path (an invitee answering participants/invite): a recorded user
   * brings the compliance recorder in, as when they join from the Teams side.
   */
  async participantJoined(tx: CallWriter, observed: Call, part: Participant): Promise<void> {
    if (!observed.isComplianceRecording) await this.inviteRecorders(tx, observed, part);
  }

  private async inviteRecorders(tx: CallWriter, observed: Call, part: Participant): Promise<void> {
    const userId = part.info.identity.user?.id;
    if (part.isBot || typeof userId !== 'string') return;
    for (const policy of this.o.policies.forUser(userId, observed.appId)) {
      const app = this.o.apps.get(policy.recorderAppId);
      const invite = this.newIncomingCall(policy.recorderAppId, app?.tenantId ?? observed.tenantId, app?.callbackUri ?? '',
        { identity: part.info.identity, participantId: part.id }, ['audio']);
      invite.isComplianceRecording = true;
      invite.observedCallId = observed.id;
      invite.policyId = policy.id;
      invite.targets = [{ identity: { applicationInstance: { id: policy.recorderAppId, displayName: app?.displayName ?? policy.recorderAppId, tenantId: invite.tenantId } } }];
      invite.meetingInfo = { type: 'tokenMeetingInfo', props: { token: this.fx.newId() } };
      invite.incomingContext = { sourceParticipantId: part.id, observedParticipantId: part.id };
      invite.extras = { applicationMetadata: { botData: botData(policy, observed, part) } };
      await tx.insertCall(invite);
      await this.fx.notifyCall(tx, invite, 'created');
      await this.fx.schedule(tx, invite.id, 'incomingTimeout', this.o.policyInviteTimeoutMs);
    }
  }

  /** A required recorder that refused or missed its invite ends the user's call, as Teams does. */
  async recorderRefused(tx: CallWriter, invite: Call): Promise<void> {
    if (!invite.isComplianceRecording || !invite.observedCallId) return;
    const policy = this.o.policies.list().find((p) => p.id === invite.policyId);
    if (!policy?.required) return;
    const observed = await tx.getCall(invite.observedCallId);
    if (observed && observed.state !== 'terminated') await this.fx.terminate(tx, observed, RESULT.requiredRecorderUnavailable);
  }

  private newIncomingCall(appId: string, tenantId: string, callbackUri: string, source: Call['source'], modalities: string[]): Call {
    const now = this.fx.now();
    return {
      id: this.fx.newId(), tenantId, appId, version: 1, state: 'incoming', direction: 'incoming', callbackUri,
      subject: null, requestedModalities: modalities, mediaConfig: { type: 'serviceHostedMediaConfig', props: {} },
      meetingInfo: null, chatInfo: null,
      targets: [{ identity: this.fx.appIdentity(appId, tenantId) }],
      source, callOptions: null, myParticipantId: this.fx.newId(), callChainId: this.fx.newId(), resultInfo: null,
      terminationReason: null, isComplianceRecording: false, observedCallId: null, policyId: null, incomingContext: null,
      extras: {}, recordingActive: false, createdAt: now, updatedAt: now,
    };
  }
}

/** `applicationMetadata.botData` of policy invites, shaped like the call-answer doc sample. */
function botData(policy: CompliancePolicy, observed: Call, part: Participant): Record<string, unknown> {
  const other = observed.source?.identity;
  return {
    inviteReasons: ['PolicyBasedRecording'],
    policyIdentifier: policy.id,
    mediaHostedRegion: 'graph-calls',
    user: { id: part.info.identity.user?.id, participationMethod: observed.direction === 'incoming' ? 'callee' : 'caller', clientLocation: 'graph-calls' },
    otherSideUser: other ? { id: Object.values(other).find((v) => v?.id)?.id ?? null, tenantId: observed.tenantId, participationMethod: 'caller' } : null,
    pairedRecorders: [],
    otherRecorders: [],
  };
}

const liveCall = (call: Call | undefined): Call => {
  assert(call && call.state !== 'terminated', 'CALL_NOT_FOUND');
  return call;
};

const establishedCall = (call: Call | undefined): Call => {
  const c = liveCall(call);
  assert(c.state === 'established', 'CALL_NOT_ESTABLISHED', `The call is in state '${c.state}'; wait for 'established'.`);
  return c;
};

