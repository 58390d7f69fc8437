import type { Call, Operation } from '../domain/call.js';
import type { GraphVersion } from './wire.js';

/**
 * Wire members of the media operations (metadata: v1.0 and beta). playPromptOperation.completionReason
 * and recordOperation.completionReason exist only in beta; sendDtmfTonesOperation.completionReason and
 * recordOperation.recordingLocation / recordingAccessToken exist in both. Notifications use beta shapes.
 */
export function mediaOperationMembers(op: Operation, version: GraphVersion = 'beta'): Record<string, unknown> {
  const m = op.media;
  switch (op.type) {
    case 'playPromptOperation':
      return version === 'beta' ? { completionReason: m?.completionReason ?? null } : {};
    case 'recordOperation':
      return {
        recordingLocation: m?.recordingLocation ?? null,
        recordingAccessToken: m?.recordingAccessToken ?? null,
        ...(version === 'beta' ? { completionReason: m?.completionReason ?? null } : {}),
      };
    case 'sendDtmfTonesOperation':
      return { completionReason: m?.completionReason ?? null };
    default:
      return {};
  }
}

/** call.toneInfo: the last key the far side pressed since subscribeToTone (null before). */
export function toneInfoToWire(c: Call): Record<string, unknown> | null {
  const t = c.media?.lastTone;
  return t ? { '@odata.type': '#microsoft.graph.toneInfo', sequenceId: t.sequenceId, tone: t.tone } : null;
}
