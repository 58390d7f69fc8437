import type { AudioSource } from '../domain/call.js';
import type { MediaLibrary } from './media-library.js';

/**
 * The audio of startHoldMusic's customPrompt (a mediaPrompt whose mediaInfo.uri Graph fetches). graph-calls
 * fetches nothing: the URI names a clip of the media library by its id as the last path segment
 * (`…/_emulator/media/{mediaId}`, or any `…/{mediaId}.wav`), which loops for as long as the hold lasts.
 * Returns null when the library has no such clip.
 */
export async function holdMusicSource(uri: string, library: MediaLibrary): Promise<AudioSource | null> {
  let path: string;
  try {
    path = new URL(uri, 'http://graph-calls.invalid/').pathname;
  } catch {
    return null;
  }
  const last = decodeURIComponent(path.split('/').filter(Boolean).at(-1) ?? '').replace(/\.wav$/i, '').toLowerCase();
  if (!last || !(await library.has(last))) return null;
  return { type: 'clip', mediaId: last, amplitude: 1, loop: true };
}
