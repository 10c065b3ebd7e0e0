/**
 * login: remember a platform and its key in the CLI's config file, and use it from now on. The key
 * comes from standard input (piped, or typed unseen at a terminal), never from the command line
 * (shell history, `ps`), and is checked against that URL before it is saved. Without a key, a
 * platform the file already knows is used again: the local one `gust up` recorded (how to switch
 * back to it), else a previous login. One rule for the local platform's own URL, then: with a key
 * it is a login like any other; without one, it is the local platform with its admin key file.
 */
import type { Command } from 'commander';
import type { ClientConfig } from '../../config/client.js';
import {
  readUserConfig,
  recordLogin,
  type SavedPlatform,
  savedFor,
  useLocalPlatform,
  userConfigFile,
} from '../../config/user.js';
import { askSecret, readStdin } from '../ask.js';
import { GustClient } from '../client.js';
import type { Cli } from '../context.js';
import { CliError, usageError } from '../fail.js';
import { emit, type JsonFlag } from '../output.js';

interface LoginAnswer {
  readonly url: string;
  /** `login`: with the key given (or saved before); `local`: the platform `gust up` recorded. */
  readonly platform: 'login' | 'local';
  readonly configFile: string;
}

export function registerLoginCommand(program: Command, cli: Cli): void {
  program
    .command('login')
    .description('use this platform from now on, with a key read from standard input (none: one known)')
    .argument('<url>', 'the platform, e.g. https://gust.example.com')
    .option('--json', 'print {url, platform, configFile} as JSON')
    .action(async (given: string, flags: JsonFlag) => {
      const url = platformUrl(given);
      const file = userConfigFile(cli.env);
      const known = savedFor(readUserConfig(file), url);
      const key = await readKey(cli, url, known);
      let answer: LoginAnswer;
      if (key === '' && known?.from === 'local') {
        await useLocalPlatform(file);
        answer = { url, platform: 'local', configFile: file };
      } else {
        const usable = key !== '' ? key : known?.from === 'login' ? known.key : undefined;
        if (usable === undefined) {
          throw usageError(
            `no key on standard input: \`gust login ${url} < key.txt\`, or paste it when asked (a key from \`gust keys create\` on that platform)`,
          );
        }
        await checkKey(cli, url, usable);
        await recordLogin(file, url, usable);
        answer = { url, platform: 'login', configFile: file };
      }
      emit(cli, flags, answer, (a) => loginText(a, known?.from === 'local'));
    });
}

/** What changed; for the local platform's URL, also how to go back to its admin key file. */
function loginText(a: LoginAnswer, localUrl: boolean): string {
  if (a.platform === 'local') {
    return `using the local platform at ${a.url} again, with its admin key file (recorded by gust up or gust dev in ${a.configFile})`;
  }
  if (localUrl) {
    return `logged in to ${a.url}, the local platform of gust up, with this key: gust commands use it now (saved in ${a.configFile}; \`gust login ${a.url} < /dev/null\` goes back to its admin key file)`;
  }
  return `logged in to ${a.url}: gust commands go there now (key saved in ${a.configFile}; \`gust up\`, or \`gust login\` of the local URL without a key, goes back to a local platform)`;
}

/** An http(s) URL without a trailing slash, as the config file keys it. */
function platformUrl(given: string): string {
  let url: URL | undefined;
  try {
    url = new URL(given);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw usageError(`${JSON.stringify(given)} is not an http(s) URL (example: https://gust.example.com)`);
  }
  return url.href.replace(/\/+$/, '');
}

/** Typed unseen at a terminal; else all of standard input. Empty: no key given. */
async function readKey(cli: Cli, url: string, known: SavedPlatform | undefined): Promise<string> {
  if (cli.stdin.isTTY !== true) return (await readStdin(cli)).toString('utf8').trim();
  const otherwise =
    known?.from === 'local'
      ? ' (Enter alone: the local platform of gust up)'
      : known
        ? ' (Enter alone: the saved key)'
        : '';
  return askSecret(cli, `API key for ${url}${otherwise}: `);
}

/**
 * A key any platform must take: listing functions needs the deploy scope, so an invoke key is
 * answered 403, which still proves it valid; only a 401 (or no Gust there) refuses the login.
 */
async function checkKey(cli: Cli, url: string, key: string): Promise<void> {
  const config: ClientConfig = { url, urlFrom: 'login', key: { from: 'login', key }, local: undefined };
  try {
    await new GustClient(config).get('/functions');
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    if (e.code === 'FORBIDDEN') {
      if (!cli.json)
        cli.err(
          `note: this key may not list functions (${e.message}); commands beyond its scope will be refused`,
        );
      return;
    }
    const message =
      e.code === 'UNAUTHORIZED'
        ? `Gust at ${url} refused this key (mistyped, revoked or expired?)`
        : e.code === 'UNREACHABLE'
          ? `cannot reach Gust at ${url} (is the URL right, and the platform up?)`
          : e.message;
    throw new CliError(`${message}; nothing was saved`, {
      code: e.code,
      exitCode: e.exitCode,
      details: e.details,
    });
  }
}
