/** ls, rm, versions, rollback: what is deployed, and moving between versions. */
import { type Command, InvalidArgumentError } from 'commander';
import type { FunctionSummary, VersionInfo } from '../api.js';
import type { Cli } from '../context.js';
import { emit, formatMs, formatTime, type JsonFlag, table } from '../output.js';

export function registerFunctionCommands(program: Command, cli: Cli): void {
  program
    .command('ls')
    .description('list deployed functions')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag) => {
      const answer = await cli.client().get<{ functions: FunctionSummary[] }>('/functions');
      emit(cli, flags, answer, ({ functions }) =>
        functions.length === 0
          ? 'no functions deployed (deploy with `gust deploy DIR`)'
          : functionTable(functions),
      );
    });

  program
    .command('rm')
    .description('remove a function and all its versions')
    .argument('<name>', 'function name')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: JsonFlag) => {
      const answer = await cli.client().delete<{ removed: string }>(`/functions/${encodeURIComponent(name)}`);
      emit(cli, flags, answer, ({ removed }) => `removed ${removed}`);
    });

  program
    .command('versions')
    .description("list a function's versions (* = active)")
    .argument('<name>', 'function name')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: JsonFlag) => {
      const answer = await cli
        .client()
        .get<{ versions: VersionInfo[] }>(`/functions/${encodeURIComponent(name)}/versions`);
      emit(cli, flags, answer, ({ versions }) =>
        table(
          versions.map((v) => [
            `${v.active ? '*' : ' '} v${v.version}`,
            v.hash.slice(0, 12),
            formatTime(v.createdAt),
          ]),
          ['  VERSION', 'HASH', 'CREATED'],
        ),
      );
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
        .post<{ name: string; version: number }>(
          `/functions/${encodeURIComponent(name)}/rollback`,
          version === undefined ? {} : { version },
        );
      emit(cli, flags, answer, (a) => `${a.name}  v${a.version}  active`);
    });
}

function functionTable(functions: readonly FunctionSummary[]): string {
  return table(
    functions.map((f) => [
      f.name,
      `v${f.version}`,
      f.runtime,
      `${f.memoryMb} MB`,
      formatMs(f.timeoutMs),
      `${f.instances} (${f.scale.min}-${f.scale.max})`,
      f.routes.length === 0 ? '-' : f.routes.join(', '),
    ]),
    ['NAME', 'VERSION', 'RUNTIME', 'MEMORY', 'TIMEOUT', 'INSTANCES', 'ROUTES'],
  );
}

function parseVersion(value: string): number {
  const n = Number(value.replace(/^v/, ''));
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError('expected a version number such as 3 or v3.');
  return n;
}
