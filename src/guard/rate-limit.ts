// Requests per second per key (RATE_LIMIT_PER_SECOND, RATE_LIMIT_BURST): a token bucket per
// caller name, shared by HTTP and WebSocket messages. Names come from configuration (or the one
// open caller), so the map is bounded by the number of configured keys.

export interface RateLimiterOptions {
  /** Tokens added per second; 0 turns limiting off. */
  perSecond: number;
  /** Bucket size: the burst a key may send at once. */
  burst: number;
  /** The clock, in ms (tests fake it). Default performance.now. */
  now?: () => number;
}

export interface RateLimiter {
  /** Takes one token for `name`: undefined when allowed, else ms until the next token. */
  take(name: string): number | undefined;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { perSecond, burst, now = () => performance.now() } = options;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(name) {
      if (perSecond <= 0) return undefined;
      const t = now();
      let bucket = buckets.get(name);
      if (!bucket) {
        bucket = { tokens: burst, at: t };
        buckets.set(name, bucket);
      }
      bucket.tokens = Math.min(burst, bucket.tokens + ((t - bucket.at) * perSecond) / 1000);
      bucket.at = t;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return undefined;
      }
      // (less a rounding error, so that a wait of exactly 1 ms is not reported as 2)
      return Math.max(1, Math.ceil(((1 - bucket.tokens) * 1000) / perSecond - 1e-9));
    },
  };
}
