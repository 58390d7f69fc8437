import assert from 'node:assert/strict';
import { compose } from '../../src/compose.js';
import type { Config } from '../../src/config.js';
import type { SpeechEngine } from '../../src/media/media-library.js';
import { wavHeader } from '../../src/media/wav.js';
import { DEV_APP, poolSigningKey, testConfig, waitFor, type Harness } from '../support/harness.js';
import { call } from '../support/inject.js';

export const ORGANIZER = '6b3f0a1e-2c4d-4e5f-8a9b-0c1d2e3f4a5b';
export const WORD_MS = 300;

/**
 * A speech engine for machines without espeak-ng: each word is 300 ms of a quiet tone. The transcript must
 * come from the text and the timeline, never from the audio, so what it sounds like does not matter.
 */
export const fakeSpeech: SpeechEngine = {
  available: true,
  name: 'test-speech',
  synthesize: async (text) => {
    const frames = (text.trim().split(/\s+/).length * WORD_MS * 16_000) / 1000;
    const pcm = Buffer.alloc(frames * 2);
    for (let i = 0; i < frames; i++) pcm.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 300 * i) / 16_000)), i * 2);
    return Buffer.concat([wavHeader(16_000, 1, frames), pcm]);
  },
};

export const speechMs = (text: string) => text.trim().split(/\s+/).length * WORD_MS;

/** graph-calls on the virtual clock with the test speech engine (not listening: inject()). */
export async function pipelineHarness(overrides: Partial<Config> = {}): Promise<Harness> {
  const comp = await compose(testConfig({ clock: 'virtual', answerDelayMs: 1000, operationDelayMs: 500, ...overrides }), { speech: fakeSpeech, newSigningKey: poolSigningKey });
  comp.start();
  const { accessToken } = await comp.tokens.issue(DEV_APP);
  return { comp, token: accessToken, auth: `Bearer ${accessToken}`, close: () => comp.close() };
}

export const advance = (h: Harness, ms: number) => call(h, 'POST', '/_emulator/clock/advance', { body: { ms }, auth: false });
export const control = (h: Harness, method: string, url: string, body?: unknown) => call(h, method, url, { body, auth: false });
export const now = (h: Harness) => h.comp.virtualClock!.now();

/**
 * What a bot does with a join link (microsoft-graph-comms-samples JoinInfo.cs): the thread id and message id
 * from the path, Tid/Oid from the `context` JSON — written here independently of graph-calls' own parser.
 */
export function botJoinInfo(joinWebUrl: string): { chatInfo: Record<string, unknown>; meetingInfo: Record<string, unknown> } {
  const decoded = decodeURIComponent(joinWebUrl);
  const m = /\/meetup-join\/([^/]+)\/([^?]+)\?context=(.*)$/.exec(decoded);
  assert.ok(m, `a join link: ${joinWebUrl}`);
  const ctx = JSON.parse(m[3]!) as { Tid: string; Oid: string; MessageId?: string };
  return {
    chatInfo: { '@odata.type': '#microsoft.graph.chatInfo', threadId: m[1], messageId: m[2], replyChainMessageId: ctx.MessageId ?? null },
    meetingInfo: {
      '@odata.type': '#microsoft.graph.organizerMeetingInfo',
      organizer: { '@odata.type': '#microsoft.graph.identitySet', user: { '@odata.type': '#microsoft.graph.identity', id: ctx.Oid, tenantId: ctx.Tid } },
    },
  };
}

export function joinBody(joinWebUrl: string): Record<string, unknown> {
  return {
    '@odata.type': '#microsoft.graph.call',
    callbackUri: 'http://127.0.0.1:9/callback',
    requestedModalities: ['audio'],
    mediaConfig: { '@odata.type': '#microsoft.graph.serviceHostedMediaConfig' },
    ...botJoinInfo(joinWebUrl),
  };
}

/** Creates a meeting for ORGANIZER (named), with auto-transcription on through the control plane. */
export async function newMeeting(h: Harness, extra: Record<string, unknown> = {}): Promise<any> {
  const res = await call(h, 'POST', `/v1.0/users/${ORGANIZER}/onlineMeetings`, {
    body: {
      subject: 'Quarterly review',
      participants: { organizer: { identity: { user: { id: ORGANIZER, displayName: 'Olivia Organizer' } } } },
      ...extra,
    },
  });
  assert.equal(res.status, 201, res.raw);
  const set = await control(h, 'PATCH', `/_emulator/meetings/${res.body.id}/settings`, { autoTranscription: true });
  assert.equal(set.status, 200, set.raw);
  return res.body;
}

