import type {
  Call, InvitationParticipantInfo, Operation, OperationType, Participant, ParticipantInfo, Principal, RecordingStatus,
  ResultInfo, TypedValue,
} from './call.js';
import type { TransferCommand } from './call-transfer.js';
import { assertTranscribing, assertTransferable } from './call-transfer.js';
import { assertEstablished, startRecording, stopRecording, transition } from './call-state-machine.js';
import type { CallEffects } from './call-effects.js';
import { assert } from './errors.js';
import type { CallStore, CallWriter, FarSidePort } from './ports.js';
import { mayUpdateRecordingStatus } from './recording-policy.js';
import { RESULT } from './result-codes.js';

export interface CallServiceOptions {
  store: CallStore;
  effects: CallEffects;
  farSide: FarSidePort;
  /** Delay before a `running` operation (startRecording) completes, and before a hang-up finishes. */
  operationDelayMs: number;
}

export interface CreateCallCommand {
  callbackUri: string;
  subject: string | null;
  requestedModalities: string[];
  mediaConfig: TypedValue;
  meetingInfo: TypedValue | null;
  chatInfo: Record<string, unknown> | null;
  targets: InvitationParticipantInfo[];
  source: ParticipantInfo | null;
  callOptions: TypedValue | null;
  /** The Graph version the call was created through (its notifications render in it); default beta. */
  apiVersion?: 'v1.0' | 'beta';
}

export interface AnswerCommand {
  callbackUri: string | null;
  acceptedModalities: string[];
  mediaConfig: TypedValue;
  apiVersion?: 'v1.0' | 'beta';
}

/**
 * What a bot does through Graph. Each command asserts its preconditions, moves state through the state
 * machine and writes the new state, its operation, its notifications and any far-side job in ONE
 * transaction. What the far side does lives in far-side.service.ts.
 */
export class CallService {
  private readonly fx: CallEffects;

  constructor(private readonly o: CallServiceOptions) {
    this.fx = o.effects;
  }

  // ---- reads ----------------------------------------------------------------------------------

  /** A call the principal owns and that still exists; anything else is CALL_NOT_FOUND (no existence leak). */
  async getCall(p: Principal, id: string): Promise<Call> {
    return ownedCall(await this.o.store.getCall(id), p);
  }

  async listParticipants(p: Principal, callId: string): Promise<Participant[]> {
    await this.getCall(p, callId);
    return this.o.store.listParticipants(callId);
  }

