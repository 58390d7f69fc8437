import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OnlineMeeting } from '../domain/meeting.js';
import type { CallStore } from '../domain/ports.js';
import { GraphError } from '../graph/graph-errors.js';

export interface MeetingSettingsRoutesOptions {
  store: CallStore;
}

const bad = (message: string) => new GraphError('INVALID_BODY', message);

const settingsOf = (m: OnlineMeeting) => ({
  meetingId: m.id, joinWebUrl: m.joinWebUrl, autoTranscription: m.autoTranscription,
  allowTranscription: m.allowTranscription, allowRecording: m.allowRecording,
});

/**
 * A meeting's options as its organizer sets them in Teams (docs/control-plane.md): `autoTranscription`
 * transcribes every call that joins the meeting from the moment the bot is in, until the call ends — the
 * emulator's stand-in for "Record and transcribe automatically". `allowTranscription: false` turns it off
 * whatever else is set, as the Graph member does.
 */
export async function meetingSettingsRoutes(app: FastifyInstance, o: MeetingSettingsRoutesOptions): Promise<void> {
  const meeting = async (request: FastifyRequest) => {
    const id = (request.params as { meetingId: string }).meetingId;
    const m = await o.store.getOnlineMeeting(id);
    if (!m) throw new GraphError('NOT_FOUND', `No online meeting '${id}': create it with POST /{version}/users/{userId}/onlineMeetings.`);
    return m;
  };

  app.get('/_emulator/meetings/:meetingId/settings', async (request) => settingsOf(await meeting(request)));

  app.patch('/_emulator/meetings/:meetingId/settings', async (request) => {
    const b = (request.body ?? {}) as Record<string, unknown>;
    if (typeof b !== 'object' || Array.isArray(b)) throw bad('the body must be a JSON object');
    const known = ['autoTranscription', 'allowTranscription'];
    const unknown = Object.keys(b).filter((k) => !known.includes(k));
    if (unknown.length) throw bad(`unknown setting(s) ${unknown.map((k) => `'${k}'`).join(', ')}: settable are ${known.join(', ')}`);
    for (const k of known) if (b[k] !== undefined && typeof b[k] !== 'boolean') throw bad(`'${k}' must be a boolean`);
    const id = (await meeting(request)).id;
    return o.store.write(async (tx) => {
      const m = (await tx.getOnlineMeeting(id))!;
      const next = {
        ...m,
        autoTranscription: (b.autoTranscription as boolean | undefined) ?? m.autoTranscription,
        allowTranscription: (b.allowTranscription as boolean | undefined) ?? m.allowTranscription,
      };
      await tx.updateOnlineMeeting(next);
      return settingsOf(next);
    });
  });
}
