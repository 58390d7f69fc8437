import { randomUUID } from 'node:crypto';
import type { Call, NewNotification, Operation, Participant, Recording, RecordingSegment } from '../../src/domain/call.js';
import type { JournalEntry } from '../../src/domain/journal.js';

export function newCall(over: Partial<Call> = {}): Call {
  const now = Date.now();
  return {
    id: randomUUID(), tenantId: 't', appId: 'a', version: 1, state: 'establishing', direction: 'outgoing',
    callbackUri: 'https://bot.example/cb', subject: null, requestedModalities: ['audio'],
    mediaConfig: { type: 'serviceHostedMediaConfig', props: {} }, meetingInfo: null, chatInfo: null, targets: [],
    source: null, callOptions: null, myParticipantId: randomUUID(), callChainId: randomUUID(), resultInfo: null,
    terminationReason: null, isComplianceRecording: false, observedCallId: null, policyId: null, incomingContext: null, extras: {}, recordingActive: false, createdAt: now, updatedAt: now, ...over,
  };
}

export function newOperation(callId: string, over: Partial<Operation> = {}): Operation {
  return { id: randomUUID(), callId, type: 'stopRecordingOperation', status: 'completed', clientContext: null, resultInfo: null, createdAt: Date.now(), completedAt: null, ...over };
}

export function newParticipant(callId: string, over: Partial<Participant> = {}): Participant {
  return {
    id: randomUUID(), callId, seq: 0, info: { identity: { user: { id: randomUUID(), displayName: 'Alice' } } },
    isMuted: false, isInLobby: false, isBot: false, recordingInfo: null, joinedAt: Date.now(), leftAt: null, ...over,
  };
}

/** An open recording segment (no end yet). */
export function newSegment(callId: string, over: Partial<RecordingSegment> = {}): RecordingSegment {
  return { id: randomUUID(), callId, startedAt: Date.now(), endedAt: null, startOperationId: null, stopOperationId: null, ...over };
}

export function newRecording(callId: string, segmentId: string, over: Partial<Recording> = {}): Recording {
  const id = over.id ?? randomUUID();
  const now = Date.now();
  return {
    id, callId, segmentId, tenantId: 't', meetingId: null, meetingOrganizer: null, contentCorrelationId: randomUUID(),
    createdAt: now, endedAt: now, file: `${id}.wav`, contentType: 'audio/wav', sizeBytes: 0, etag: `"${id}"`,
    sampleRate: 16000, channels: 1, sampleCount: 0, ...over,
  };
}

export function newNotification(callId: string, over: Partial<NewNotification> = {}): NewNotification {
  return {
    callId, messageId: randomUUID(), changeType: 'updated', resourceUrl: `/communications/calls/${callId}`, resourceData: {},
    callbackUri: 'https://bot.example/cb', createdAt: Date.now(), ...over,
  };
}

export function newJournalEntry(over: Partial<Omit<JournalEntry, 'seq'>> = {}): Omit<JournalEntry, 'seq'> {
  return {
    at: Date.now(), method: 'GET', url: '/v1.0/communications/calls', status: 200, durationMs: 1, requestId: randomUUID(), callId: null,
    injectedFault: null, requestHeaders: {}, requestBody: null, responseHeaders: {}, responseBody: null, ...over,
  };
}
