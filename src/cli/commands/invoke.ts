/** invoke: call a function with a JSON event and print what it returned. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { InvokeAnswer } from '../api.js';
import type { Cli } from '../context.js';
import { CliError, usageError } from '../fail.js';
import { emit, formatMs, oneLine } from '../output.js';

interface InvokeFlags {
  readonly data?: string;
  readonly async?: boolean;
  readonly json?: boolean;
}

export function registerInvokeCommand(program: Command, cli: Cli): void {
  program
    .command('invoke')
    .description('invoke a function; prints its result on stdout, its logs on stderr')
    .argument('<name>', 'function name')
    .option('-d, --data <JSON|@FILE>', 'the event: inline JSON, or @file.json')
    .option('--async', 'queue the invocation and return at once')
    .option('--json', 'print the invocation record and result as JSON')
    .action(async (name: string, flags: InvokeFlags) => {
      const data = flags.data === undefined ? undefined : await readData(flags.data, cli.cwd);
      const body = {
        ...(data === undefined ? {} : { data: data.value }),
        ...(flags.async ? { async: true } : {}),
      };
      const answer = await cli
        .client()
        .post<InvokeAnswer>(`/functions/${encodeURIComponent(name)}/invoke`, body, { timeoutMs: 0 });
      const { invocation } = answer;
      emit(cli, flags, answer, (a) => humanResult(a, flags.async === true));
      if (flags.async === true) return;
      if (flags.json !== true && invocation.logs) cli.err(invocation.logs.trimEnd());
      if (flags.json !== true && invocation.status === 'ok') cli.err(summary(answer));
      if (invocation.status !== 'ok') {
        throw new CliError(
          `${name} ${invocation.status}${invocation.error ? `: ${oneLine(invocation.error)}` : ''} (see \`gust logs ${name} --invocation ${invocation.id}\`)`,
        );
      }
    });
}

/** `--data '{"a":1}'` or `--data @event.json`; either way it must be JSON (a usage error if not). */
async function readData(arg: string, cwd: string): Promise<{ value: unknown }> {
  let text = arg;
  if (arg.startsWith('@')) {
    const file = arg.slice(1);
    try {
      text = await readFile(path.resolve(cwd, file), 'utf8');
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
      throw usageError(`--data ${arg}: cannot read ${file}: ${reason}`);
    }
  }
  try {
    return { value: JSON.parse(text) as unknown };
  } catch (e) {
    throw usageError(
      `--data ${arg.startsWith('@') ? arg : 'value'} is not valid JSON: ${(e as Error).message} (a string needs quotes: --data '"text"')`,
    );
  }
}

function humanResult({ invocation, result }: InvokeAnswer, isAsync: boolean): string {
  if (isAsync)
    return `accepted ${invocation.id} (see \`gust logs ${invocation.function} --invocation ${invocation.id}\`)`;
  if (result === undefined) return '';
  return typeof result === 'string' ? result : JSON.stringify(result, null, 2);
}

function summary({ invocation: i }: InvokeAnswer): string {
  const cold = i.cold === true ? `, cold start ${formatMs(i.initMs)}` : '';
  return `${i.function} v${i.version}  ${i.status}  ${formatMs(i.durationMs)} (billed ${formatMs(i.billedMs)}, ${i.memoryMb ?? '?'} MB${cold})  ${i.id}`;
}
