/** keys create | ls | revoke: API keys. A whole key is shown once, at creation. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { EXPIRY_RULE, parseExpiry } from '../../control/keys.js';
import { formatRate, parseRate } from '../../control/rate.js';
import type { CreatedKey, KeyInfo } from '../api.js';
import type { Cli } from '../context.js';
import { usageError } from '../fail.js';
import { emit, formatTime, type JsonFlag, table } from '../output.js';

interface CreateFlags extends JsonFlag {
  readonly scope: string;
  readonly function?: string;
  readonly expires?: string;
  readonly rate?: string;
}

export function registerKeyCommands(program: Command, cli: Cli): void {
  const keys = program.command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create a key (shown once: store it)')
    .addOption(
      new Option('--scope <scope>', 'what the key may do')
        .choices(['admin', 'deploy', 'invoke', 'storage', 'metrics'])
        .makeOptionMandatory(),
    )
    .option('--function <name>', 'limit an invoke key to one function')
    .option('--expires <duration>', 'expire after this long, e.g. 30d or 12h (default: never)', checkExpiry)
    .option(
      '--rate <rate>',
      'at most this many requests, e.g. 100/s, 6000/m (default: no limit); past it, 429',
      checkRate,
    )
    .option('--json', 'print {key, accessKeyId, secretAccessKey, scope, ...} as JSON')
    .action(async (flags: CreateFlags) => {
      // as the platform refuses it, but before asking it: a command line that cannot work (exit 2)
      if (flags.function !== undefined && flags.scope !== 'invoke') {
        throw usageError(
          `--function limits invoke keys only: a ${flags.scope} key covers every function (use --scope invoke, or leave out --function)`,
        );
      }
      const body = {
        scope: flags.scope,
        ...(flags.function === undefined ? {} : { function: flags.function }),
        ...(flags.expires === undefined ? {} : { expires: flags.expires }),
        ...(flags.rate === undefined ? {} : { rate: flags.rate }),
      };
      const key = await cli.client().post<CreatedKey>('/keys', body);
      emit(cli, flags, key, (k) =>
        table([
          ['key', k.key],
          ['access key id', k.accessKeyId],
          ['secret access key', k.secretAccessKey],
          ['id', k.id],
          ['scope', k.function ? `${k.scope} (function ${k.function})` : k.scope],
          ['expires', k.expiresAt ? formatTime(k.expiresAt) : 'never'],
          ['rate', k.rate === null ? 'no limit' : formatRate(k.rate, k.burst)],
        ]),
      );
      if (flags.json !== true) cli.err('This is the only time the key is shown: store it now.');
    });

  keys
    .command('ls')
    .description('list keys (never the whole key)')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag) => {
      const answer = await cli.client().get<{ keys: KeyInfo[] }>('/keys');
      emit(cli, flags, answer, ({ keys: list }) =>
        table(
          list.map((k) => [
            k.id,
            k.prefix,
            k.scope,
            k.function ?? '-',
            formatTime(k.createdAt),
            k.expiresAt ? formatTime(k.expiresAt) : 'never',
            k.rate === null ? '-' : formatRate(k.rate, k.burst),
            keyStatus(k),
          ]),
          ['ID', 'PREFIX', 'SCOPE', 'FUNCTION', 'CREATED', 'EXPIRES', 'RATE', 'STATUS'],
        ),
      );
    });

  keys
    .command('revoke')
    .description('revoke a key at once')
    .argument('<id>', 'key id, from `gust keys ls`')
    .option('--json', 'print JSON')
    .action(async (id: string, flags: JsonFlag) => {
      const answer = await cli.client().delete<{ revoked: string }>(`/keys/${encodeURIComponent(id)}`);
      emit(cli, flags, answer, ({ revoked }) => `revoked ${revoked}`);
    });
}

/** Checked here as the platform checks it, so that a key that cannot be is a usage error (exit 2). */
function checkExpiry(value: string): string {
  if (parseExpiry(value) === undefined) {
    throw new InvalidArgumentError(`expected ${EXPIRY_RULE}; leave it out for a key that never expires`);
  }
  return value;
}

/** Checked as the platform checks it: a rate that cannot be is a usage error (exit 2). */
function checkRate(value: string): string {
  if (parseRate(value) === undefined)
    throw new InvalidArgumentError('expected a rate like 100/s, 6000/m or 10000/h.');
  return value;
}

function keyStatus(k: KeyInfo): string {
  if (k.revoked) return 'revoked';
  if (k.expiresAt !== null && Date.parse(k.expiresAt) <= Date.now()) return 'expired';
  return 'active';
}
