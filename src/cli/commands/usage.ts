/** usage: what functions used (requests, GB-s, cold starts, warm instances) and what it would cost. */
import { type Command, Option } from 'commander';
import { dollars, pricePlanText, significant, withBudgetRows } from '../../lib/usage-text.js';
import { budgetText } from '../../observe/budgets.js';
import type { UsageReport } from '../api.js';
import type { Cli } from '../context.js';
import { emit, type JsonFlag, table } from '../output.js';
import { checkSince } from './logs.js';

export function registerUsageCommand(program: Command, cli: Cli): void {
  program
    .command('usage')
    .description('metered usage by function or by day, and its cost under the price plan')
    .option('--since <when>', 'from then: a duration back from now (default 24h) or an ISO time', checkSince)
    .addOption(
      new Option('--by <what>', 'one row per function or per day (UTC)').choices(['function', 'day']),
    )
    .option('--function <name>', 'only this function')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag & { since?: string; by?: string; function?: string }) => {
      const report = await cli.client().get<UsageReport>('/usage', {
        query: { since: flags.since ?? '24h', by: flags.by, function: flags.function },
      });
      // The plan is the platform's: set here, a price would be silently ignored.
      const here = Object.keys(cli.env).filter((k) => k.startsWith('GUST_PRICE_PER_') && cli.env[k]);
      if (here.length > 0) {
        cli.note(
          `${here.join(', ')}: read by gust up, not by gust usage; the costs below are under the plan of the platform (set it where gust up runs)`,
        );
      }
      emit(cli, flags, report, render);
    });
}

/**
 * By function, a BUDGET column (this month's use of it) whenever some function has a budget: a
 * function with a budget and no call in the window gets a row of zeros, so that its budget shows.
 * By day, the budgets go on a line under the table (a day is not a function).
 */
function render(r: UsageReport): string {
  const byFunction = r.by === 'function';
  const budgets = new Map(r.budgets.map((b) => [b.function, budgetText(b)]));
  const column = byFunction && budgets.size > 0;
  const rows = column ? withBudgetRows(r.rows, budgets.keys()) : r.rows;
  const line = (row: UsageReport['total'], budget = '') => [
    row.key,
    String(row.requests),
    String(row.failed),
    String(row.coldStarts),
    gbs(row.gbSeconds),
    gbs(row.warmGbSeconds),
    dollars(row.cost),
    ...(column ? [budget] : []),
  ];
  const month = r.budgets[0]?.since.slice(0, 7);
  return [
    table(
      [...rows.map((row) => line(row, budgets.get(row.key) ?? '-')), line({ ...r.total, key: 'TOTAL' })],
      [
        byFunction ? 'FUNCTION' : 'DAY',
        ...['REQUESTS', 'FAILED', 'COLD', 'GB-S', 'WARM GB-S', 'COST'],
        ...(column ? [`BUDGET ${month}`] : []),
      ],
    ),
    `from ${r.since} to ${r.until}; priced at ${pricePlanText(r.prices)}`,
    ...(!byFunction && budgets.size > 0
      ? [
          `monthly budgets (${month}, UTC): ${r.budgets.map((b) => `${b.function} ${budgetText(b)}`).join(', ')}`,
        ]
      : []),
  ].join('\n');
}

/** GB-s: three decimals, or three significant digits below a thousandth (never `1.25e-4`). */
const gbs = (n: number) => (n === 0 ? '0' : n < 0.001 ? significant(n, 3) : n.toFixed(3));
