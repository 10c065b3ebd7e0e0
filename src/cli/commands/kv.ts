/** kv get | put | delete | list: an operator's hand in KV namespaces (functions use ctx.kv). */
import { type Command, InvalidArgumentError } from 'commander';
import { parseDuration } from '../../manifest/duration.js';
import { readStdin } from '../ask.js';
import type { Cli } from '../context.js';
import { CliError, quote } from '../fail.js';
import { emit, formatTime, type JsonFlag, table } from '../output.js';

interface Entry {
  readonly key: string;
  readonly value: string;
  readonly expiresAt: number | null;
}

interface Page {
  readonly keys: readonly { readonly key: string; readonly expiresAt: number | null }[];
  readonly cursor: string | null;
}

const path = (ns: string, key?: string) =>
  `/kv/${encodeURIComponent(ns)}/keys${key === undefined ? '' : `/${encodeURIComponent(key)}`}`;

export function registerKvCommands(program: Command, cli: Cli): void {
  const kv = program.command('kv').description('read and write KV namespaces');

  kv.command('get')
    .description('print the value of a key (exit 1 when there is none)')
    .argument('<namespace>')
    .argument('<key>')
    .option('--json', 'print {key, value, expiresAt}')
    .action(async (ns: string, key: string, flags: JsonFlag) => {
      const entry = await cli.client().get<Entry>(path(ns, key));
      emit(cli, flags, entry, (e) => e.value);
    });

  kv.command('put')
    .description('set a key; the value is the argument, or standard input without one')
    .argument('<namespace>')
    .argument('<key>')
    .argument('[value]')
    .option('--ttl <duration>', 'expire after this long, e.g. 90s, 10m, 7d', parseTtl)
    .option('--json', 'print JSON')
    .action(
      async (ns: string, key: string, value: string | undefined, flags: JsonFlag & { ttl?: number }) => {
        const text = value ?? (await readStdin(cli)).toString('utf8');
        const answer = await cli.client().request<{ namespace: string; key: string }>('PUT', path(ns, key), {
          body: { value: text, ...(flags.ttl === undefined ? {} : { ttl: flags.ttl }) },
        });
        emit(cli, flags, answer, (a) => `put ${a.key} in ${a.namespace}`);
      },
    );

  kv.command('delete')
    .description('delete a key (exit 1 when there was none)')
    .argument('<namespace>')
    .argument('<key>')
    .option('--json', 'print JSON')
    .action(async (ns: string, key: string, flags: JsonFlag) => {
      const answer = await cli.client().delete<{ deleted: boolean }>(path(ns, key));
      if (!answer.deleted) throw new CliError(`no key ${key} in ${ns}`, { code: 'NOT_FOUND' });
      emit(cli, flags, answer, () => `deleted ${key}`);
    });

  kv.command('list')
    .description('list keys in order, a page at a time')
    .argument('<namespace>')
    .option('--prefix <prefix>', 'only keys that start with it')
    .option('--cursor <cursor>', 'the next page, from the previous one')
    .option('--limit <n>', 'at most this many, 1 to 1000 (default 100)', parseLimit)
    .option('--json', 'print JSON ({"keys", "cursor"})')
    .action(async (ns: string, flags: JsonFlag & { prefix?: string; cursor?: string; limit?: number }) => {
      const page = await cli
        .client()
        .get<Page>(path(ns), { query: { prefix: flags.prefix, cursor: flags.cursor, limit: flags.limit } });
      emit(cli, flags, page, (p) =>
        p.keys.length === 0
          ? `no keys in ${ns}${flags.prefix ? ` starting with ${flags.prefix}` : ''}`
          : table(
              p.keys.map((k) => [
                k.key,
                k.expiresAt === null ? '-' : formatTime(new Date(k.expiresAt).toISOString()),
              ]),
              ['KEY', 'EXPIRES'],
            ),
      );
      if (flags.json !== true && page.cursor !== null) {
        // the next page of the same list: its filters go with it
        const same = [
          ...(flags.prefix === undefined ? [] : ['--prefix', flags.prefix]),
          ...(flags.limit === undefined ? [] : ['--limit', String(flags.limit)]),
        ];
        cli.note(`more: gust kv list ${[ns, ...same].map(quote).join(' ')} --cursor ${page.cursor}`);
      }
    });
}

function parseTtl(value: string): number {
  const ms = parseDuration(value);
  if (ms === undefined || ms < 1000)
    throw new InvalidArgumentError('expected a duration of 1s or more, like 90s, 10m or 7d.');
  return Math.round(ms / 1000);
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new InvalidArgumentError('expected a whole number from 1 to 1000.');
  return n;
}
