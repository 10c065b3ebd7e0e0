/** The token bucket behind key rate limits, on a clock the test moves. */
import { describe, expect, it } from 'vitest';
import { formatRate, parseRate, RateLimiter } from '../../src/control/rate.js';

function clocked() {
  let t = 0;
  return { limiter: new RateLimiter(() => t), advance: (ms: number) => (t += ms) };
}

describe('RateLimiter', () => {
  it('lets its burst through, then refuses with the time until the next token', () => {
    const { limiter } = clocked();
    for (let i = 0; i < 10; i++) expect(limiter.take('k', 10, 10)).toEqual({ ok: true });
    expect(limiter.take('k', 10, 10)).toEqual({ ok: false, retryAfterMs: 100 });
  });

  it('refills continuously at its rate, never past its burst', () => {
    const { limiter, advance } = clocked();
    for (let i = 0; i < 10; i++) limiter.take('k', 10, 10);
    advance(250);
    expect([1, 2, 3].map(() => limiter.take('k', 10, 10).ok)).toEqual([true, true, false]);
    advance(60_000);
    let served = 0;
    while (limiter.take('k', 10, 10).ok) served++;
    expect(served).toBe(10);
  });

  it('10 a minute is 10 at once, then one every 6 s', () => {
    const { limiter, advance } = clocked();
    const { perSecond, burst } = parseRate('10/m')!;
    for (let i = 0; i < 10; i++) expect(limiter.take('chat', perSecond, burst).ok).toBe(true);
    expect(limiter.take('chat', perSecond, burst)).toEqual({ ok: false, retryAfterMs: 6000 });
    advance(6000);
    expect(limiter.take('chat', perSecond, burst).ok).toBe(true);
  });

  it('keeps each key apart; a key made before bursts holds one second of its rate, at least one', () => {
    const { limiter, advance } = clocked();
    expect(limiter.take('slow', 0.5, null).ok).toBe(true);
    expect(limiter.take('slow', 0.5, null)).toEqual({ ok: false, retryAfterMs: 2000 });
    expect(limiter.take('other', 0.5, null).ok).toBe(true);
    advance(2000);
    expect(limiter.take('slow', 0.5, null).ok).toBe(true);
  });
});

describe('parseRate', () => {
  it('reads requests per second, minute or hour, and nothing else', () => {
    expect(parseRate('100/s')).toEqual({ perSecond: 100, burst: 100 });
    expect(parseRate('6000/m')).toEqual({ perSecond: 100, burst: 6000 });
    expect(parseRate('3600/h')).toEqual({ perSecond: 1, burst: 3600 });
    for (const bad of ['0/s', '100', '10/d', '-1/s', '1.5/s', 'fast']) expect(parseRate(bad)).toBeUndefined();
  });
});

describe('formatRate', () => {
  it('says the rate as it was written', () => {
    for (const [text, said] of [
      ['10/m', '10 requests a minute'],
      ['100/s', '100 requests a second'],
      ['1/h', '1 request an hour'],
      ['60/m', '60 requests a minute'],
    ] as const) {
      const r = parseRate(text)!;
      expect(formatRate(r.perSecond, r.burst)).toBe(said);
    }
    expect(formatRate(0.5, null)).toBe('0.5 requests a second');
  });
});
