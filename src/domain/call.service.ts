import type {
  Call, ChangeType, IdentitySet, InvitationParticipantInfo, Job, JobKind, Operation, OperationType, Participant,
  ParticipantInfo, Principal, RecordingStatus, ResultInfo, TypedValue,
} from './call.js';
import { assertEstablished, isEnded, startRecording, stopRecording, transition } from './call-state-machine.js';
import { assert, DomainError } from './errors.js';
import type { CallStore, CallWriter, NotificationRenderer } from './ports.js';
import type { Clock } from '../shared/clock.js';
import type { Ids } from '../shared/ids.js';
import { FarSide } from './far-side.js';
import { mayUpdateRecordingStatus } from './recording-policy.js';

export interface CallServiceOptions {
  store: CallStore;
  clock: Clock;
  ids: Ids;
  render: NotificationRenderer;
  farSide: FarSide;
  /** Delay before a `running` operation (startRecording) completes, and before a hang-up finishes. */
  operationDelayMs: number;
  /** Display name for an app's identity in rosters. */
  appDisplayName(appId: string): string;
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
}

/** resultInfo Graph sends when an operation finishes (commsOperation docs, playPrompt sample). */
const OPERATION_SUCCEEDED: ResultInfo = { code: 200, subcode: 0, message: 'Action completed successfully.' };
/** resultInfo on the `deleted` notification after DELETE /calls/{id} (spec §3.3 hang-up sequence). */
const CONVERSATION_ENDED: ResultInfo = { code: 200, subcode: 5001, message: 'The conversation has ended.' };

/**
 * The call use cases. Each command asserts its preconditions, moves state through the state machine and
 * writes the new state, its operation, its notifications and any far-side job in ONE transaction.
 */
export class CallService {
  constructor(private readonly o: CallServiceOptions) {}

  // ---- reads ----------------------------------------------------------------------------------

  /** A call the principal owns and that still exists; anything else is CALL_NOT_FOUND (no existence leak). */
  getCall(p: Principal, id: string): Call {
    return ownedCall(this.o.store.getCall(id), p);
  }

  listParticipants(p: Principal, callId: string): Participant[] {
    this.getCall(p, callId);
    return this.o.store.listParticipants(callId);
  }

  getParticipant(p: Principal, callId: string, id: string): Participant {
    this.getCall(p, callId);
    const part = this.o.store.getParticipant(callId, id);
    assert(part && part.leftAt === null, 'PARTICIPANT_NOT_FOUND', `Participant '${id}' not found.`);
    return part;
  }

  getOperation(p: Principal, callId: string, id: string): Operation {
    this.getCall(p, callId);
    const op = this.o.store.getOperation(callId, id);
    assert(op, 'OPERATION_NOT_FOUND', `Operation '${id}' not found.`);
    return op;
  }

  listOperations(p: Principal, callId: string, afterSeq: number, limit: number) {
    this.getCall(p, callId);
    return this.o.store.listOperations(callId, afterSeq, limit);
  }

  // ---- commands -------------------------------------------------------------------------------

  async createCall(p: Principal, cmd: CreateCallCommand): Promise<Call> {
    const now = this.o.clock.now();
    const call: Call = {
      id: this.o.ids.next(),
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
      source: cmd.source ?? { identity: this.appIdentity(p.appId, p.tenantId) },
      callOptions: cmd.callOptions,
      myParticipantId: this.o.ids.next(),
      callChainId: this.o.ids.next(),
      resultInfo: null,
      terminationReason: null,
      isComplianceRecording: false,
      recordingActive: false,
      createdAt: now,
      updatedAt: now,
    };
    return this.o.store.write((tx) => {
      tx.insertCall(call);
      this.notifyCall(tx, call, 'updated');
      this.schedule(tx, call.id, 'answerCall', this.o.farSide.answerDelayMs(call));
      return call;
    });
  }

