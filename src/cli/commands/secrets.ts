/**
 * secrets set | ls | rm: values functions get as environment variables, sealed at rest on the
 * platform. A value is read from standard input (typed unseen at a terminal), never taken from the
 * command line (it would stay in the shell's history), and never shown again.
 */
import type { Command } from 'commander';
import { askSecret, readStdin } from '../ask.js';
import type { Cli } from '../context.js';
import { usageError } from '../fail.js';
import { emit, formatTime, type JsonFlag, table } from '../output.js';

interface SecretInfo {
  readonly name: string;
  readonly updatedAt: string;
  readonly usedBy: readonly string[];
}

interface SetAnswer {
  readonly name: string;
  readonly created: boolean;
  readonly usedBy: readonly string[];
  /** The functions that declare it (`secrets:`), and those whose webhooks verify with it. */
  readonly env?: readonly string[];
  readonly webhooks?: readonly string[];
  /** Those whose stream or postgres triggers connect with it. */
  readonly connections?: readonly string[];
}

export function registerSecretCommands(program: Command, cli: Cli): void {
  const secrets = program
    .command('secrets')
    .description('set, list and remove secrets (values are never shown)');

  secrets
    .command('set')
    .description('set a secret; its value is read from standard input')
    .argument('<name>', 'secret name: letters, digits and _ (it becomes an environment variable)')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: JsonFlag) => {
      const value = await readValue(cli, name);
      const answer = await cli
        .client()
        .request<SetAnswer>('PUT', `/secrets/${encodeURIComponent(name)}`, { body: { value } });
      emit(cli, flags, answer, setText);
    });

  secrets
    .command('ls')
    .description('list secrets: names, when they were set, and the functions that use them')
    .option('--json', 'print JSON')
    .action(async (flags: JsonFlag) => {
      const answer = await cli.client().get<{ secrets: SecretInfo[] }>('/secrets');
      emit(cli, flags, answer, ({ secrets: list }) =>
        list.length === 0
          ? 'no secrets (set one with `gust secrets set NAME`)'
          : table(
              list.map((s) => [
                s.name,
                formatTime(s.updatedAt),
                s.usedBy.length === 0 ? '-' : s.usedBy.join(', '),
              ]),
              ['NAME', 'SET', 'USED BY'],
            ),
      );
    });

  secrets
    .command('rm')
    .description('remove a secret no deployed function uses')
    .argument('<name>', 'secret name')
    .option('--json', 'print JSON')
    .action(async (name: string, flags: JsonFlag) => {
      const answer = await cli.client().delete<{ removed: string }>(`/secrets/${encodeURIComponent(name)}`);
      emit(cli, flags, answer, ({ removed }) => `removed ${removed}`);
    });
}

/** Typed unseen at a terminal; else all of standard input, less one final newline (as `echo` adds). */
async function readValue(cli: Cli, name: string): Promise<string> {
  const value = cli.interactive
    ? await askSecret(cli, `value of ${name} (not shown): `)
    : (await readStdin(cli)).toString('utf8').replace(/\r?\n$/, '');
  if (value === '') {
    throw usageError(
      `no value for ${name} on standard input: gust secrets set ${name} < file, or type it when asked`,
    );
  }
  return value;
}

function setText(a: SetAnswer): string {
  const what = `${a.created ? 'set' : 'changed'} ${a.name}`;
  if (a.usedBy.length === 0) return `${what} (no deployed function uses it yet)`;
  // a platform that does not say how it is used: every user is taken to declare it
  const env = a.env ?? a.usedBy;
  const said: string[] = [];
  if (env.length > 0) {
    const users = env.join(', ');
    said.push(
      a.created
        ? `${users} get it in instances started from now on`
        : `${users} get the new value in instances started from now on; instances running now keep the old one until they stop (redeploy to restart them at once)`,
    );
  }
  if (a.webhooks && a.webhooks.length > 0) {
    said.push(`the webhooks of ${a.webhooks.join(', ')} verify with it from the next delivery`);
  }
  if (a.connections && a.connections.length > 0) {
    said.push(
      `the stream and postgres triggers of ${a.connections.join(', ')} connect with it from their next connection`,
    );
  }
  return said.length === 0 ? what : `${what}: ${said.join('; ')}`;
}
