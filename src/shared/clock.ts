/** Time behind a port, so the simulator can later run on a virtual clock (issue: virtual clock). */
export interface Clock {
  now(): number;
  /** Calls `fn` once `ms` have passed on this clock. Returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    // setTimeout fires at once for delays past 2^31-1 ms (~24.8 days): re-arm in steps instead.
    const MAX = 2 ** 31 - 1;
    let t: NodeJS.Timeout;
    const arm = (left: number) => {
      t = setTimeout(() => (left > MAX ? arm(left - MAX) : fn()), Math.min(MAX, Math.max(0, left)));
      t.unref?.();
    };
    arm(ms);
    return () => clearTimeout(t);
  },
};
