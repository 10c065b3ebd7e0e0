/**
 * rate: per-key request rate limits, a token bucket per key. A key limited to `rate` requests a
 * second holds up to one second's worth (at least 1) and refills continuously; a request takes a
 * token or is refused with the time until the next one (429, Retry-After). Buckets live in memory:
 * a restart gives every key a full bucket, which errs on the side of serving.
 */

export type Taken = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
  rate: number;
}

/** `100/s`, `6000/m`, `10000/h` -> requests per second; undefined when it is not one. */
export function parseRate(text: string): number | undefined {
  const m = /^(\d{1,9})\/(s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < 1) return undefined;
  return n / { s: 1, m: 60, h: 3600 }[m[2] as 's' | 'm' | 'h'];
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one token of `key`'s bucket, which refills at `rate` a second. */
  take(key: string, rate: number): Taken {
    const now = this.now();
    const capacity = Math.max(1, rate);
    let b = this.buckets.get(key);
    if (!b || b.rate !== rate) {
      b = { tokens: capacity, at: now, rate };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * rate);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterMs: Math.ceil(((1 - b.tokens) / rate) * 1000) };
  }

  /** A revoked or expired key's bucket goes (bounded memory). */
  forget(key: string): void {
    this.buckets.delete(key);
  }
}
