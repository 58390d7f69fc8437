import type { ConfigStore, Wakeups } from '../domain/ports.js';
import type { VirtualClock } from './virtual-clock.js';

const KEY = 'clock:virtual';

/**
 * Shares virtual time through the config store: every instance on the database starts from the stored
 * time (so a restart resumes it instead of going back to --clock-start), an advance on one instance is
 * stored and announced, and the others follow it, firing their own timers on the way.
 */
export async function shareVirtualClock(clock: VirtualClock, config: ConfigStore, wakeups: Wakeups): Promise<void> {
  const stored = await config.getValue(KEY);
  if (stored !== undefined) await clock.follow(Number(stored));
  clock.onAdvanced(async (now) => {
    await config.setValue(KEY, String(now));
    await wakeups.publish('config', KEY);
  });
  wakeups.on('config', (detail) => {
    if (detail !== KEY && detail !== '*') return;
    void config.getValue(KEY).then((v) => (v === undefined ? undefined : clock.follow(Number(v)))).catch(() => undefined);
  });
}
