import type { AudioSource } from '../domain/call.js';
import { isGuid } from '../shared/ids.js';
import type { MediaLibrary } from './media-library.js';
import { mediaNameOf } from './media-sources.js';

/**
 * The audio of startHoldMusic's customPrompt (a mediaPrompt whose mediaInfo.uri Graph fetches). graph-calls
 * fetches nothing: the URI names a clip of the media library by its id as the last path segment, by the
 * same rule as playPrompt's URIs (media-sources.ts), and the clip loops for as long as the hold lasts.
 * Returns null when the library has no such clip.
 */
export async function holdMusicSource(uri: string, library: MediaLibrary): Promise<AudioSource | null> {
  const name = mediaNameOf(uri);
  if (!isGuid(name)) return null;
  const mediaId = name.toLowerCase();
  if (!(await library.has(mediaId))) return null;
  return { type: 'clip', mediaId, amplitude: 1, loop: true };
}
