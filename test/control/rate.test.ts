/** The token bucket behind key rate limits, on a clock the test moves. */
import { describe, expect, it } from 'vitest';
import { parseRate, RateLimiter } from '../../src/control/rate.js';

function clocked() {
  let t = 0;
  return { limiter: new RateLimiter(() => t), advance: (ms: number) => (t += ms) };
}

describe('RateLimiter', () => {
  it('lets a burst of one second through, then refuses with the time until the next token', () => {
    const { limiter } = clocked();
    for (let i = 0; i < 10; i++) expect(limiter.take('k', 10)).toEqual({ ok: true });
    expect(limiter.take('k', 10)).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('refills continuously at its rate, never past one second of it', () => {
    const { limiter, advance } = clocked();
    for (let i = 0; i < 10; i++) limiter.take('k', 10);
    advance(250);
    expect([1, 2, 3].map(() => limiter.take('k', 10).ok)).toEqual([true, true, false]);
    advance(60_000);
    let served = 0;
    while (limiter.take('k', 10).ok) served++;
    expect(served).toBe(10);
  });

  it('keeps each key apart, and a rate below one a second still allows one request', () => {
    const { limiter, advance } = clocked();
    expect(limiter.take('slow', 0.5).ok).toBe(true);
    expect(limiter.take('slow', 0.5)).toEqual({ ok: false, retryAfterMs: 2000 });
    expect(limiter.take('other', 0.5).ok).toBe(true);
    advance(2000);
    expect(limiter.take('slow', 0.5).ok).toBe(true);
  });
});

describe('parseRate', () => {
  it('reads requests per second, minute or hour, and nothing else', () => {
    expect(parseRate('100/s')).toBe(100);
    expect(parseRate('6000/m')).toBe(100);
    expect(parseRate('3600/h')).toBe(1);
    for (const bad of ['0/s', '100', '10/d', '-1/s', '1.5/s', 'fast']) expect(parseRate(bad)).toBeUndefined();
  });
});
