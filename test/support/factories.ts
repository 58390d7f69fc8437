import { randomUUID } from 'node:crypto';
import type { Call, Operation } from '../../src/domain/call.js';

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
