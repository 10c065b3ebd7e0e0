/**
 * rate: per-key request rate limits, a token bucket per key. A key limited to `N/unit` (`100/s`,
 * `10/m`, `5000/h`) holds up to N tokens (its burst: N requests at once, as the limit reads) and
 * refills continuously at N per unit; a request takes a token or is refused with the time until
 * the next one (429, Retry-After). Buckets live in memory: a restart gives every key a full
 * bucket, which errs on the side of serving.
 */

export type Taken = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

interface Bucket {
  tokens: number;
  at: number;
  rate: number;
}

export interface Rate {
  /** Requests a second, the refill. */
  readonly perSecond: number;
  /** Requests at once, the bucket's size: the N of `N/unit`. */
  readonly burst: number;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600 } as const;

/** `100/s`, `6000/m`, `10000/h` -> its rate; undefined when it is not one. */
export function parseRate(text: string): Rate | undefined {
  const m = /^(\d{1,9})\/(s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (n < 1) return undefined;
  return { perSecond: n / UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS], burst: n };
}

/** `10 requests a minute`, as the rate was written (a key made before bursts: its rate a second). */
export function formatRate(perSecond: number, burst: number | null): string {
  const words = { s: 'a second', m: 'a minute', h: 'an hour' } as const;
  for (const unit of ['s', 'm', 'h'] as const) {
    if (burst !== null && Math.abs(perSecond * UNIT_SECONDS[unit] - burst) < 1e-6) {
      return `${burst} request${burst === 1 ? '' : 's'} ${words[unit]}`;
    }
  }
  return `${Number(perSecond.toPrecision(6))} requests a second`;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** Takes one token of `key`'s bucket, which holds `burst` and refills at `rate` a second. */
  take(key: string, rate: number, burst: number | null): Taken {
    const now = this.now();
    // keys made before bursts were kept: one second's worth
    const capacity = Math.max(1, burst ?? rate);
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
