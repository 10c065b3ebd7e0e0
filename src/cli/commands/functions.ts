/** ls, rm, versions, rollback: what is deployed, and moving between versions. */
import { type Command, InvalidArgumentError } from 'commander';
import { budgetText, budgetWarning, formatGbs } from '../../observe/budgets.js';
import type { FunctionSummary, RollbackAnswer, VersionsAnswer } from '../api.js';
import { confirm } from '../ask.js';
import type { Cli } from '../context.js';
import { CliError } from '../fail.js';
import { emit, formatMs, formatTime, type JsonFlag, table } from '../output.js';

export function registerFunctionCommands(program: Command, cli: Cli): void {
  program
    .command('ls')
    .description('list deployed functions')
    .option('--project <name>', 'only the functions of this project')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag & { project?: string }) => {
      const answer = await cli
        .client()
        .get<{ functions: FunctionSummary[] }>('/functions', { query: { project: flags.project } });
      emit(cli, flags, answer, ({ functions }) => {
        if (functions.length > 0) return functionTable(functions);
        return flags.project === undefined
          ? 'no functions deployed (deploy with `gust deploy DIR`)'
          : `no functions in project ${flags.project}`;
      });
    });

  program
    .command('rm')
    .description('remove a function: its routes stop at once, calls in flight finish first')
    .argument('<name>', 'function name')
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--force', 'stop calls in flight now (they are recorded as rejected)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: RmFlags) => {
      const path = `/functions/${encodeURIComponent(name)}`;
      if (flags.yes !== true && cli.interactive) {
        const fn = await cli.client().get<FunctionSummary>(path);
        const owner = fn.project === null ? '' : ` of project ${fn.project}`;
        const how = flags.force === true ? 'calls in flight are stopped now' : 'calls in flight finish first';
        if (!(await confirm(cli, `Remove ${name}${owner} and its versions? (${how})`))) {
          throw new CliError(`kept ${name}: nothing was removed`);
        }
        // Only now that the function is known to exist (a script, not asked, would need another
        // request to know it): a wait for calls in flight is then no surprise.
        if (flags.force !== true)
          cli.note(`removing ${name}: calls in flight finish first (--force stops them)…`);
      }
      const answer = await cli
        .client()
        .delete<RemoveAnswer>(path, { query: flags.force === true ? { force: 'true' } : {}, timeoutMs: 0 });
      emit(cli, flags, answer, removedText);
    });

  program
    .command('versions')
    .description("list a function's versions (* = active)")
    .argument('<name>', 'function name')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: JsonFlag) => {
      const answer = await cli
        .client()
        .get<VersionsAnswer>(`/functions/${encodeURIComponent(name)}/versions`);
      emit(cli, flags, answer, versionTable);
    });

  program
    .command('rollback')
    .description('make an earlier version active (default: the one before the active)')
    .argument('<name>', 'function name')
    .argument('[version]', 'version number, e.g. 3 or v3', parseVersion)
    .option('--json', 'print JSON')
    .action(async (name: string, version: number | undefined, flags: JsonFlag) => {
      const answer = await cli
        .client()
        .post<RollbackAnswer>(
          `/functions/${encodeURIComponent(name)}/rollback`,
          version === undefined ? {} : { version },
        );
      emit(cli, flags, answer, (a) => `${a.name}  v${a.version}  active`);
      const warning = answer.budget && budgetWarning(answer.name, answer.version, answer.budget);
      if (warning !== undefined) cli.note(warning);
    });
}

interface RmFlags extends JsonFlag {
  readonly yes?: boolean;
  readonly force?: boolean;
}

interface RemoveAnswer {
  readonly removed: string;
  readonly project: string | null;
  readonly force: boolean;
  /** Calls that were running or waiting when it was removed. */
  readonly calls: number;
  /** Queued events (async invocations, messages) that had not run: dropped with the function. */
  readonly droppedEvents: number;
}

function removedText(a: RemoveAnswer): string {
  const what = `removed ${a.removed}${a.project === null ? '' : ` (project ${a.project})`}`;
  const calls = `${a.calls} call${a.calls === 1 ? '' : 's'} in flight`;
  const parts: string[] = [];
  if (a.calls > 0)
    parts.push(a.force ? `stopped ${calls} (recorded as rejected)` : `${calls} finished first`);
  if (a.droppedEvents > 0) {
    parts.push(`${a.droppedEvents} queued event${a.droppedEvents === 1 ? '' : 's'} that had not run dropped`);
  }
  return parts.length === 0 ? what : `${what}: ${parts.join('; ')}`;
}

/**
 * Versions, the active one starred; a BUDGET column (GB-s a month) when some version has one: the
 * active version's budget applies to every call, so a rollback may bring back a smaller one.
 */
function versionTable({ versions, month }: VersionsAnswer): string {
  const budgeted = versions.some((v) => v.budget !== null);
  const rows = table(
    versions.map((v) => [
      `${v.active ? '*' : ' '} v${v.version}`,
      v.hash.slice(0, 12),
      formatTime(v.createdAt),
      ...(budgeted ? [v.budget === null ? '-' : `${v.budget} GB-s`] : []),
    ]),
    ['  VERSION', 'HASH', 'CREATED', ...(budgeted ? ['BUDGET'] : [])],
  );
  if (!budgeted) return rows;
  return `${rows}\n${formatGbs(month.used)} GB-s used in ${month.since.slice(0, 7)} (UTC); the active version's budget applies to every call`;
}

/** The NEXT RUN, CONNECTIONS and BUDGET columns show only when some function has one. */
function functionTable(functions: readonly FunctionSummary[]): string {
  const scheduled = functions.some((f) => f.nextRun !== null);
  const fed = functions.some((f) => f.sources.length > 0);
  const month = functions.find((f) => f.budget !== null)?.budget?.since.slice(0, 7);
  const headers = ['NAME', 'PROJECT', 'VERSION', 'RUNTIME', 'MEMORY', 'TIMEOUT', 'INSTANCES', 'TRIGGERS'];
  return table(
    functions.map((f) => [
      f.name,
      f.project ?? '-',
      `v${f.version}`,
      f.runtime,
      `${f.memoryMb} MB`,
      formatMs(f.timeoutMs),
      `${f.instances} (${f.scale.min}-${f.scale.max})`,
      f.triggers.length === 0 ? '-' : f.triggers.join('; '),
      ...(scheduled ? [f.nextRun === null ? '-' : formatTime(f.nextRun)] : []),
      ...(fed ? [sourcesText(f)] : []),
      ...(month ? [f.budget ? budgetText(f.budget) : '-'] : []),
    ]),
    [
      ...headers,
      ...(scheduled ? [`NEXT RUN (${localZone()})`] : []),
      ...(fed ? ['CONNECTIONS'] : []),
      ...(month ? [`BUDGET ${month}`] : []),
    ],
  );
}

/** Triggers fed by the user's systems and their connection's state: `stream mqtt a/+ running; stream nats x failing: why`. */
function sourcesText(f: FunctionSummary): string {
  if (f.sources.length === 0) return '-';
  return f.sources
    .map((s) => `${s.trigger} ${s.state}${s.reason === null ? '' : `: ${s.reason}`}`)
    .join('; ');
}

/** `3` or `v3`. */
export function parseVersion(value: string): number {
  const n = Number(value.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a version number such as 3 or v3.');
  return n;
}

/** The zone the CLI shows times in (this machine's, as formatTime does). */
function localZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone ?? 'local time';
}
