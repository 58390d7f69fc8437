import type { Call, ChangeType, IdentitySet, JobKind, Operation, Participant, ResultInfo } from './call.js';
import { transition } from './call-state-machine.js';
import type { AppDirectory, CallWriter, NotificationRenderer } from './ports.js';
import { RESULT } from './result-codes.js';
import type { Clock } from '../shared/clock.js';
import type { Ids } from '../shared/ids.js';

export interface CallEffectsOptions {
  clock: Clock;
  ids: Ids;
  render: NotificationRenderer;
  apps: AppDirectory;
}

/**
 * The effects every call command shares — notifications into the outbox, far-side jobs, ending a call —
 * always written through the caller's transaction.
 */
export class CallEffects {
  constructor(private readonly o: CallEffectsOptions) {}

  now(): number {
    return this.o.clock.now();
  }

  newId(): string {
    return this.o.ids.next();
  }

  appIdentity(appId: string, tenantId: string): IdentitySet {
    return { application: { id: appId, displayName: this.o.apps.get(appId)?.displayName ?? appId, tenantId } };
  }

  schedule(tx: CallWriter, callId: string, kind: JobKind, delayMs: number, payload: Record<string, string> = {}): void {
    tx.scheduleJob({ callId, kind, dueAt: this.now() + delayMs, payload });
  }

  notifyCall(tx: CallWriter, call: Call, changeType: ChangeType): void {
    this.notify(tx, call, changeType, `/communications/calls/${call.id}`, this.o.render.call(call));
  }

  /** Roster update: the full current roster, as Graph sends it. */
  notifyRoster(tx: CallWriter, call: Call, roster: Participant[] = tx.listParticipants(call.id)): void {
    this.notify(tx, call, 'updated', `/communications/calls/${call.id}/participants`, this.o.render.participants(roster));
  }

  /** commsOperation docs: an operation returned running/notStarted ends with a `deleted` notification. */
  notifyOperationDone(tx: CallWriter, call: Call, op: Operation): void {
    this.notify(tx, call, 'deleted', `/communications/calls/${call.id}/operations/${op.id}`, this.o.render.operation(op));
  }

  /**
   * Ends a call at once (far-side hang-up, rejection, timeout, end of a hang-up): closes an open recording
   * segment, everyone leaves, `terminated` with `resultInfo`, a `deleted` notification. Policy invites
   * recording this call end with it.
   */
  terminate(tx: CallWriter, call: Call, resultInfo: ResultInfo | null): Call {
    const now = this.now();
    if (call.recordingActive) tx.closeSegment(call.id, now, null);
    for (const part of tx.listParticipants(call.id)) tx.upsertParticipant({ ...part, leftAt: now });
    const ended = tx.updateCall({
      ...call, state: transition(call.state, 'terminated'), recordingActive: false, resultInfo, updatedAt: now,
    });
    this.notifyCall(tx, ended, 'deleted');
    for (const id of tx.observingCalls(call.id)) {
      const invite = tx.getCall(id);
      if (invite && invite.state !== 'terminated') this.terminate(tx, invite, RESULT.conversationEnded);
    }
    return ended;
  }

  private notify(tx: CallWriter, call: Call, changeType: ChangeType, resourceUrl: string, resourceData: unknown): void {
    tx.appendOutbox({
      callId: call.id, messageId: this.o.ids.next(), changeType, resourceUrl, resourceData, callbackUri: call.callbackUri, createdAt: this.now(),
    });
  }
}