  /** DELETE /calls/{id}: establishing|established -> terminating now, terminated after the far side acks. */
  hangUp(p: Principal, id: string): Promise<void> {
    return this.o.store.write((tx) => {
      const call = ownedCall(tx.getCall(id), p);
      if (call.state === 'terminating') return; // idempotent: the hang-up is already under way
      const now = this.o.clock.now();
      if (call.recordingActive) tx.closeSegment(call.id, now, null);
      const next = tx.updateCall({
        ...call, state: transition(call.state, 'terminating'), recordingActive: false, updatedAt: now,
      });
      this.notifyCall(tx, next, 'updated');
      this.schedule(tx, call.id, 'finishTermination', this.o.operationDelayMs);
    });
  }

  startRecording(p: Principal, id: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write((tx) => {
      const call = ownedCall(tx.getCall(id), p);
      assertEstablished(call.state, 'startRecording');
      startRecording(call.recordingActive);
      const now = this.o.clock.now();
      // The doc sample answers startRecording with `running`; the operation completes shortly after.
      const op = this.newOperation(call.id, 'startRecordingOperation', 'running', clientContext, null, now);
      tx.insertOperation(op);
      tx.openSegment({ id: this.o.ids.next(), callId: call.id, startedAt: now, endedAt: null, startOperationId: op.id, stopOperationId: null });
      tx.updateCall({ ...call, recordingActive: true, updatedAt: now });
      this.setBotRecordingStatus(tx, call, 'recording');
      this.schedule(tx, call.id, 'completeOperation', this.o.operationDelayMs, { operationId: op.id });
      return op;
    });
  }

  stopRecording(p: Principal, id: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write((tx) => {
      const call = ownedCall(tx.getCall(id), p);
      assertEstablished(call.state, 'stopRecording');
      stopRecording(call.recordingActive);
      const now = this.o.clock.now();
      // The doc sample answers stopRecording with `completed`: no follow-up notification for it.
      const op = this.newOperation(call.id, 'stopRecordingOperation', 'completed', clientContext, OPERATION_SUCCEEDED, now);
      tx.insertOperation(op);
      tx.closeSegment(call.id, now, op.id);
      tx.updateCall({ ...call, recordingActive: false, updatedAt: now });
      this.setBotRecordingStatus(tx, call, 'notRecording');
      return op;
    });
  }

  updateRecordingStatus(p: Principal, id: string, status: RecordingStatus, clientContext: string | null): Promise<Operation> {
    return this.o.store.write((tx) => {
      const call = ownedCall(tx.getCall(id), p);
      assert(mayUpdateRecordingStatus(call), 'NOT_COMPLIANCE_RECORDING_CALL');
      assertEstablished(call.state, 'updateRecordingStatus');
      const now = this.o.clock.now();
      const op = this.newOperation(call.id, 'updateRecordingStatusOperation', 'completed', clientContext, OPERATION_SUCCEEDED, now);
      tx.insertOperation(op);
      tx.updateCall({ ...call, updatedAt: now });
      this.setBotRecordingStatus(tx, call, status);
      return op;
    });
  }

  // ---- far side (run by the job runner, one job per transaction) ------------------------------

