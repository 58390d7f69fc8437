import type { AudioSource, Call, Job, MediaEvent, Operation, OperationType, Principal, ResultInfo } from './call.js';
import { assertEstablished } from './call-state-machine.js';
import type { CallEffects } from './call-effects.js';
import { ownedCall } from './call.service.js';
import { assert } from './errors.js';
import {
  BEEP, cancelledReason, DTMF_TONE_MS, farSideSpeech, MAX_STEP_MS, NO_MEDIA, RECORD_TICK_MS, recordEnd,
  type CallMediaState, type MediaOperationState, type PromptClip, type RecordEnd, type RecordSettings, type Tone,
} from './media-actions.js';
import type { CallStore, CallWriter } from './ports.js';
import { MEDIA_RESULT } from './result-codes.js';

/** Where prompt audio comes from (media/ implements it over the media library). */
export interface MediaSources {
  /** A prompt's audio and length, or null when the URI names nothing graph-calls can play. */
  resolve(uri: string): Promise<{ source: AudioSource; durationMs: number } | null>;
  /** The length (ms) of every clip the timeline plays. */
  clipLengths(events: readonly MediaEvent[]): Promise<Map<string, number>>;
}

export interface MediaActionsOptions {
  store: CallStore;
  effects: CallEffects;
  sources: MediaSources;
}

export interface PlayPromptCommand {
  prompts: Array<{ uri: string; repeat: number }>;
  loop: boolean;
  clientContext: string | null;
  origin: string;
}

export interface RecordCommand extends RecordSettings {
  prompts: Array<{ uri: string; repeat: number }>;
  clientContext: string | null;
  origin: string;
}

export interface SendDtmfCommand {
  tones: Tone[];
  delayBetweenTonesMs: number;
  clientContext: string | null;
}

/** A key press the far side makes, `inMs` from now on the call's clock. */
export interface ScriptedTone { tone: Tone; inMs: number }

/**
 * The service-hosted media actions. playPrompt and record share one queue per call and run one at a
 * time, in order (call-cancelmediaprocessing docs); each step is a durable `mediaStep` job, so a prompt
 * that is playing keeps playing across a restart and on any instance. Prompts play on the bot's own
 * participant of the media timeline, so the call's recording hears them; a record listens to the far
 * side's participants on the same timeline.
 */
export class MediaActionsService {
  private readonly fx: CallEffects;

  constructor(private readonly o: MediaActionsOptions) {
    this.fx = o.effects;
  }

  // ---- bot commands ---------------------------------------------------------------------------------

  /** POST /calls/{id}/playPrompt: 200 + playPromptOperation `running`; `deleted` once the last prompt ends. */
  async playPrompt(p: Principal, callId: string, cmd: PlayPromptCommand): Promise<Operation> {
    const prompts = await this.clips(cmd.prompts);
    return this.enqueue(p, callId, 'playPrompt', 'playPromptOperation', cmd.clientContext, false, {
      kind: 'playPrompt', prompts, loop: cmd.loop, record: null, origin: cmd.origin,
    });
  }

  /** POST /calls/{id}/recordResponse (and beta /record): 200 + recordOperation `running`. */
  async record(p: Principal, callId: string, cmd: RecordCommand, action: string): Promise<Operation> {
    const prompts = await this.clips(cmd.prompts);
    const { prompts: _p, clientContext, origin, ...settings } = cmd;
    return this.enqueue(p, callId, action, 'recordOperation', clientContext, cmd.bargeInAllowed, {
      kind: 'record', prompts, loop: false, record: settings, origin,
    });
  }

