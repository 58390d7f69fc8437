import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A data directory that is removed by the returned cleanup. The same as harness.ts's tempDataDir, without
 * importing the composition root, so storage tests load only storage/ and domain/.
 */
export function tempDataDir(): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'graph-calls-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
