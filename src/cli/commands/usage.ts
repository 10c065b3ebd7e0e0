/** usage: what functions used (requests, GB-s, cold starts, warm instances) and what it would cost. */
import { type Command, Option } from 'commander';
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

function render(r: UsageReport): string {
  const line = (row: UsageReport['total']) => [
    row.key,
    String(row.requests),
    String(row.failed),
    String(row.coldStarts),
    gbs(row.gbSeconds),
    gbs(row.warmGbSeconds),
    dollars(row.cost),
  ];
  const p = r.prices;
  return [
    table(
      [...r.rows.map(line), line({ ...r.total, key: 'TOTAL' })],
      [r.by === 'day' ? 'DAY' : 'FUNCTION', 'REQUESTS', 'FAILED', 'COLD', 'GB-S', 'WARM GB-S', 'COST'],
    ),
    `from ${r.since} to ${r.until}; priced at $${p.perMillionRequests} per million requests, $${p.perGbSecond} per GB-s, $${p.perWarmGbSecond} per warm GB-s (scale.min)`,
  ].join('\n');
}

const gbs = (n: number) => (n === 0 ? '0' : n < 0.001 ? n.toExponential(2) : n.toFixed(3));
const dollars = (n: number) => `$${n < 0.01 && n > 0 ? n.toPrecision(3) : n.toFixed(2)}`;