  /** POST /calls/{id}/cancelMediaProcessing: every running and queued prompt/record ends `failed` 400/8508. */
  cancelMediaProcessing(p: Principal, callId: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      let call = ownedCall(await tx.getCall(callId), p);
      assertServiceHosted(call, 'cancelMediaProcessing');
      assertEstablished(call.state, 'cancelMediaProcessing');
      call = await this.cancelQueue(tx, call, MEDIA_RESULT.cancelled);
      // The docs' sample answers `completed`: the cancellation itself is done when the answer is sent.
      const op = this.newOperation(call.id, 'cancelMediaProcessingOperation', 'completed', clientContext, MEDIA_RESULT.completed);
      await tx.insertOperation(op);
      return op;
    });
  }

  /** POST /calls/{id}/subscribeToTone: from now on each far-side key press is a call `updated` with toneInfo. */
  subscribeToTone(p: Principal, callId: string, clientContext: string | null): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(callId), p);
      assertServiceHosted(call, 'subscribeToTone');
      assertEstablished(call.state, 'subscribeToTone');
      await tx.updateCall({ ...call, media: { ...mediaOf(call), toneSubscribed: true }, updatedAt: this.fx.now() });
      const op = this.newOperation(call.id, 'subscribeToToneOperation', 'completed', clientContext, MEDIA_RESULT.completed);
      await tx.insertOperation(op);
      return op;
    });
  }

  /** POST /calls/{id}/sendDtmfTones: the keys go onto the bot's media timeline; `deleted` once the last has sounded. */
  sendDtmfTones(p: Principal, callId: string, cmd: SendDtmfCommand): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      const call = ownedCall(await tx.getCall(callId), p);
      assertEstablished(call.state, 'sendDtmfTones');
      const now = this.fx.now();
      const step = DTMF_TONE_MS + cmd.delayBetweenTonesMs;
      for (const [i, tone] of cmd.tones.entries()) {
        await tx.appendMediaEvent({ callId: call.id, participantId: call.myParticipantId, at: now + i * step, kind: 'tone', tone });
      }
      const op = this.newOperation(call.id, 'sendDtmfTonesOperation', 'running', cmd.clientContext, null, {
        kind: 'sendDtmfTones', prompts: [], loop: false, record: null, origin: '',
      });
      await tx.insertOperation(op);
      await this.fx.schedule(tx, call.id, 'mediaStep', cmd.tones.length * step - cmd.delayBetweenTonesMs, { operationId: op.id });
      return op;
    });
  }

  // ---- the far side (control plane) -----------------------------------------------------------------

  /** A far-side participant presses keys: now, or scripted later on the call's clock (each a durable job). */
  pressTones(callId: string, participantId: string, tones: readonly ScriptedTone[]): Promise<Array<{ tone: Tone; at: number }>> {
    return this.o.store.write(async (tx) => {
      let call = await tx.getCall(callId);
      assert(call && call.state !== 'terminated', 'CALL_NOT_FOUND');
      assert(call.state === 'established', 'CALL_NOT_ESTABLISHED', `The call is in state '${call.state}'; wait for 'established'.`);
      const part = await tx.getParticipant(call.id, participantId);
      assert(part && part.leftAt === null && !part.isBot, 'PARTICIPANT_NOT_FOUND', `No remote participant '${participantId}' in the call.`);
      const now = this.fx.now();
      for (const t of tones) {
        if (t.inMs <= 0) call = await this.toneHeard(tx, call, part.id, t.tone);
        else await this.fx.schedule(tx, call.id, 'farSideTone', t.inMs, { participantId: part.id, tone: t.tone });
      }
      return tones.map((t) => ({ tone: t.tone, at: now + Math.max(0, t.inMs) }));
    });
  }

  // ---- durable jobs -----------------------------------------------------------------------------------

  /** A scripted far-side key press is due. */
  async runFarSideTone(job: Job): Promise<void> {
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id))) return;
      const call = await tx.getCall(job.callId);
      if (!call || call.state !== 'established') return;
      const part = await tx.getParticipant(call.id, job.payload.participantId ?? '');
      if (!part || part.leftAt !== null) return;
      await this.toneHeard(tx, call, part.id, job.payload.tone as Tone);
    });
  }

  /** The next step of a media operation: start it, the next prompt, the record window, or a check of the far side's audio. */
  async runStep(job: Job): Promise<void> {
    // Clip lengths come from the config store: read before the transaction, which must not wait on other I/O.
    const clipMs = await this.o.sources.clipLengths(await this.o.store.listMediaEvents(job.callId));
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id))) return;
      const call = await tx.getCall(job.callId);
      const op = call ? await tx.getOperation(call.id, job.payload.operationId ?? '') : undefined;
      if (!call || !op?.media || op.status === 'completed' || op.status === 'failed') return;
      if (op.media.kind === 'sendDtmfTones') {
        await this.finish(tx, call, op, 'completed', MEDIA_RESULT.completed, 'completedSuccessfully');
        return;
      }
      if (mediaOf(call).queue[0] !== op.id) return; // cancelled, or a barge-in moved it: its job is stale
      if (call.state !== 'established') {
        // INFERRED: the call ended under a running prompt or record; it ends as cancelled (fidelity.md).
        await this.cancelQueue(tx, call, MEDIA_RESULT.cancelled);
        return;
      }
      await this.step(tx, call, op, (id) => clipMs.get(id));
    });
  }

  /** The recorded response's WAV is stored (media/record-response.ts): the record completes. */
  async recordingStored(job: Job, location: string, accessToken: string): Promise<void> {
    await this.o.store.write(async (tx) => {
      if (!(await tx.deleteJob(job.id))) return;
      const call = await tx.getCall(job.callId);
      const op = call ? await tx.getOperation(call.id, job.payload.operationId ?? '') : undefined;
      if (!call || !op?.media || op.media.phase !== 'rendering') return;
      const result = op.media.completionReason === 'maxRecordDurationReached' ? MEDIA_RESULT.maxRecordDurationReached : MEDIA_RESULT.completed;
      await this.finish(tx, call, { ...op, media: { ...op.media, recordingLocation: location, recordingAccessToken: accessToken } },
        'completed', result, op.media.completionReason ?? 'unspecifiedError');
    });
  }

  // ---- the queue ----------------------------------------------------------------------------------------

  private async clips(prompts: PlayPromptCommand['prompts']): Promise<PromptClip[]> {
    const out: PromptClip[] = [];
    for (const p of prompts) {
      const hit = await this.o.sources.resolve(p.uri);
      for (let i = 0; i < p.repeat; i++) out.push({ uri: p.uri, source: hit?.source ?? null, durationMs: hit?.durationMs ?? 0 });
    }
    return out;
  }

  private enqueue(p: Principal, callId: string, action: string, type: OperationType, clientContext: string | null, bargeIn: boolean,
    media: Pick<MediaOperationState, 'kind' | 'prompts' | 'loop' | 'record' | 'origin'>): Promise<Operation> {
    return this.o.store.write(async (tx) => {
      let call = ownedCall(await tx.getCall(callId), p);
      assertServiceHosted(call, action);
      assertEstablished(call.state, action);
      // The docs' samples answer `running` for both playPrompt and recordResponse, queued or not.
      const op = this.newOperation(call.id, type, 'running', clientContext, null, media);
      await tx.insertOperation(op);
      let queue = mediaOf(call).queue;
      if (bargeIn && queue.length > 0) {
        // v1.0 call-record: bargeInAllowed barges into the queued and playing operations; INFERRED: the one
        // playing is interrupted (failed, 8508), the queued ones wait behind the new record (fidelity.md).
        const head = await tx.getOperation(call.id, queue[0]!);
        if (head?.media) await this.finish(tx, call, head, 'failed', MEDIA_RESULT.cancelled, cancelledReason(head.media.kind));
        await this.botSource(tx, call, { type: 'silence' });
        queue = [op.id, ...queue.slice(1)];
      } else {
        queue = [...queue, op.id];
      }
      call = await tx.updateCall({ ...call, media: { ...mediaOf(call), queue }, updatedAt: this.fx.now() });
      if (queue[0] === op.id) await this.fx.schedule(tx, call.id, 'mediaStep', 0, { operationId: op.id });
      return op;
    });
  }

  private async step(tx: CallWriter, call: Call, op: Operation, clipMs: (id: string) => number | undefined): Promise<void> {
    const m = op.media!;
    const now = this.fx.now();
    if (m.phase === 'queued') {
      const missing = m.prompts.find((c) => !c.source);
      if (missing) {
        // Graph fetches the prompt when it is its turn; a URI it cannot fetch fails the operation.
        await this.finish(tx, call, op, 'failed', MEDIA_RESULT.fileNotDownloaded, m.kind === 'record' ? 'playPromptFailed' : 'unknown');
        await this.next(tx, call, op.id);
        return;
      }
      if (m.prompts.length > 0) return this.playPromptAt(tx, call, op, 0);
      return this.openRecord(tx, call, op);
    }
    if (m.phase === 'prompting') {
      let i = m.promptIndex + 1;
      // A loop of silent (zero-length) prompts would step without end: it plays once.
      if (i >= m.prompts.length && m.loop && m.prompts.some((c) => c.durationMs > 0)) i = 0;
      if (i < m.prompts.length) return this.playPromptAt(tx, call, op, i);
      if (m.kind === 'record') return this.openRecord(tx, call, op);
      await this.botSource(tx, call, { type: 'silence' });
      await this.finish(tx, call, op, 'completed', MEDIA_RESULT.completed, 'completedSuccessfully');
      await this.next(tx, call, op.id);
      return;
    }
    if (m.phase === 'recording' && m.record && m.recordStartAt !== null) {
      const farSide = (await tx.listParticipants(call.id, { includeLeft: true })).filter((x) => !x.isBot);
      const speech = farSideSpeech(await tx.listMediaEvents(call.id), farSide, m.recordStartAt, now, clipMs);
      const end = recordEnd(speech, m.recordStartAt, now, m.record);
      if (end) return this.closeRecord(tx, call, op, end);
      await this.fx.schedule(tx, call.id, 'mediaStep', Math.max(RECORD_TICK_MS, m.recordStartAt - now), { operationId: op.id });
    }
  }

  private async playPromptAt(tx: CallWriter, call: Call, op: Operation, i: number): Promise<void> {
    const clip = op.media!.prompts[i]!;
    await this.botSource(tx, call, clip.source!);
    await tx.updateOperation({ ...op, media: { ...op.media!, phase: 'prompting', promptIndex: i } });
    await this.fx.schedule(tx, call.id, 'mediaStep', Math.min(MAX_STEP_MS, clip.durationMs), { operationId: op.id });
  }

  /** The prompts are over: the beep (playBeep), then the record window opens. */
  private async openRecord(tx: CallWriter, call: Call, op: Operation): Promise<void> {
    const now = this.fx.now();
    const s = op.media!.record!;
    if (s.playBeep) {
      await this.botSource(tx, call, { type: 'tone', frequencyHz: BEEP.frequencyHz, amplitude: BEEP.amplitude });
      await tx.appendMediaEvent({ callId: call.id, participantId: call.myParticipantId, at: now + BEEP.durationMs, kind: 'source', source: { type: 'silence' } });
    } else {
      await this.botSource(tx, call, { type: 'silence' });
    }
    const start = now + (s.playBeep ? BEEP.durationMs : 0);
    await tx.updateOperation({ ...op, media: { ...op.media!, phase: 'recording', recordStartAt: start } });
    await this.fx.schedule(tx, call.id, 'mediaStep', start - now + RECORD_TICK_MS, { operationId: op.id });
  }

  /** The record window closed: initial silence fails the operation; anything else renders the response. */
  private async closeRecord(tx: CallWriter, call: Call, op: Operation, end: RecordEnd | { endAt: number; reason: 'stopToneDetected' }): Promise<void> {
    const m = op.media!;
    if (end.reason === 'initialSilenceTimeout') {
      // call-record docs: the initial silence timeout "fails the operation".
      await this.finish(tx, call, { ...op, media: { ...m, recordEndAt: end.endAt } }, 'failed', MEDIA_RESULT.initialSilenceTimeout, end.reason);
    } else {
      await tx.updateOperation({ ...op, media: { ...m, phase: 'rendering', recordEndAt: end.endAt, completionReason: end.reason } });
      await this.fx.schedule(tx, call.id, 'renderRecordResponse', 0, { operationId: op.id });
    }
    await this.next(tx, call, op.id);
  }

  /** `done` leaves the queue; the next operation, if any, starts now. */
  private async next(tx: CallWriter, call: Call, done: string): Promise<Call> {
    const current = (await tx.getCall(call.id)) ?? call;
    const queue = mediaOf(current).queue.filter((id) => id !== done);
    const next = await tx.updateCall({ ...current, media: { ...mediaOf(current), queue }, updatedAt: this.fx.now() });
    if (queue[0]) await this.fx.schedule(tx, call.id, 'mediaStep', 0, { operationId: queue[0] });
    return next;
  }

  /** Every running and queued prompt/record ends `failed` with `result`; the bot falls silent. subscribeToTone stays. */
  private async cancelQueue(tx: CallWriter, call: Call, result: ResultInfo): Promise<Call> {
    const queue = mediaOf(call).queue;
    for (const id of queue) {
      const op = await tx.getOperation(call.id, id);
      if (op?.media && op.status !== 'completed' && op.status !== 'failed') await this.finish(tx, call, op, 'failed', result, cancelledReason(op.media.kind));
    }
    if (queue.length > 0) await this.botSource(tx, call, { type: 'silence' });
    return tx.updateCall({ ...call, media: { ...mediaOf(call), queue: [] }, updatedAt: this.fx.now() });
  }

  /** A far-side key press: on the timeline, to the bot if it subscribed, and a stop tone ends a running record. */
  private async toneHeard(tx: CallWriter, call: Call, participantId: string, tone: Tone): Promise<Call> {
    const now = this.fx.now();
    await tx.appendMediaEvent({ callId: call.id, participantId, at: now, kind: 'tone', tone });
    let current = call;
    const media = mediaOf(call);
    if (media.toneSubscribed) {
      const sequenceId = media.toneSequence + 1;
      current = await tx.updateCall({ ...call, media: { ...media, toneSequence: sequenceId, lastTone: { sequenceId, tone } }, updatedAt: now });
      await this.fx.notifyCall(tx, current, 'updated');
    }
    const headId = mediaOf(current).queue[0];
    const head = headId ? await tx.getOperation(call.id, headId) : undefined;
    const m = head?.media;
    if (head && m?.kind === 'record' && m.phase === 'recording' && m.recordStartAt !== null && m.recordStartAt <= now && m.record?.stopTones.includes(tone)) {
      await this.closeRecord(tx, current, head, { endAt: now, reason: 'stopToneDetected' });
      current = (await tx.getCall(call.id)) ?? current;
    }
    return current;
  }

  // ---- helpers ----------------------------------------------------------------------------------------

  private async botSource(tx: CallWriter, call: Call, source: AudioSource): Promise<void> {
    await tx.appendMediaEvent({ callId: call.id, participantId: call.myParticipantId, at: this.fx.now(), kind: 'source', source });
  }

  private async finish(tx: CallWriter, call: Call, op: Operation, status: 'completed' | 'failed', resultInfo: ResultInfo, completionReason: string): Promise<void> {
    const failed = status === 'failed';
    const media = op.media && {
      ...op.media, phase: 'done' as const, completionReason,
      // The cancelMediaProcessing sample shows a failed record with empty strings for both.
      recordingLocation: failed && op.media.kind === 'record' ? '' : op.media.recordingLocation,
      recordingAccessToken: failed && op.media.kind === 'record' ? '' : op.media.recordingAccessToken,
    };
    const done: Operation = { ...op, status, resultInfo, completedAt: this.fx.now(), ...(media ? { media } : {}) };
    await tx.updateOperation(done);
    await this.fx.notifyOperationDone(tx, call, done);
  }

  private newOperation(callId: string, type: OperationType, status: Operation['status'], clientContext: string | null, resultInfo: ResultInfo | null,
    media?: Pick<MediaOperationState, 'kind' | 'prompts' | 'loop' | 'record' | 'origin'>): Operation {
    const now = this.fx.now();
    return {
      id: this.fx.newOrderedId(), callId, type, status, clientContext, resultInfo, createdAt: now,
      completedAt: status === 'completed' || status === 'failed' ? now : null,
      ...(media ? {
        media: {
          ...media, phase: 'queued' as const, promptIndex: 0, recordStartAt: null, recordEndAt: null, completionReason: null,
          recordingLocation: null, recordingAccessToken: null,
        },
      } : {}),
    };
  }
}

function mediaOf(call: Call): CallMediaState {
  return call.media ?? NO_MEDIA;
}

function assertServiceHosted(call: Call, action: string): void {
  assert(call.mediaConfig.type === 'serviceHostedMediaConfig', 'NOT_SERVICE_HOSTED_MEDIA',
    `Action '${action}' is supported only for calls that use serviceHostedMediaConfig; this call uses ${call.mediaConfig.type}.`);
}
