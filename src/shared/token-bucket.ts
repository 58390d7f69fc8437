/**
 * Token buckets by key: each key may spend `limit` requests at once and earns them back evenly over
 * `windowMs`. A client that stays at `limit` per window is never refused; one that bursts past it is
 * refused until enough time has passed, and told how long that is. (Graph words its limits as "N requests
 * per T seconds"; its identity service documents a token bucket, the one Graph algorithm on record.)
 * Pure: time comes from `now`, so tests need no sleeping.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** Tokens earned per millisecond. */
  private readonly rate: number;

  constructor(private readonly limit: number, windowMs: number, private readonly now: () => number = Date.now,
    /** Above this many keys, full buckets are forgotten (a full bucket is the same as none). */
    private readonly pruneAbove = 1000) {
    if (!(limit >= 1) || !(windowMs >= 1)) throw new RangeError('a token bucket needs limit >= 1 and windowMs >= 1');
    this.rate = limit / windowMs;
  }

  /** Spends one token of `key`: 0 when granted, otherwise the milliseconds until one is earned. */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size >= this.pruneAbove) this.prune(now);
      b = { tokens: this.limit, at: now };
      this.buckets.set(key, b);
    } else {
      b.tokens = this.level(b, now);
      b.at = now;
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  private level(b: { tokens: number; at: number }, now: number): number {
    return Math.min(this.limit, b.tokens + Math.max(0, now - b.at) * this.rate);
  }

  private prune(now: number): void {
    for (const [key, b] of this.buckets) if (this.level(b, now) >= this.limit) this.buckets.delete(key);
  }
}
