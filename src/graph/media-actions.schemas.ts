import { Type } from 'typebox';
import { ClientContext } from './schemas.js';

/**
 * Request schemas of the media actions (metadata: call actions playPrompt, recordResponse, record,
 * cancelMediaProcessing, subscribeToTone, sendDtmfTones). Open types: unknown members are ignored.
 */

const NullableBool = Type.Optional(Type.Union([Type.Boolean(), Type.Null()]));
const Seconds = (max: number) => Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: max }), Type.Null()]));

export const CallIdParams = Type.Object({ id: Type.String({ minLength: 1 }) });

/** mediaPrompt { mediaInfo { uri (required), resourceId }, loop (beta Int32) }. */
const MediaPrompt = Type.Object({
  '@odata.type': Type.Optional(Type.String()),
  mediaInfo: Type.Object({
    uri: Type.String({ minLength: 1, maxLength: 2048 }),
    resourceId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  }, { additionalProperties: true }),
  loop: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 100 }), Type.Null()])),
}, { additionalProperties: true });

/** call-playprompt: 1–20 prompts (the docs' limit); beta adds `loop`. */
export const PlayPromptBody = Type.Object({
  prompts: Type.Array(MediaPrompt, { minItems: 1, maxItems: 20 }),
  loop: NullableBool,
  clientContext: ClientContext,
});

/** call-record (v1.0 recordResponse): at most one prompt; each timeout 1–120 s (beta's sample asks 1800 s of recording). */
export const recordBody = (maxRecordSeconds: number) => Type.Object({
  prompts: Type.Optional(Type.Union([Type.Array(MediaPrompt, { maxItems: 1 }), Type.Null()])),
  bargeInAllowed: NullableBool,
  initialSilenceTimeoutInSeconds: Seconds(120),
  maxSilenceTimeoutInSeconds: Seconds(120),
  maxRecordDurationInSeconds: Seconds(maxRecordSeconds),
  playBeep: NullableBool,
  stopTones: Type.Optional(Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { maxItems: 20 }), Type.Null()])),
  streamWhileRecording: NullableBool,
  clientContext: ClientContext,
});

export const MediaActionBody = Type.Object({ clientContext: ClientContext });

/** call-senddtmftones: `tones` (tone enum members, matched by the handler so it can name a bad one). */
export const SendDtmfTonesBody = Type.Object({
  tones: Type.Array(Type.String({ minLength: 1, maxLength: 16 }), { minItems: 1, maxItems: 64 }),
  delayBetweenTonesMs: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 10_000 }), Type.Null()])),
  clientContext: ClientContext,
});
