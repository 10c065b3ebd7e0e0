import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/manifest/duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['30d', 30 * 86_400_000],
    ['1.5s', 1500],
    ['0.25m', 15_000],
    ['0ms', 0],
  ])('reads %s as %d milliseconds', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it('rounds a fraction of a millisecond to the nearest one', () => {
    expect(parseDuration('1.6ms')).toBe(2);
  });

  it.each([
    '',
    '30',
    '30 s',
    ' 30s',
    '1m30s',
    '-1s',
    '+1s',
    's',
    '1e3s',
    '.5s',
    '5.s',
    '30S',
    '1w',
    `${'9'.repeat(400)}h`,
  ])('returns undefined for %j, which is not a duration', (text) => {
    expect(parseDuration(text)).toBeUndefined();
  });

  it('returns undefined instead of throwing when given something other than a string', () => {
    expect(parseDuration(30 as unknown as string)).toBeUndefined();
    expect(parseDuration(null as unknown as string)).toBeUndefined();
  });
});

describe('formatDuration', () => {
  it('writes the largest unit that divides the duration exactly', () => {
    expect([15 * 60_000, 30_000, 1500, 100, 86_400_000, 0].map(formatDuration)).toEqual([
      '15m',
      '30s',
      '1500ms',
      '100ms',
      '1d',
      '0ms',
    ]);
  });

  it('writes what parseDuration reads back to the same number', () => {
    for (const ms of [1, 999, 1000, 61_000, 3_600_000, 90 * 60_000]) {
      expect(parseDuration(formatDuration(ms))).toBe(ms);
    }
  });
});
