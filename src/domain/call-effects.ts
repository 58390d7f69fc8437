import type { Call, ChangeType, IdentitySet, JobKind, Operation, Participant, Recording, ResultInfo } from './call.js';
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
  /** Runs in the transaction that ends a call (transcripts queue the call's transcription there). */
  onCallEnded?: (tx: CallWriter, call: Call) => Promise<void>;
  /** Runs in the transaction that closes a transcription window (stopTranscription): transcripts queue it there. */
  onTranscriptionEnded?: (tx: CallWriter, callId: string, window: { startedAt: number; endedAt: number }) => Promise<void>;
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

  /** For rows made on every request (operations, recordings): time-ordered, see shared/ids.ts. */
  newOrderedId(): string {
    return this.o.ids.ordered();
  }

  appIdentity(appId: string, tenantId: string): IdentitySet {
    return { application: { id: appId, displayName: this.o.apps.get(appId)?.displayName ?? appId, tenantId } };
  }

  /** A transcription window closed: the transcript of [startedAt, endedAt] is made by a durable job. */
  async transcriptionEnded(tx: CallWriter, callId: string, window: { startedAt: number; endedAt: number }): Promise<void> {
    await this.o.onTranscriptionEnded?.(tx, callId, window);
  }

  async schedule(tx: CallWriter, callId: string, kind: JobKind, delayMs: number, payload: Record<string, string> = {}): Promise<void> {
    await tx.scheduleJob({ callId, kind, dueAt: this.now() + delayMs, payload });
  }

  notifyCall(tx: CallWriter, call: Call, changeType: ChangeType): Promise<void> {
    return this.notify(tx, call, changeType, `/communications/calls/${call.id}`, this.o.render.call(call));
  }

  /** Roster update: the full current roster, as Graph sends it. */
  async notifyRoster(tx: CallWriter, call: Call, roster?: Participant[]): Promise<void> {
    const current = roster ?? await tx.listParticipants(call.id);
    await this.notify(tx, call, 'updated', `/communications/calls/${call.id}/participants`, this.o.render.participants(current, call));
  }

  /** commsOperation docs: an operation returned running/notStarted ends with a `deleted` notification. */
  notifyOperationDone(tx: CallWriter, call: Call, op: Operation): Promise<void> {
    return this.notify(tx, call, 'deleted', `/communications/calls/${call.id}/operations/${op.id}`, this.o.render.operation(op, call));
  }

  /** Closes the open recording segment and queues its rendering into a recording file. */
  async closeSegment(tx: CallWriter, call: Call, stopOperationId: string | null): Promise<void> {
    await tx.closeSegment(call.id, this.now(), stopOperationId);
    await this.schedule(tx, call.id, 'renderRecordings', 0);
  }

  /**
   * A recording is ready. Graph announces recordings through change-notification subscriptions; graph-calls
   * also tells the call's bot directly (`created` on the recording's URL), as docs/fidelity.md explains.
   */
  notifyRecording(tx: CallWriter, call: Call, r: Recording, userId: string | null): Promise<void> {
    return this.notify(tx, call, 'created', recordingPath(r, userId), this.o.render.recording(r, recordingPath(r, userId)));
  }

  /**
   * Ends a call at once (far-side hang-up, rejection, timeout, end of a hang-up): closes an open recording
   * segment, everyone leaves, `terminated` with `resultInfo`, a `deleted` notification. Policy invites
   * recording this call end with it.
   */
  async terminate(tx: CallWriter, call: Call, resultInfo: ResultInfo | null): Promise<Call> {
    const now = this.now();
    if (call.recordingActive) await this.closeSegment(tx, call, null);
    for (const part of await tx.listParticipants(call.id)) await tx.upsertParticipant({ ...part, leftAt: now });
    const ended = await tx.updateCall({
      ...call, state: transition(call.state, 'terminated'), recordingActive: false, resultInfo, updatedAt: now,
    });
    await this.notifyCall(tx, ended, 'deleted');
    await this.o.onCallEnded?.(tx, ended);
    for (const id of await tx.observingCalls(call.id)) {
      const invite = await tx.getCall(id);
      if (invite && invite.state !== 'terminated') await this.terminate(tx, invite, RESULT.conversationEnded);
    }
    return ended;
  }

  /** A notification about another resource of the call (content-sharing sessions); `resourceData` is already in wire form. */
  notifyResource(tx: CallWriter, call: Call, changeType: ChangeType, resourceUrl: string, resourceData: unknown): Promise<void> {
    return this.notify(tx, call, changeType, resourceUrl, resourceData);
  }

  private async notify(tx: CallWriter, call: Call, changeType: ChangeType, resourceUrl: string, resourceData: unknown): Promise<void> {
    await tx.appendOutbox({
      callId: call.id, messageId: this.o.ids.next(), changeType, resourceUrl, resourceData, callbackUri: call.callbackUri, createdAt: this.now(),
    });
  }
}

/**
 * The users an ad hoc call's recording is listed under (`/users/{id}/adhocCalls/{callId}/recordings`):
 * every user who took part, left or not, bots excluded, in roster order. The first names the recording's
 * path in its `created` notification and on the control plane, so both say the same.
 */
export function recordingUsers(roster: readonly Participant[]): string[] {
  return [...new Set(roster.filter((p) => !p.isBot).map((p) => p.info.identity.user?.id).filter((u): u is string => typeof u === 'string'))];
}

/** The Graph path of a recording: under its online meeting, or under a participant's ad hoc call. */
export function recordingPath(r: Recording, userId: string | null): string {
  return r.meetingId
    ? `/communications/onlineMeetings/${r.meetingId}/recordings/${r.id}`
    : `/users/${userId ?? 'unknown'}/adhocCalls/${r.callId}/recordings/${r.id}`;
}
