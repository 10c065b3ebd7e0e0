/**
 * gust usage: what functions used, rolled up as records are written, and what it costs under the
 * price plan (named); instances kept warm by scale.min metered apart; a BUDGET column whenever a
 * function has a budget, called in the window or not.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, cli, deployProject, type Gust, invoke, records, startGust } from '../helpers/gust.js';

let g: Gust;
let deployedAt = 0;

interface Row {
  key: string;
  requests: number;
  failed: number;
  coldStarts: number;
  billedMs: number;
  gbSeconds: number;
  warmGbSeconds: number;
  cost: number;
}
interface Report {
  by: string;
  rows: Row[];
  total: Row;
  prices: { perMillionRequests: number; perGbSecond: number; perWarmGbSecond: number; plan: string };
}

beforeAll(async () => {
  // a price plan of our own: $1 per million requests, $0.001 per GB-s, $0.0005 per warm GB-s
  g = await startGust({
    env: {
      GUST_PRICE_PER_MILLION_REQUESTS: '1',
      GUST_PRICE_PER_GB_SECOND: '0.001',
      GUST_PRICE_PER_WARM_GB_SECOND: '0.0005',
    },
  });
  deployedAt = Date.now();
  await deployProject(g, {
    'gust.yaml': `
functions:
  fine:
    handler: f.mjs#fine
  broken:
    handler: f.mjs#broken
    memory: 256
  kept:
    handler: f.mjs#fine
    memory: 512
    scale: { min: 1 }
  capped:
    handler: f.mjs#fine
    budget: { gbSeconds: 5 }
`,
    'f.mjs': `
export const fine = async () => 'ok';
export const broken = async () => { throw new Error('no'); };
`,
  });
});

afterAll(async () => {
  await g?.stop();
});

const usage = async (args: string[]): Promise<Report> => {
  const r = await cli(g, ['usage', ...args, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

describe('gust usage', () => {
  it('sums exactly what the records say, per function, priced under the plan', async () => {
    for (let i = 0; i < 3; i++) expect((await invoke(g, 'fine', {})).status).toBe(200);
    for (let i = 0; i < 2; i++) await invoke(g, 'broken', {});
    const report = await usage(['--since', '1h']);
    expect(report.prices).toEqual({
      perMillionRequests: 1,
      perGbSecond: 0.001,
      perWarmGbSecond: 0.0005,
      plan: 'custom',
    });
    for (const fn of ['fine', 'broken']) {
      const rs = await records(g, fn, 100);
      const row = report.rows.find((r) => r.key === fn)!;
      expect(row).toMatchObject({
        requests: rs.length,
        failed: rs.filter((r) => r.status !== 'ok').length,
        coldStarts: rs.filter((r) => r.cold).length,
        billedMs: rs.reduce((n, r) => n + r.billedMs, 0),
        warmGbSeconds: 0,
      });
      expect(row.gbSeconds).toBeCloseTo(
        rs.reduce((n, r) => n + r.gbSeconds, 0),
        9,
      );
      expect(row.cost).toBeCloseTo((row.requests / 1e6) * 1 + row.gbSeconds * 0.001, 12);
    }
    expect(report.rows.find((r) => r.key === 'fine')!.requests).toBe(3);
    expect(report.rows.find((r) => r.key === 'broken')!.failed).toBe(2);
    const sum = (pick: (r: Row) => number) => report.rows.reduce((n, r) => n + pick(r), 0);
    expect(report.total.requests).toBe(sum((r) => r.requests));
    expect(report.total.cost).toBeCloseTo(
      sum((r) => r.cost),
      12,
    );
  });

  it('meters instances kept warm by scale.min apart: min x memory for the time it was deployed', async () => {
    const before = Date.now();
    const report = await usage(['--since', '1h', '--function', 'kept']);
    const after = Date.now();
    const row = report.rows.find((r) => r.key === 'kept')!;
    expect(row.requests).toBe(0);
    // 1 instance x 0.5 GB for (about) the seconds since its deploy
    expect(row.warmGbSeconds).toBeGreaterThan(0);
    expect(row.warmGbSeconds).toBeLessThanOrEqual((0.5 * (after - deployedAt)) / 1000 + 1e-9);
    expect(row.warmGbSeconds).toBeGreaterThanOrEqual((0.5 * (before - deployedAt - 10_000)) / 1000);
    expect(row.cost).toBeCloseTo(row.warmGbSeconds * 0.0005, 12);
    expect(report.rows.map((r) => r.key)).toEqual(['kept']);
  });

  it('by day: one row for today holding the same totals', async () => {
    const byFunction = await usage(['--since', '1h']);
    const byDay = await usage(['--since', '1h', '--by', 'day']);
    expect(byDay.rows.map((r) => r.key)).toEqual([new Date().toISOString().slice(0, 10)]);
    expect(byDay.total.requests).toBe(byFunction.total.requests);
    expect(byDay.total.billedMs).toBe(byFunction.total.billedMs);
  });

  it('prints a table with a total and the plan; refuses what makes no sense', async () => {
    const text = await cli(g, ['usage']);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /^FUNCTION\s+REQUESTS\s+FAILED\s+COLD\s+GB-S\s+WARM GB-S\s+COST\s+BUDGET \d{4}-\d{2}$/m,
    );
    expect(text.stdout).toMatch(/^fine\s+3\s+0\s+.* -$/m);
    // a function with a budget has its row, called or not, so that its budget shows
    expect(text.stdout).toMatch(/^capped\s+0\s+0\s+0\s+0\s+0\s+\$0\s+0\/5 GB-s$/m);
    expect(text.stdout).toMatch(/^TOTAL\s+/m);
    expect(text.stdout).toContain(
      'priced at prices set with GUST_PRICE_*: $1 per million requests, $0.001 per GB-s, $0.0005 per warm GB-s (scale.min)',
    );
    expect(text.stdout).not.toContain('monthly budgets');
    // by day, rows are days: the budgets go on a line of their own
    const byDay = await cli(g, ['usage', '--by', 'day']);
    expect(byDay.stdout).not.toMatch(/BUDGET/);
    expect(byDay.stdout).toMatch(/^monthly budgets \(\d{4}-\d{2}, UTC\): capped 0\/5 GB-s$/m);
    expect(text.stderr).toBe('');
    expect((await cli(g, ['usage', '--by', 'week'])).code).toBe(2);
    expect((await cli(g, ['usage', '--since', 'yesterday'])).code).toBe(2);
    expect((await api(g, 'GET', '/usage?by=week')).status).toBe(400);
  });
});

describe('the price plan', () => {
  it("is the platform's: set in the CLI's environment, a price is said to be ignored there", async () => {
    const r = await cli(g, ['usage'], { GUST_PRICE_PER_GB_SECOND: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(
      'GUST_PRICE_PER_GB_SECOND: read by gust up, not by gust usage; the costs below are under the plan of the platform (set it where gust up runs)\n',
    );
    expect(r.stdout).toContain('$0.001 per GB-s');
    // --json: stderr holds nothing but errors
    expect((await cli(g, ['usage', '--json'], { GUST_PRICE_PER_GB_SECOND: '1' })).stderr).toBe('');
  });
});

describe('gust usage of what is not there', () => {
  it('refuses a function that never was, but reads one removed since', async () => {
    for (const name of ['nosuch', 'Bad_Name']) {
      const r = await cli(g, ['usage', '--function', name]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`gust: no function named ${name}: gust ls lists the deployed ones\n`);
    }
    expect((await api(g, 'GET', '/usage?function=nosuch')).status).toBe(404);
    const removed = await cli(g, ['rm', 'broken', '--yes']);
    expect(removed.code, removed.stderr).toBe(0);
    const report = await usage(['--since', '1h', '--function', 'broken']);
    expect(report.rows).toMatchObject([{ key: 'broken', requests: 2, failed: 2 }]);
    // removed, and nothing in the window: an empty report, not an error
    const old = await cli(g, [
      'usage',
      '--since',
      new Date().toISOString(),
      '--function',
      'broken',
      '--json',
    ]);
    expect(old.code, old.stderr).toBe(0);
  });

  it('refuses a time to come, in one line', async () => {
    const r = await cli(g, ['usage', '--since', '2099-01-01']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'gust: --since 2099-01-01: that is in the future: give a time before now, or a duration back from now, such as 24h or 7d (see `gust usage --help`)\n',
    );
    const viaApi = await api<{ error: { message: string } }>(g, 'GET', '/usage?since=2099-01-01');
    expect(viaApi.status).toBe(400);
    expect(viaApi.body.error.message).toBe(
      'since 2099-01-01T00:00:00.000Z is in the future: usage is counted up to now; give a time before now, or a duration back from now (24h, 7d)',
    );
  });
});
