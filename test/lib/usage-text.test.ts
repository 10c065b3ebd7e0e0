/**
 * How usage reads, in the CLI and the dashboard alike: GB-s and dollars never as 2.21e-7, the price
 * plan named, and a row for every function with a budget.
 */
import { describe, expect, it } from 'vitest';
import { dollars, plain, pricePlanText, significant, withBudgetRows } from '../../src/lib/usage-text.js';

describe('numbers', () => {
  it('writes small numbers out in full, to the significant digits asked', () => {
    expect(significant(2.214e-7, 3)).toBe('0.000000221');
    expect(significant(0.0000023412, 3)).toBe('0.00000234');
    expect(significant(0.000125, 3)).toBe('0.000125');
    expect(significant(0.3196, 3)).toBe('0.320');
    expect(significant(0, 3)).toBe('0');
  });

  it('prints dollars with three significant digits below a dollar and cents from one, one way for every size', () => {
    const column = [2.21e-7, 0.00000234, 0.004937, 0.315, 0.32, 12.345, 1234.5].map(dollars);
    expect(column).toEqual([
      '$0.000000221',
      '$0.00000234',
      '$0.00494',
      '$0.315',
      '$0.320',
      '$12.35',
      '$1234.50',
    ]);
    for (const cell of column) expect(cell).not.toMatch(/e/);
    expect(dollars(0)).toBe('$0');
    expect(dollars(0.9996)).toBe('$1.00');
  });

  it('names the price plan, with its prices as given', () => {
    const lambda = { perMillionRequests: 0.2, perGbSecond: 0.0000166667, perWarmGbSecond: 0.0000041667 };
    expect(pricePlanText({ ...lambda, plan: 'aws-lambda-x86' })).toBe(
      "AWS Lambda's x86 list prices: $0.2 per million requests, $0.0000166667 per GB-s, $0.0000041667 per warm GB-s (scale.min)",
    );
    expect(
      pricePlanText({ perMillionRequests: 1, perGbSecond: 1e-7, perWarmGbSecond: 0, plan: 'custom' }),
    ).toBe(
      'prices set with GUST_PRICE_*: $1 per million requests, $0.0000001 per GB-s, $0 per warm GB-s (scale.min)',
    );
    expect(plain(1.5e-9)).toBe('0.0000000015');
  });

  it('gives a function with a budget a row of zeros when it had no call, in order of name', () => {
    const row = (key: string, requests: number) => ({
      key,
      requests,
      failed: 0,
      coldStarts: 0,
      billedMs: requests,
      gbSeconds: 0.1,
      warmGbSeconds: 0,
      cost: 0.01,
    });
    const rows = withBudgetRows([row('api', 3), row('orders', 1)], ['orders', 'billing', 'zeta']);
    expect(rows.map((r) => [r.key, r.requests, r.cost])).toEqual([
      ['api', 3, 0.01],
      ['billing', 0, 0],
      ['orders', 1, 0.01],
      ['zeta', 0, 0],
    ]);
  });
});
