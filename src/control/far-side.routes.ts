import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { callToWire } from '../graph/call.mapper.js';
import { GraphError } from '../graph/graph-errors.js';
import { normaliseId } from '../shared/ids.js';
import { behaviourProblems, toBehaviour } from '../simulator/far-side-behaviour.js';
import type { FarSideService } from '../simulator/far-side.service.js';

export interface FarSideRoutesOptions {
  farSide: FarSideService;
}

const TargetParams = Type.Object({ target: Type.String() });
const CallParams = Type.Object({ id: Type.String() });
// Checked by behaviourProblems, which reports every problem at once (as --far-side FILE is checked).
const AnyBody = Type.Unknown();

/**
 * How the far side answers (docs/control-plane.md, "Far-side behaviours"): per target, shared by every
 * instance like policies; and the meeting lobby that holds a bot until admitted here.
 */
export async function farSideRoutes(app: FastifyInstance, o: FarSideRoutesOptions): Promise<void> {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const behaviours = o.farSide.behaviours;

  typed.get('/_emulator/far-side', async () => ({ value: behaviours.list() }));

  typed.get('/_emulator/far-side/:target', { schema: { params: TargetParams } }, async (request) => {
    const b = behaviours.get(request.params.target);
    if (!b) throw new GraphError('NOT_FOUND', `No far-side behaviour for '${request.params.target}': it answers after --answer-delay-ms.`);
    return b;
  });

  typed.put('/_emulator/far-side/:target', { schema: { params: TargetParams, body: AnyBody } }, async (request) => {
    const doc = { ...(request.body && typeof request.body === 'object' ? request.body : {}), target: request.params.target };
    const problems = behaviourProblems(doc, 'behaviour');
    if (problems.length) throw new GraphError('INVALID_BODY', problems.join('; '));
    const b = toBehaviour(doc);
    await behaviours.put(b);
    return b;
  });

  typed.delete('/_emulator/far-side/:target', { schema: { params: TargetParams } }, async (request, reply) => {
    if (!(await behaviours.remove(request.params.target))) throw new GraphError('NOT_FOUND', `No far-side behaviour for '${request.params.target}'.`);
    return reply.code(204).send();
  });

  /** The meeting admits the bot from its lobby: the call becomes established. */
  typed.post('/_emulator/calls/:id/admit', { schema: { params: CallParams } }, async (request) =>
    callToWire(await o.farSide.admitFromLobby(normaliseId(request.params.id)), 'beta'));
}