  async getParticipant(p: Principal, callId: string, id: string): Promise<Participant> {
    await this.getCall(p, callId);
    const part = await this.o.store.getParticipant(callId, id);
    assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `Participant '${id}' not found.`);
    return part;
  }

  async getOperation(p: Principal, callId: string, id: string): Promise<Operation> {
    await this.getCall(p, callId);
    const op = await this.o.store.getOperation(callId, id);
    assert(op, 'OPERATION_NOT_FOUND', `Operation '${id}' not found.`);
    return op;
  }

  async listOperations(p: Principal, callId: string, afterSeq: number, limit: number) {
    await this.getCall(p, callId);
    return this.o.store.listOperations(callId, afterSeq, limit);
  }

  // ---- calls ----------------------------------------------------------------------------------

  async createCall(p: Principal, cmd: CreateCallCommand): Promise<Call> {
    const now = this.fx.now();
    const call: Call = {
      id: this.fx.newId(),
      tenantId: p.tenantId,
      appId: p.appId,
      version: 1,
      state: 'establishing',
      direction: 'outgoing',
      callbackUri: cmd.callbackUri,
      subject: cmd.subject,
      requestedModalities: cmd.requestedModalities,
      mediaConfig: cmd.mediaConfig,
      meetingInfo: cmd.meetingInfo,
      chatInfo: cmd.chatInfo,
      targets: cmd.targets,
      source: cmd.source ?? { identity: this.fx.appIdentity(p.appId, p.tenantId) },
      callOptions: cmd.callOptions,
      myParticipantId: this.fx.newId(),
      callChainId: this.fx.newId(),
      resultInfo: null,
      terminationReason: null,
      isComplianceRecording: false,
      observedCallId: null,
      policyId: null,
      incomingContext: null,
      extras: {},
      recordingActive: false,
      createdAt: now,
      updatedAt: now,
      ...(cmd.apiVersion ? { apiVersion: cmd.apiVersion } : {}),
    };
    return this.o.store.write(async (tx) => {
      await tx.insertCall(call);
      await this.fx.notifyCall(tx, call, 'updated');
      await this.o.farSide.ring(tx, call);
      return call;
    });
  }

  /** DELETE /calls/{id}: `terminating` now, `terminated` once the far side acknowledges. */
  hangUp(p: Principal, id: string): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      if (call.state === 'terminating') return; // idempotent: the hang-up is already under way
      if (call.state === 'incoming') {
        // Hanging up a call that was never answered is a rejection.
        await this.fx.terminate(tx, call, null);
        return;
      }
      const now = this.fx.now();
      if (call.recordingActive) await this.fx.closeSegment(tx, call, null);
      const next = await tx.updateCall({ ...call, state: transition(call.state, 'terminating'), recordingActive: false, updatedAt: now });
      await this.fx.notifyCall(tx, next, 'updated');
      await this.fx.schedule(tx, call.id, 'finishTermination', this.o.operationDelayMs);
    });
  }

  /** POST /calls/{id}/keepAlive (call-keepalive docs): 200; the 45-minute expiry starts again. */
  keepAlive(p: Principal, id: string): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      // A call that is ending is as good as gone for keepAlive (the docs: 404 once the call has ended).
      assert(call.state !== 'terminating', 'CALL_NOT_FOUND');
      await tx.updateCall({ ...call, keepAliveAt: this.fx.now(), updatedAt: this.fx.now() });
    });
  }

  /** POST /calls/{id}/answer (call-answer docs): 202; establishing now, established when media connects. */
  answer(p: Principal, id: string, cmd: AnswerCommand): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertIncoming(call, 'answer');
      const next = await tx.updateCall({
        ...call, state: transition(call.state, 'establishing'), callbackUri: cmd.callbackUri ?? call.callbackUri,
        requestedModalities: cmd.acceptedModalities, mediaConfig: cmd.mediaConfig, updatedAt: this.fx.now(),
        ...(cmd.apiVersion ? { apiVersion: cmd.apiVersion } : {}),
      });
      await this.fx.notifyCall(tx, next, 'updated');
      await this.fx.schedule(tx, call.id, 'answerCall', this.o.farSide.answerDelayMs(next));
    });
  }

  /** POST /calls/{id}/reject (call-reject docs): 202, then `deleted`. A required recorder's refusal ends the user's call. */
  reject(p: Principal, id: string, callbackUri: string | null): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertIncoming(call, 'reject');
      await this.fx.terminate(tx, { ...call, callbackUri: callbackUri ?? call.callbackUri }, null);
      await this.o.farSide.recorderRefused(tx, call);
    });
  }

  /** POST /calls/{id}/redirect (call-redirect docs): 202, then the call leaves the bot (`deleted`, terminated). */
  redirect(p: Principal, id: string, callbackUri: string | null): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertIncoming(call, 'redirect');
      await this.fx.terminate(tx, { ...call, callbackUri: callbackUri ?? call.callbackUri }, RESULT.redirected);
    });
  }

  // ---- recording ------------------------------------------------------------------------------

  startRecording(p: Principal, id: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertEstablished(call.state, 'startRecording');
      startRecording(call.recordingActive);
      const now = this.fx.now();
      // The doc sample answers startRecording with `running`; the operation completes shortly after.
      const op = this.newOperation(call.id, 'startRecordingOperation', 'running', clientContext, null, now);
      await tx.insertOperation(op);
      await tx.openSegment({ id: this.fx.newId(), callId: call.id, startedAt: now, endedAt: null, startOperationId: op.id, stopOperationId: null });
      await tx.updateCall({ ...call, recordingActive: true, updatedAt: now });
      await this.setBotRecordingStatus(tx, call, 'recording');
      await this.fx.schedule(tx, call.id, 'completeOperation', this.o.operationDelayMs, { operationId: op.id });
      return op;
    });
  }

  stopRecording(p: Principal, id: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertEstablished(call.state, 'stopRecording');
      stopRecording(call.recordingActive);
      const now = this.fx.now();
      // The doc sample answers stopRecording with `completed`: no follow-up notification for it.
      const op = this.newOperation(call.id, 'stopRecordingOperation', 'completed', clientContext, RESULT.operationSucceeded, now);
      await tx.insertOperation(op);
      await this.fx.closeSegment(tx, call, op.id);
      await tx.updateCall({ ...call, recordingActive: false, updatedAt: now });
      await this.setBotRecordingStatus(tx, call, 'notRecording');
      return op;
    });
  }

  updateRecordingStatus(p: Principal, id: string, status: RecordingStatus, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assert(mayUpdateRecordingStatus(call), 'NOT_COMPLIANCE_RECORDING_CALL');
      assertEstablished(call.state, 'updateRecordingStatus');
      const now = this.fx.now();
      const op = this.newOperation(call.id, 'updateRecordingStatusOperation', 'completed', clientContext, RESULT.operationSucceeded, now);
      await tx.insertOperation(op);
      await tx.updateCall({ ...call, updatedAt: now });
      await this.setBotRecordingStatus(tx, call, status);
      return op;
    });
  }

  // ---- transfer (call-transfer docs) ---------------------------------------------------------------

  /**
   * POST /calls/{id}/transfer: 202, then `transferring` -> `transferAccepted` -> `deleted` (terminated,
   * 7015), or back to `established` with the failure's resultInfo. The target's answer is the far side's.
   */
  transfer(p: Principal, id: string, cmd: TransferCommand): Promise<void> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertEstablished(call.state, 'transfer');
      const roster = await tx.listParticipants(call.id);
      assertTransferable(call, roster, cmd);
      const next = await tx.updateCall({
        ...call, state: transition(call.state, 'transferring'), resultInfo: null,
        transfer: { target: cmd.transferTarget, transferee: cmd.transferee, replacesCallId: cmd.transferTarget.replacesCallId ?? null },
        updatedAt: this.fx.now(),
      });
      await this.fx.notifyCall(tx, next, 'updated');
      await this.o.farSide.ringTransferTarget(tx, next);
    });
  }

  // ---- transcription (beta call-starttranscription / call-stoptranscription docs) -------------------

  /** 202 + startTranscriptionOperation `running` (doc sample); the call's transcription is `active` from now. */
  startTranscription(p: Principal, id: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertEstablished(call.state, 'startTranscription');
      assertTranscribing(call, false);
      const now = this.fx.now();
      const op = this.newOperation(call.id, 'startTranscriptionOperation', 'running', clientContext, null, now);
      await tx.insertOperation(op);
      const next = await tx.updateCall({ ...call, transcription: { state: 'active', lastModifiedAt: now }, updatedAt: now });
      await this.fx.notifyCall(tx, next, 'updated');
      await this.fx.schedule(tx, call.id, 'completeOperation', this.o.operationDelayMs, { operationId: op.id });
      return op;
    });
  }

  /** 202 + stopTranscriptionOperation `completed` (doc sample): no follow-up notification for the operation. */
  stopTranscription(p: Principal, id: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(id), p);
      assertEstablished(call.state, 'stopTranscription');
      assertTranscribing(call, true);
      const now = this.fx.now();
      const op = this.newOperation(call.id, 'stopTranscriptionOperation', 'completed', clientContext, RESULT.operationSucceeded, now);
      await tx.insertOperation(op);
      const next = await tx.updateCall({ ...call, transcription: { state: 'inactive', lastModifiedAt: now }, updatedAt: now });
      await this.fx.notifyCall(tx, next, 'updated');
      // The window startTranscription opened (its lastModifiedDateTime) becomes a transcript.
      await this.fx.transcriptionEnded(tx, call.id, { startedAt: call.transcription!.lastModifiedAt, endedAt: now });
      return op;
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private newOperation(callId: string, type: OperationType, status: Operation['status'], clientContext: string | null,
    resultInfo: ResultInfo | null, now: number): Operation {
    return { id: this.fx.newOrderedId(), callId, type, status, clientContext, resultInfo, createdAt: now,
      completedAt: status === 'completed' || status === 'failed' ? now : null };
  }

  /** Recording state lives on the recorder's own participant (the bot), as Teams shows the recorder. */
  private async setBotRecordingStatus(tx: CallWriter, call: Call, status: RecordingStatus): Promise<void> {
    const roster = await tx.listParticipants(call.id);
    const i = roster.findIndex((p) => p.id === call.myParticipantId);
    if (i < 0) throw new Error(`established call ${call.id} has no bot participant`);
    const bot: Participant = { ...roster[i]!, recordingInfo: { recordingStatus: status, initiator: this.fx.appIdentity(call.appId, call.tenantId) } };
    await tx.upsertParticipant(bot);
    roster[i] = bot;
    await this.fx.notifyRoster(tx, call, roster);
  }
}

/** Ownership is part of existence: another app's or tenant's call is simply not found (never 403). */
export function ownedCall(call: Call | undefined, p: Principal): Call {
  assert(call && call.appId === p.appId && call.tenantId === p.tenantId && call.state !== 'terminated', 'CALL_NOT_FOUND');
  return call;
}

function assertIncoming(call: Call, action: string): void {
  assert(call.state === 'incoming', 'CALL_NOT_INCOMING',
    `Action '${action}' is only allowed on an incoming call that has not been answered; the call is in state '${call.state}'.`);
}
