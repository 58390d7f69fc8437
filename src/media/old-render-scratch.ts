import { readdirSync, rmdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Earlier graph-calls rendered recordings and recorded responses through a scratch directory,
 * `<data>/recordings/` (`<id>.<fmt>.tmp`, fsynced, renamed to `<id>.<fmt>`, read into the database,
 * deleted). Renders now go straight to memory, so nothing writes there any more; what an interrupted
 * render of an older version left (a `.tmp`, or a renamed file not yet read) is removed once at start,
 * and the directory with it when nothing else is in it. Those files were never a recording's only copy:
 * a render counts only once its bytes are committed to the database, so its job renders again.
 *
 * No age rule: with SQLite the data directory is locked to one process; with `--db` each instance has its
 * own `--data` (docs/configuration.md), and should an older instance still be rendering into a shared
 * one, removing its file makes that render fail and its job retry, nothing worse.
 */
const OLD_SCRATCH = 'recordings';
const LEFTOVER = /\.(wav|mp3|tmp)$/i;

/** Removes an older version's render leftovers from `<dataDir>/recordings/`; returns the names removed. */
export function removeOldRenderScratch(dataDir: string): string[] {
  const dir = join(dataDir, OLD_SCRATCH);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return []; // no such directory: a data directory made by this version, or already cleaned
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!LEFTOVER.test(name)) continue;
    const path = join(dir, name);
    try {
      if (!statSync(path).isFile()) continue;
      rmSync(path, { force: true });
      removed.push(name);
    } catch {
      // Gone already.
    }
  }
  try {
    rmdirSync(dir); // only if empty: anything else someone keeps there stays
  } catch {
    // Not empty, or gone.
  }
  return removed;
}