export interface Line { who: 'organizer' | string; text: string; at: number }

/**
 * Joins the meeting by its link, lets each party say its lines at the given second (the organizer is in the
 * roster from meetingInfo; the others join by name), records the whole time, then hangs up.
 * Returns the call id, when transcription started, and what was said when.
 */
export async function scriptedMeeting(h: Harness, meeting: any, people: string[], lines: Line[], extra: { tones?: Array<{ who: string; at: number }>; endAt: number }) {
  const created = await call(h, 'POST', '/beta/communications/calls', { body: joinBody(meeting.joinWebUrl) });
  assert.equal(created.status, 201, created.raw);
  const id = created.body.id as string;
  await advance(h, 1000);
  assert.equal((await call(h, 'GET', `/beta/communications/calls/${id}`)).body.state, 'established');
  const roster = (await call(h, 'GET', `/beta/communications/calls/${id}/participants`)).body.value;
  const ids: Record<string, string> = { organizer: roster[1].id };
  for (const name of people) ids[name] = (await control(h, 'POST', `/_emulator/calls/${id}/participants`, { displayName: name })).body.id;
  const bot = (await h.comp.store.listParticipants(id)).find((p) => p.isBot)!;
  const t0 = bot.joinedAt;
  assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/startRecording`)).status, 202);
  const events = [
    ...lines.map((l) => ({ at: l.at, who: l.who, body: { type: 'speech', text: l.text } as Record<string, unknown> })),
    ...(extra.tones ?? []).map((t) => ({ at: t.at, who: t.who, body: { type: 'tone', frequencyHz: 440 } as Record<string, unknown> })),
  ].sort((a, b) => a.at - b.at);
  const said: Array<Line & { offsetMs: number }> = [];
  for (const e of events) {
    await advance(h, t0 + e.at * 1000 - now(h));
    const r = await control(h, 'POST', `/_emulator/calls/${id}/participants/${ids[e.who]}/audio`, e.body);
    assert.equal(r.status, 200, r.raw);
    if (e.body.type === 'speech') said.push({ who: e.who, text: e.body.text as string, at: e.at, offsetMs: now(h) - t0 });
  }
  await advance(h, t0 + extra.endAt * 1000 - now(h));
  assert.equal((await call(h, 'POST', `/beta/communications/calls/${id}/stopRecording`)).status, 202);
  assert.equal((await call(h, 'DELETE', `/beta/communications/calls/${id}`)).status, 204);
  const endedAt = now(h) + 500;
  await advance(h, 500);
  await waitFor(async () => { await advance(h, 0); return (await h.comp.store.transcriptsByCall(id, 0, 10)).length > 0; }, 'the transcript', 20_000);
  return { callId: id, t0, endedAt, said };
}

/** A WebVTT file's cues: id, start, end (ms), speaker and text. */
export function parseVtt(vtt: string): Array<{ id: string; startMs: number; endMs: number; speaker: string; text: string }> {
  assert.ok(vtt.startsWith('WEBVTT\n\n'), 'starts with the WEBVTT header and a blank line');
  const ms = (t: string) => { const [h, m, s] = t.split(':'); return Math.round((Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000); };
  return vtt.slice('WEBVTT\n\n'.length).split('\n\n').filter((b) => b.trim()).map((block) => {
    const [id, timing, ...text] = block.split('\n');
    const tm = /^(\d\d:\d\d:\d\d\.\d\d\d) --> (\d\d:\d\d:\d\d\.\d\d\d)$/.exec(timing!);
    assert.ok(tm, `a timing line: ${timing}`);
    const v = /^<v ([^>]+)>([\s\S]*)<\/v>$/.exec(text.join('\n').trimEnd());
    assert.ok(v, `one voice span: ${text.join('\\n')}`);
    return { id: id!, startMs: ms(tm[1]!), endMs: ms(tm[2]!), speaker: v[1]!, text: v[2]! };
  });
}
