/**
 * Budgets alone, on a clock the test moves: the month's tally (UTC calendar months), what refuses
 * a call and what it says, the month turning, the seed from a real store's usage rollup, and what
 * a deploy or a rollback that changes the budget is told.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import { Budgets, budgetText, budgetWarning, formatGbs } from '../../src/observe/budgets.js';
import { tempDir } from '../helpers/gust.js';
import { aRecord } from '../helpers/records.js';

/** A clock the test sets. */
function clock(iso: string): { now: () => number; set: (iso: string) => void } {
  let t = Date.parse(iso);
  return { now: () => t, set: (to) => (t = Date.parse(to)) };
}

/** A record of `fn` that started at `start` and used `gbSeconds`. */
const used = (fn: string, start: string, gbSeconds: number, id = `${fn}-${start}`) =>
  aRecord({ id, function: fn, start, gbSeconds, billedMs: 1, memoryMb: 1024 });

describe('Budgets', () => {
  it('refuses a call once the month reached the budget, saying what was used, since when and until when', () => {
    const c = clock('2026-11-20T10:00:00.000Z');
    const budgets = new Budgets(c.now);
    const budget = { gbSeconds: 1000 };
    budgets.recorded(used('orders', '2026-11-02T08:00:00.000Z', 999.9));
    expect(budgets.check('orders', budget)).toBeUndefined();
    budgets.recorded(used('orders', '2026-11-20T09:59:00.000Z', 0.5));
    const refusal = budgets.check('orders', budget);
    expect(refusal).toMatchObject({
      function: 'orders',
      gbSeconds: 1000,
      since: '2026-11-01T00:00:00.000Z',
      resetsAt: '2026-12-01T00:00:00.000Z',
      exceeded: true,
    });
    expect(refusal?.used).toBeCloseTo(1000.4, 9);
    expect(refusal?.reason).toBe(
      'orders has used its monthly budget of 1000 GB-s (1000.4 GB-s since 2026-11-01); raise budget.gbSeconds in gust.yaml or wait until 2026-12-01',
    );
    // a raised budget lets calls through at once; without one, none is refused
    expect(budgets.check('orders', { gbSeconds: 2000 })).toBeUndefined();
    expect(budgets.check('orders', undefined)).toBeUndefined();
    // each function has its own tally
    expect(budgets.check('other', { gbSeconds: 0.001 })).toBeUndefined();
    expect(budgets.rejections()).toEqual(new Map([['orders', 1]]));
  });

  it('refuses at the budget itself: a 1 ms call at 1024 MB uses all of 0.001 GB-s', () => {
    const budgets = new Budgets(clock('2026-11-20T10:00:00.000Z').now);
    budgets.recorded(used('tiny', '2026-11-20T09:00:00.000Z', 0.001));
    expect(budgets.check('tiny', { gbSeconds: 0.001 })?.exceeded).toBe(true);
    expect(budgets.status('tiny', { gbSeconds: 0.002 })).toMatchObject({ used: 0.001, exceeded: false });
  });

  it('starts again at 0 when the month turns (UTC), the year too', () => {
    const c = clock('2026-12-31T23:59:59.999Z');
    const budgets = new Budgets(c.now);
    const budget = { gbSeconds: 10 };
    budgets.recorded(used('f', '2026-12-31T23:59:00.000Z', 10));
    expect(budgets.check('f', budget)).toBeDefined();
    c.set('2027-01-01T00:00:00.000Z');
    expect(budgets.check('f', budget)).toBeUndefined();
    expect(budgets.status('f', budget)).toEqual({
      function: 'f',
      gbSeconds: 10,
      used: 0,
      since: '2027-01-01T00:00:00.000Z',
      resetsAt: '2027-02-01T00:00:00.000Z',
      exceeded: false,
    });
  });

  it("counts a record in the month it started, as the usage rollup does: last month's call ending now adds nothing", () => {
    const c = clock('2026-11-01T00:00:05.000Z');
    const budgets = new Budgets(c.now);
    budgets.recorded(used('f', '2026-10-31T23:59:58.000Z', 5)); // ran across midnight
    expect(budgets.status('f', { gbSeconds: 1 }).used).toBe(0);
    // a record of the next month turns the tally before the clock looks: nothing of November is left
    budgets.recorded(used('f', '2026-11-30T12:00:00.000Z', 2));
    budgets.recorded(used('f', '2026-12-01T00:00:01.000Z', 3));
    c.set('2026-12-01T00:00:02.000Z');
    expect(budgets.status('f', { gbSeconds: 1 })).toMatchObject({
      used: 3,
      since: '2026-12-01T00:00:00.000Z',
    });
  });

  it("is seeded with this month's GB-s from the store's rollup, not last month's nor warm instances'", async () => {
    const db = openDatabase(path.join(await tempDir('gust-budgets-'), 'gust.db'));
    try {
      const store = new SqliteInvocations(db);
      await store.add([
        used('f', '2026-10-31T23:59:00.000Z', 100),
        used('f', '2026-11-01T00:00:00.000Z', 1.5),
        used('f', '2026-11-19T12:00:00.000Z', 2.25),
        used('g', '2026-11-19T12:00:00.000Z', 7),
      ]);
      await store.addWarm(Date.parse('2026-11-10T00:00:00.000Z'), new Map([['f', 500]]));
      const budgets = new Budgets(clock('2026-11-20T10:00:00.000Z').now);
      await budgets.seed(store);
      expect(budgets.status('f', { gbSeconds: 4 })).toMatchObject({ used: 3.75, exceeded: false });
      expect(budgets.status('g', { gbSeconds: 7 })).toMatchObject({ used: 7, exceeded: true });
      // what is recorded after adds to the seed
      budgets.recorded(used('f', '2026-11-20T10:00:00.000Z', 0.25));
      expect(budgets.check('f', { gbSeconds: 4 })?.used).toBe(4);
    } finally {
      db.close();
    }
  });

  it('tells what a new active version does to the budget: a smaller one already used up refuses calls', () => {
    const budgets = new Budgets(clock('2026-11-20T10:00:00.000Z').now);
    budgets.recorded(used('spender', '2026-11-03T08:00:00.000Z', 0.941));
    // roll back from v2 (2 GB-s) to v1 (0.5 GB-s): refused until the month turns
    const back = budgets.change('spender', { version: 2, budget: { gbSeconds: 2 } }, { gbSeconds: 0.5 });
    expect(back).toEqual({
      from: 2,
      to: 0.5,
      fromVersion: 2,
      used: 0.941,
      refused: true,
      resetsAt: '2026-12-01T00:00:00.000Z',
    });
    expect(budgetWarning('spender', 1, back!)).toBe(
      "warning: spender v1's budget is 0.5 GB-s and 0.941 GB-s were used this month: its calls will be refused " +
        'until 2026-12-01; deploy a higher budget.gbSeconds or roll back to v2 (gust rollback spender 2)',
    );
    // the version before was used up too: rolling back to it would not help, so it is not offered
    const both = budgets.change('spender', { version: 2, budget: { gbSeconds: 0.9 } }, { gbSeconds: 0.5 });
    expect(budgetWarning('spender', 3, both!)).toMatch(/deploy a higher budget\.gbSeconds$/);
    // a first deploy (nothing active before) may be refused at once too: a name keeps its month
    const first = budgets.change('spender', undefined, { gbSeconds: 0.5 });
    expect(first).toMatchObject({ from: null, fromVersion: null, refused: true });
    expect(budgetWarning('spender', 4, first!)).toMatch(/deploy a higher budget\.gbSeconds$/);
    // room left, a budget removed, or the same budget: no warning, or no change at all
    const lower = budgets.change('spender', { version: 2, budget: { gbSeconds: 2 } }, { gbSeconds: 1 });
    expect(lower).toMatchObject({ from: 2, to: 1, refused: false });
    expect(budgetWarning('spender', 3, lower!)).toBeUndefined();
    const gone = budgets.change('spender', { version: 2, budget: { gbSeconds: 0.5 } }, undefined);
    expect(gone).toMatchObject({ from: 0.5, to: null, refused: false });
    expect(budgetWarning('spender', 3, gone!)).toBeUndefined();
    expect(
      budgets.change('spender', { version: 2, budget: { gbSeconds: 2 } }, { gbSeconds: 2 }),
    ).toBeUndefined();
    expect(budgets.change('spender', { version: 2, budget: undefined }, undefined)).toBeUndefined();
  });

  it('shows GB-s short: a tenth past 100, four significant digits below', () => {
    expect(formatGbs(1000.4)).toBe('1000.4');
    expect(formatGbs(412.31)).toBe('412.3');
    expect(formatGbs(12.34567)).toBe('12.35');
    expect(formatGbs(0.00125)).toBe('0.00125');
    expect(formatGbs(0)).toBe('0');
    expect(budgetText({ used: 412.31, gbSeconds: 1000, exceeded: false })).toBe('412.3/1000 GB-s');
    expect(budgetText({ used: 1000.4, gbSeconds: 1000, exceeded: true })).toBe('1000.4/1000 GB-s (used up)');
  });
});
