import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toneOf, type Tone } from '../domain/media-actions.js';
import type { MediaActionsService, ScriptedTone } from '../domain/media-actions.service.js';
import { GraphError } from '../graph/graph-errors.js';
import { normaliseId } from '../shared/ids.js';

export interface TonesRoutesOptions {
  media: MediaActionsService;
}

const bad = (message: string) => new GraphError('INVALID_BODY', message);
const Key = Type.String({ minLength: 1, maxLength: 16 });
const Ms = Type.Integer({ minimum: 0, maximum: 24 * 3_600_000 });

const Params = Type.Object({ id: Type.String({ minLength: 1 }), participantId: Type.String({ minLength: 1 }) });
/**
 * Either `tones` (pressed one after another, `delayBetweenTonesMs` apart, the first `startInMs` from now)
 * or `sequence` (each key at its own `atMs` from now). Keys as Graph's tone names or as keys: "tone1"/"1", "pound"/"#".
 */
const Body = Type.Object({
  tones: Type.Optional(Type.Array(Key, { minItems: 1, maxItems: 256 })),
  delayBetweenTonesMs: Type.Optional(Ms),
  startInMs: Type.Optional(Ms),
  sequence: Type.Optional(Type.Array(Type.Object({ tone: Key, atMs: Ms }), { minItems: 1, maxItems: 256 })),
});

/** INFERRED: far-side key presses of a `tones` list are this far apart unless the script says otherwise. */
const DEFAULT_GAP_MS = 300;

function toneAt(value: string, member: string): Tone {
  const tone = toneOf(value);
  if (!tone) throw bad(`'${member}' must be a key (0-9, *, #, A-D) or a Graph tone name (tone0-tone9, star, pound, a-d, flash); got '${value}'`);
  return tone;
}

/**
 * The far side presses keys (docs/control-plane.md): a participant dialling a menu choice, or a scripted
 * DTMF sequence on the call's clock. A bot that called subscribeToTone receives each as a call `updated`
 * notification with toneInfo; a running record whose stopTones include the key ends with stopToneDetected.
 */
export async function tonesRoutes(scope: FastifyInstance, o: TonesRoutesOptions): Promise<void> {
  const app = scope.withTypeProvider<TypeBoxTypeProvider>();
  app.post('/_emulator/calls/:id/participants/:participantId/tones', { schema: { params: Params, body: Body } }, async (request) => {
    const b = request.body;
    if ((b.tones === undefined) === (b.sequence === undefined)) throw bad(`give either 'tones' (with optional 'delayBetweenTonesMs' and 'startInMs') or 'sequence' ([{"tone","atMs"}])`);
    let script: ScriptedTone[];
    if (b.tones) {
      const gap = b.delayBetweenTonesMs ?? DEFAULT_GAP_MS, start = b.startInMs ?? 0;
      script = b.tones.map((t, i) => ({ tone: toneAt(t, `tones[${i}]`), inMs: start + i * gap }));
    } else {
      script = b.sequence!.map((s, i) => ({ tone: toneAt(s.tone, `sequence[${i}].tone`), inMs: s.atMs }));
    }
    const pressed = await o.media.pressTones(normaliseId(request.params.id), normaliseId(request.params.participantId), script);
    return { participantId: normaliseId(request.params.participantId), tones: pressed.map((t) => ({ tone: t.tone, at: new Date(t.at).toISOString() })) };
  });
}
