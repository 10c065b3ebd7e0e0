/** usage: what functions used (requests, GB-s, cold starts, warm instances) and what it would cost. */
import { type Command, Option } from 'commander';
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
      emit(cli, flags, report, render);
    });
}

/**
 * A BUDGET column (this month's use of it) when rows are functions and some has a budget; the
 * budgets no row shows (by day, or no call in the window) on a line of their own.
 */
function render(r: UsageReport): string {
  const shown = r.by === 'function' ? new Set(r.rows.map((row) => row.key)) : new Set<string>();
  const inColumn = r.budgets.filter((b) => shown.has(b.function));
  const apart = r.budgets.filter((b) => !shown.has(b.function));
  const budgets = new Map(inColumn.map((b) => [b.function, budgetText(b)]));
  const column = budgets.size > 0;
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
  const p = r.prices;
  const month = r.budgets[0]?.since.slice(0, 7);
  return [
    table(
      [...r.rows.map((row) => line(row, budgets.get(row.key) ?? '-')), line({ ...r.total, key: 'TOTAL' })],
      [
        r.by === 'day' ? 'DAY' : 'FUNCTION',
        ...['REQUESTS', 'FAILED', 'COLD', 'GB-S', 'WARM GB-S', 'COST'],
        ...(column ? [`BUDGET ${month}`] : []),
      ],
    ),
    `from ${r.since} to ${r.until}; priced at $${p.perMillionRequests} per million requests, $${p.perGbSecond} per GB-s, $${p.perWarmGbSecond} per warm GB-s (scale.min)`,
    ...(apart.length > 0
      ? [`monthly budgets (${month}, UTC): ${apart.map((b) => `${b.function} ${budgetText(b)}`).join(', ')}`]
      : []),
  ].join('\n');
}

const gbs = (n: number) => (n === 0 ? '0' : n < 0.001 ? n.toExponential(2) : n.toFixed(3));
const dollars = (n: number) => `$${n < 0.01 && n > 0 ? n.toPrecision(3) : n.toFixed(2)}`;
