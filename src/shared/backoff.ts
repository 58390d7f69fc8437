/**
 * Exponential backoff with full jitter, capped: the delay before retry number `attempt` (1-based) of
 * work that failed. Shared by notification delivery and durable jobs, so no failure can make a loop spin.
 */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.max(1, Math.round(ceiling / 2 + (random() * ceiling) / 2));
}
