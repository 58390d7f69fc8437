import type { Call, Job, Participant } from '../domain/call.js';
import type { CallEffects } from '../domain/call-effects.js';
import { assert } from '../domain/errors.js';
import type { CallStore, CallWriter } from '../domain/ports.js';
import { ROSTER_RESULT, RESULT } from '../domain/result-codes.js';
import { ROSTER_RULES, type ContentSharingSession, type PendingInvitation } from '../domain/roster.js';
import { answerFromPayload } from './far-side-behaviour.js';
import type { JobRegistry } from './job-registry.js';

export interface InviteesOptions {
  store: CallStore;
  effects: CallEffects;
  /** contentSharingSession in wire form (graph/ renders it), for the notifications a session sends. */
  renderSession: (s: ContentSharingSession) => unknown;
  /** In the transaction an invitee joins: compliance-recording policies invite their recorder (FarSideService.participantJoined). */
  onJoined?: (tx: CallWriter, call: Call, part: Participant) => Promise<void>;
}

/**
 * The far side of roster control: invitees who answer (the `answerInvite` job, scheduled with the far
 * side's answer delay for each invitee, FarSidePort.answerDelayMs), and people who share their screen
 * (content-sharing sessions, started and ended through the control plane). Everything is committed
 * like a bot's command: the state, its notifications and its jobs in one transaction.
 */
export class InviteesSimulator {
  private readonly fx: CallEffects;

  constructor(private readonly o: InviteesOptions) {
    this.fx = o.effects;
  }

  registerJobs(jobs: JobRegistry): void {
    jobs.register('answerInvite', (job) => this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id))) return;
      const call = await tx.getCall(job.callId);
      if (call) await this.answer(tx, call, job);
    }));
  }

  /**
   * An invitee answers (participant-invite docs): the operation completes (`deleted`) once its last
   * invitee has answered, then a roster update adds the invitee; the call named by `replacesCallId` ends,
   * since its participant moved here.
   */
  private async answer(tx: CallWriter, call: Call, job: Job): Promise<void> {
    const inv = await tx.getCallItem(call.id, 'invitation', job.payload.participantId ?? '');
    if (!inv) return; // cancelled with DELETE participants/{id}
    await tx.deleteCallItem(call.id, 'invitation', inv.id);
    if (call.state !== 'established') return; // the call ended or moved on meanwhile: nobody joins
    const decision = answerFromPayload(job.payload);
    if (decision.kind === 'refuse') {
      // The invitee declined, was busy or never answered (far-side behaviour): nobody joins, and once no
      // invitee of the operation is pending it fails with the refusal's resultInfo (INFERRED; fidelity.md).
      const op = await tx.getOperation(call.id, inv.operationId);
      const others = (await tx.listCallItems(call.id, 'invitation')).filter((x) => x.operationId === inv.operationId);
      if (op && op.status === 'running' && others.length === 0) {
        const failed = { ...op, status: 'failed' as const, resultInfo: decision.result, completedAt: this.fx.now() };
        await tx.updateOperation(failed);
        await this.fx.notifyOperationDone(tx, call, failed);
      }
      return;
    }
    const all = await tx.listParticipants(call.id, { includeLeft: true });
    const joined = this.participant(call, inv, all.reduce((m, x) => Math.max(m, x.seq), -1) + 1);
    await tx.upsertParticipant(joined);
    const op = await tx.getOperation(call.id, inv.operationId);
    const others = (await tx.listCallItems(call.id, 'invitation')).filter((x) => x.operationId === inv.operationId);
    if (op && op.status === 'running' && others.length === 0) {
      const done = { ...op, status: 'completed' as const, resultInfo: RESULT.operationSucceeded, completedAt: this.fx.now() };
      await tx.updateOperation(done);
      await this.fx.notifyOperationDone(tx, call, done);
    }
    await this.fx.notifyRoster(tx, call);
    await this.o.onJoined?.(tx, call, joined);
    const replacedId = inv.info.replacesCallId;
    if (replacedId) {
      const replaced = await tx.getCall(replacedId);
      if (replaced && replaced.state !== 'terminated' && replaced.appId === call.appId) await this.fx.terminate(tx, replaced, ROSTER_RESULT.replacedByInvite);
    }
  }

  private participant(call: Call, inv: PendingInvitation, seq: number): Participant {
    return {
      id: inv.id, callId: call.id, seq,
      info: { identity: inv.info.identity, endpointType: inv.info.endpointType ?? 'default', region: null, languageId: 'en-US', participantId: inv.id },
      isMuted: false, isInLobby: false, isBot: false, recordingInfo: null, joinedAt: this.fx.now(), leftAt: null,
    };
  }

  // ---- control plane: someone shares their screen -------------------------------------------------

  /**
   * A participant starts sharing: a contentSharingSession the bot can list and get. When the call asked for
   * them (callOptions.isContentSharingNotificationEnabled) the bot is told with a `created` notification.
   */
  startContentSharing(callId: string, presenterParticipantId: string): Promise<ContentSharingSession> {
    return this.o.store.write(async (tx) => {
      const call = await establishedCall(tx, callId);
      const part = await tx.getParticipant(call.id, presenterParticipantId);
      assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `No participant '${presenterParticipantId}' in the call.`);
      const open = await tx.listCallItems(call.id, 'contentSharingSession');
      assert(open.length < ROSTER_RULES.maxContentSharingSessions, 'INVALID_REQUEST',
        `The call has ${open.length} content-sharing sessions, the most graph-calls keeps at once; end one first.`);
      const session: ContentSharingSession = { id: this.fx.newId(), callId: call.id, presenterParticipantId: part.id, startedAt: this.fx.now() };
      await tx.putCallItem('contentSharingSession', session);
      if (notifiesContentSharing(call)) {
        await this.fx.notifyResource(tx, call, 'created', `/communications/calls/${call.id}/contentSharingSessions/${session.id}`, this.o.renderSession(session));
      }
      return session;
    });
  }

  /** Sharing stops: the session is gone (`deleted` when notifications were asked for). */
  endContentSharing(callId: string, sessionId: string): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = await establishedCall(tx, callId);
      const session = await tx.getCallItem(call.id, 'contentSharingSession', sessionId);
      assert(session, 'CONTENT_SHARING_SESSION_NOT_FOUND', `No content-sharing session '${sessionId}' in the call.`);
      await tx.deleteCallItem(call.id, 'contentSharingSession', sessionId);
      if (notifiesContentSharing(call)) {
        await this.fx.notifyResource(tx, call, 'deleted', `/communications/calls/${call.id}/contentSharingSessions/${session.id}`, this.o.renderSession(session));
      }
    });
  }
}

/** callOptions.isContentSharingNotificationEnabled (callOptions docs) asks for content-sharing notifications. */
const notifiesContentSharing = (call: Call) => call.callOptions?.props.isContentSharingNotificationEnabled === true;

async function establishedCall(tx: CallWriter, callId: string): Promise<Call> {
  const call = await tx.getCall(callId);
  assert(call && call.state !== 'terminated', 'CALL_NOT_FOUND');
  assert(call.state === 'established', 'CALL_NOT_ESTABLISHED', `The call is in state '${call.state}'; wait for 'established'.`);
  return call;
}
