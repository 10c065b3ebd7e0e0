/**
 * user: the CLI's own file, `$XDG_CONFIG_HOME/gust/config.json` (default `~/.config/gust/`), so
 * that `gust` works from any folder. It holds the local platform `gust up` started last (its URL
 * and the path of its admin key, never the key) and the platforms `gust login` added (URL and
 * key: the file is 0600 in a 0700 folder, like ~/.aws/credentials), and which of them is in use.
 * Written whole or not at all (a temporary file, then rename): two `gust up` at once leave the one
 * or the other, never a mix.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, type Env } from './config.js';

const LocalSchema = z.looseObject({
  url: z.string().min(1),
  keyFile: z.string().min(1),
  dataDir: z.string().min(1),
  /** The command that starts it again as it was started (ports, retention, ...); older records lack it. */
  restart: z.string().optional(),
});

const UserConfigSchema = z.looseObject({
  /** `local`, or the URL of one of `logins`. */
  use: z.string().optional(),
  local: LocalSchema.optional(),
  logins: z.record(z.string(), z.looseObject({ key: z.string().min(1) })).optional(),
});

export type LocalPlatform = z.infer<typeof LocalSchema>;
export type UserConfig = z.infer<typeof UserConfigSchema>;

/** The platform commands go to when the environment does not say. */
export type SavedPlatform =
  | { readonly from: 'local'; readonly url: string; readonly local: LocalPlatform }
  | { readonly from: 'login'; readonly url: string; readonly key: string };

/** `$XDG_CONFIG_HOME/gust/config.json`; a relative or empty XDG_CONFIG_HOME is ignored, as the spec says. */
export function userConfigFile(env: Env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base =
    xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'gust', 'config.json');
}

/** The file's content; empty when there is none. A damaged file is an error that names it. */
export function readUserConfig(file: string): UserConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw damaged(file, `it is not valid JSON (${(e as Error).message})`);
  }
  const parsed = UserConfigSchema.safeParse(value);
  if (!parsed.success) throw damaged(file, issueText(value, parsed.error.issues[0]));
  return parsed.data;
}

/**
 * The platform in use, when the environment does not choose one; an error when `use` names one the
 * file does not hold (edited by hand, or a login removed): commands would otherwise go to
 * http://127.0.0.1:8080 without a word, a platform nobody chose.
 */
export function platformInUse(config: UserConfig, file: string): SavedPlatform | undefined {
  const { use } = config;
  if (use === 'local' && config.local === undefined) {
    throw new ConfigError(
      `${file} says to use the local platform, but records none: start one with \`gust up\`, or use another with \`gust login URL\``,
    );
  }
  if (use !== undefined && use !== 'local' && config.logins?.[use] === undefined) {
    throw new ConfigError(
      `${file} says to use ${use}, but holds no key for it: log in to it (\`gust login ${use}\`, its key on standard input), or start a local platform with \`gust up\``,
    );
  }
  return savedPlatform(config);
}

/** The platform in use; the local one when `use` names nothing known. */
export function savedPlatform(config: UserConfig): SavedPlatform | undefined {
  const login = config.use === undefined ? undefined : config.logins?.[config.use];
  if (config.use !== 'local' && config.use !== undefined && login !== undefined) {
    return { from: 'login', url: config.use, key: login.key };
  }
  return config.local && { from: 'local', url: config.local.url, local: config.local };
}

/**
 * What the file knows of this URL (given by GUST_URL, say, or to `gust login`): the local platform
 * first, since `gust login` of its URL without a key is how to go back to it; else a login's key.
 */
export function savedFor(config: UserConfig, url: string): SavedPlatform | undefined {
  if (config.local?.url === url) return { from: 'local', url, local: config.local };
  const login = config.logins?.[url];
  return login === undefined ? undefined : { from: 'login', url, key: login.key };
}

/** `gust up`: this is the local platform, and the one in use. Returns what was in use before. */
export async function recordLocalPlatform(
  file: string,
  local: LocalPlatform,
): Promise<SavedPlatform | undefined> {
  let before: SavedPlatform | undefined;
  await updateUserConfig(file, (config) => {
    before = savedPlatform(config);
    return { ...config, use: 'local', local };
  });
  return before;
}

/** `gust login URL`: this platform and its key, and the one in use. */
export async function recordLogin(file: string, url: string, key: string): Promise<void> {
  await updateUserConfig(file, (config) => ({
    ...config,
    use: url,
    logins: { ...config.logins, [url]: { key } },
  }));
}

/** `gust login` of the local platform's URL without a key: back to the local platform. */
export async function useLocalPlatform(file: string): Promise<void> {
  await updateUserConfig(file, (config) => ({ ...config, use: 'local' }));
}

async function updateUserConfig(file: string, change: (config: UserConfig) => UserConfig): Promise<void> {
  const next = change(readUserConfig(file));
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700); // a folder that already existed is made private too: it holds keys
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** What is wrong, in the file's terms: `local.url is a number, not a string`. */
function issueText(value: unknown, issue: z.core.$ZodIssue | undefined): string {
  if (issue === undefined) return 'it does not hold what gust writes';
  const where = issue.path.map(String).join('.');
  if (where === '') {
    return `it holds ${kindOf(value)}, not the object gust writes ({"use", "local", "logins"})`;
  }
  if (issue.code === 'invalid_type') {
    const found = issue.path.reduce<unknown>(
      (at, key) =>
        typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined,
      value,
    );
    return found === undefined
      ? `${where} is missing`
      : `${where} is ${kindOf(found)}, not ${issue.expected === 'object' ? 'an object' : `a ${issue.expected}`}`;
  }
  if (issue.code === 'too_small') return `${where} is empty`;
  return `${where}: ${issue.message}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

function damaged(file: string, why: string): ConfigError {
  return new ConfigError(
    `${file} is damaged: ${why}; fix it, or delete it (\`gust up\` and \`gust login\` write it again)`,
  );
}
