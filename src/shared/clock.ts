/** Time behind a port, so the simulator can later run on a virtual clock (issue: virtual clock). */
export interface Clock {
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock. Returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return () => clearTimeout(t);
  },
};