  /** Runs one due job; the job row is deleted in the same transaction, so it runs exactly once. */
  runJob(job: Job): Promise<void> {
    return this.o.store.write((tx) => {
      if (!tx.deleteJob(job.id)) return;
      const call = tx.getCall(job.callId);
      if (!call) return;
      const now = this.o.clock.now();
      switch (job.kind) {
        case 'answerCall': {
          if (call.state !== 'establishing') return; // hung up before the far side answered
          const next = tx.updateCall({ ...call, state: transition(call.state, 'established'), updatedAt: now });
          this.notifyCall(tx, next, 'updated');
          const roster = this.o.farSide.initialRoster(next, this.appIdentity(call.appId, call.tenantId), now);
          for (const part of roster) tx.upsertParticipant(part);
          this.notifyRoster(tx, next);
          return;
        }
        case 'completeOperation': {
          const op = tx.getOperation(call.id, job.payload.operationId ?? '');
          if (!op || op.status === 'completed' || op.status === 'failed') return;
          // A call that ended meanwhile still completes the operation: the recording did start.
          const done: Operation = { ...op, status: 'completed', resultInfo: OPERATION_SUCCEEDED, completedAt: now };
          tx.updateOperation(done);
          // commsOperation docs: an operation returned running/notStarted ends with a `deleted` notification.
          this.notify(tx, call, 'deleted', `/communications/calls/${call.id}/operations/${op.id}`, this.o.render.operation(done));
          return;
        }
        case 'finishTermination': {
          if (call.state !== 'terminating') return;
          for (const part of tx.listParticipants(call.id)) tx.upsertParticipant({ ...part, leftAt: now });
          const next = tx.updateCall({ ...call, state: transition(call.state, 'terminated'), resultInfo: CONVERSATION_ENDED, updatedAt: now });
          this.notifyCall(tx, next, 'deleted');
          return;
        }
        default: {
          const never: never = job.kind;
          throw new Error(`unknown job kind ${String(never)}`);
        }
      }
    });
  }

  // ---- helpers ---------------------------------------------------------------------------------

  private newOperation(callId: string, type: OperationType, status: Operation['status'], clientContext: string | null,
    resultInfo: ResultInfo | null, now: number): Operation {
    return { id: this.o.ids.next(), callId, type, status, clientContext, resultInfo, createdAt: now,
      completedAt: status === 'completed' || status === 'failed' ? now : null };
  }

  /** Recording state lives on the recorder's own participant (the bot), as Teams shows the recorder. */
  private setBotRecordingStatus(tx: CallWriter, call: Call, status: RecordingStatus): void {
    const roster = tx.listParticipants(call.id);
    const i = roster.findIndex((p) => p.id === call.myParticipantId);
    if (i < 0) throw new Error(`established call ${call.id} has no bot participant`);
    const bot: Participant = { ...roster[i]!, recordingInfo: { recordingStatus: status, initiator: this.appIdentity(call.appId, call.tenantId) } };
    tx.upsertParticipant(bot);
    roster[i] = bot;
    this.notify(tx, call, 'updated', `/communications/calls/${call.id}/participants`, this.o.render.participants(roster));
  }

  appIdentity(appId: string, tenantId: string): IdentitySet {
    return { application: { id: appId, displayName: this.o.appDisplayName(appId), tenantId } };
  }

  private schedule(tx: CallWriter, callId: string, kind: JobKind, delayMs: number, payload: Record<string, string> = {}): void {
    tx.scheduleJob({ callId, kind, dueAt: this.o.clock.now() + delayMs, payload });
  }

  private notifyCall(tx: CallWriter, call: Call, changeType: ChangeType): void {
    this.notify(tx, call, changeType, `/communications/calls/${call.id}`, this.o.render.call(call));
  }

  private notifyRoster(tx: CallWriter, call: Call): void {
    this.notify(tx, call, 'updated', `/communications/calls/${call.id}/participants`,
      this.o.render.participants(tx.listParticipants(call.id)));
  }

  private notify(tx: CallWriter, call: Call, changeType: ChangeType, resourceUrl: string, resourceData: unknown): void {
    tx.appendOutbox({
      callId: call.id, messageId: this.o.ids.next(), changeType, resourceUrl, resourceData, callbackUri: call.callbackUri, createdAt: this.o.clock.now(),
    });
  }
}

/** Ownership is part of existence: another app's or tenant's call is simply not found (never 403). */
function ownedCall(call: Call | undefined, p: Principal): Call {
  assert(call && call.appId === p.appId && call.tenantId === p.tenantId && call.state !== 'terminated', 'CALL_NOT_FOUND');
  return call;
}

export { DomainError, isEnded };
