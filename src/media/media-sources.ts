import type { AudioSource, MediaEvent } from '../domain/call.js';
import type { MediaSources } from '../domain/media-actions.service.js';
import { isGuid } from '../shared/ids.js';
import { SAMPLE_RATE, type MediaLibrary } from './media-library.js';

/** `tone-440hz-1500ms`: a synthetic prompt (a sine of that frequency, that long), no upload needed. */
const TONE_NAME = /^tone-(\d+(?:\.\d+)?)hz-(\d+)ms$/i;
const MAX_TONE_MS = 10 * 60_000;

/**
 * Where a prompt's `mediaInfo.uri` points, on any host (docs/fidelity.md, "Media actions"): the last
 * segment of its path, without an extension, names
 *  - a clip of the media library by id (`POST /_emulator/media`, or a speech source), e.g.
 *    `https://cdn.contoso.com/prompts/3f6c…-….wav`, or
 *  - a synthetic tone, e.g. `https://cdn.contoso.com/tone-440hz-1500ms.wav`.
 * Graph downloads the URI itself; graph-calls fetches nothing from the network, so any other URI is one
 * Graph could not fetch, and the operation fails as it would there.
 */
export function libraryMediaSources(library: MediaLibrary): MediaSources {
  return {
    async resolve(uri) {
      const name = mediaNameOf(uri);
      const tone = TONE_NAME.exec(name);
      if (tone) {
        const frequencyHz = Number(tone[1]), durationMs = Number(tone[2]);
        if (!(frequencyHz > 0 && frequencyHz < SAMPLE_RATE / 2) || !(durationMs > 0 && durationMs <= MAX_TONE_MS)) return null;
        const source: AudioSource = { type: 'tone', frequencyHz, amplitude: 0.5 };
        return { source, durationMs };
      }
      if (!isGuid(name)) return null;
      const mediaId = name.toLowerCase();
      const pcm = await library.read(mediaId);
      if (!pcm) return null;
      return { source: { type: 'clip', mediaId, amplitude: 1, loop: false }, durationMs: Math.round((pcm.length * 1000) / SAMPLE_RATE) };
    },
    async clipLengths(events: readonly MediaEvent[]) {
      const out = new Map<string, number>();
      for (const [id, pcm] of await library.clipsFor(events)) out.set(id, Math.round((pcm.length * 1000) / SAMPLE_RATE));
      return out;
    },
  };
}

/** The media name a `mediaInfo.uri` gives: its path's last segment, decoded, without an extension. */
export function mediaNameOf(uri: string): string {
  let path = uri;
  try {
    path = new URL(uri).pathname;
  } catch {
    // Not an absolute URI: take it as a path.
  }
  const segment = path.split('/').filter(Boolean).pop() ?? '';
  let name = segment;
  try {
    name = decodeURIComponent(segment);
  } catch {
    // Bad percent-encoding: the segment as written.
  }
  return name.replace(/\.[a-z0-9]+$/i, '');
}
