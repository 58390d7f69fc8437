import type { Transcript } from '../domain/meeting.js';

/**
 * The three renderings of a transcript's content (calltranscript-get docs; spec §5.4, §5.5):
 * - `text/vtt`: `WEBVTT`, then per cue its id `{uuid}/{n}-0` (as real Teams files number them), the timing
 *   line `HH:MM:SS.mmm --> HH:MM:SS.mmm`, and one `<v Speaker>text</v>` span; cues separated by blank lines.
 * - `application/vnd.microsoft.graph.transcript+text`: timings and text, no speakers and no header (the doc sample).
 * - metadataContent: WEBVTT cues whose payload is one JSON object (start/end date-times, speakerName,
 *   spokenText, spokenLanguage).
 */
export function vttTimestamp(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const h = Math.floor(t / 3_600_000), m = Math.floor((t % 3_600_000) / 60_000), s = Math.floor((t % 60_000) / 1000), f = t % 1000;
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(h)}:${p(m)}:${p(s)}.${p(f, 3)}`;
}

/** WebVTT cue text escapes (`&`, `<`, `>`); a speaker's name may hold none of `<>` either. */
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const timing = (startMs: number, endMs: number) => `${vttTimestamp(startMs)} --> ${vttTimestamp(endMs)}`;

export function toVtt(t: Transcript): string {
  const cues = t.cues.map((c, i) => `${t.cueGroupId}/${i + 1}-0\n${timing(c.startMs, c.endMs)}\n<v ${escape(c.speaker)}>${escape(c.text)}</v>\n`);
  return `WEBVTT\n\n${cues.join('\n')}`;
}

export function toPlainTranscript(t: Transcript): string {
  return t.cues.map((c) => `${timing(c.startMs, c.endMs)}\n${escape(c.text)}\n`).join('\n');
}

/** Graph's date-time form in metadata payloads: 7 fractional digits and `+00:00`. */
const metaDate = (ms: number) => `${new Date(ms).toISOString().slice(0, 23)}0000+00:00`;

export function toMetadataVtt(t: Transcript): string {
  const cues = t.cues.map((c) => `${timing(c.startMs, c.endMs)}\n${JSON.stringify({
    startDateTime: metaDate(t.createdAt + c.startMs), endDateTime: metaDate(t.createdAt + c.endMs),
    speakerName: c.speaker, spokenText: c.text, spokenLanguage: t.language,
  })}\n`);
  return `WEBVTT\n\n${cues.join('\n')}`;
}
