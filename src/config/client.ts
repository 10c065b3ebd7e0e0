/**
 * client: where the CLI sends its requests, and with which key. Each variable wins over the config
 * file, which wins over the defaults:
 * - URL: GUST_URL, else http://127.0.0.1:$GUST_PORT, else the platform in use in the config file
 *   (the local one `gust up` recorded, or the last `gust login`; an error when the file names one it
 *   does not hold), else http://127.0.0.1:8080;
 * - key: GUST_API_KEY, else <GUST_DATA_DIR>/admin.key, else what the file knows of that URL (a
 *   login's key, the local platform's admin key file), else ./.gust/admin.key.
 * The file is read only when the environment leaves something open.
 */
import path from 'node:path';
import { ConfigError, type Env, envPort } from './config.js';
import { type LocalPlatform, platformInUse, readUserConfig, savedFor, userConfigFile } from './user.js';

const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface ClientConfig {
  /** Without a trailing slash. */
  readonly url: string;
  /** Why this URL: GUST_URL or GUST_PORT, the local platform of `gust up`, `gust login`, or the default. */
  readonly urlFrom: 'env' | 'local' | 'login' | 'default';
  readonly key: ClientKey;
  /** The recorded local platform, when requests go to it: to say how to start it again. */
  readonly local: LocalPlatform | undefined;
  /**
   * TRACEPARENT, the W3C trace context OpenTelemetry passes to a process in its environment: sent
   * as the `traceparent` header of every request, so that what the command invokes or publishes
   * joins the caller's trace (a malformed one is ignored by the platform, as on its routes).
   */
  readonly traceparent?: string;
}

export type ClientKey =
  | { readonly from: 'env'; readonly key: string }
  | { readonly from: 'login'; readonly key: string }
  /** An admin key file: GUST_DATA_DIR's, the local platform's, or ./.gust's. */
  | { readonly from: 'file'; readonly path: string };

export function loadClientConfig(env: Env, cwd: string): ClientConfig {
  const configFile = userConfigFile(env);
  const port = envPort(env);
  const envUrl = explicitUrl(env) ?? (port === undefined ? undefined : `http://127.0.0.1:${port}`);
  const envKey = set(env.GUST_API_KEY);
  const dataDir = set(env.GUST_DATA_DIR);
  const decided = envUrl !== undefined && (envKey !== undefined || dataDir !== undefined);
  const saved = decided ? {} : readUserConfig(configFile);
  const current = envUrl === undefined ? platformInUse(saved, configFile) : undefined;
  const url = checkUrl(
    (envUrl ?? current?.url ?? DEFAULT_URL).replace(/\/+$/, ''),
    envUrl === undefined ? configFile : undefined,
  );
  // the platform in use as the file says; for a URL from the environment, what the file knows of it
  const known = current ?? savedFor(saved, url);
  let key: ClientKey;
  if (envKey !== undefined) key = { from: 'env', key: envKey };
  else if (dataDir !== undefined) key = { from: 'file', path: path.resolve(cwd, dataDir, 'admin.key') };
  else if (known?.from === 'login') key = { from: 'login', key: known.key };
  else if (known?.from === 'local') key = { from: 'file', path: known.local.keyFile };
  else key = { from: 'file', path: path.resolve(cwd, '.gust', 'admin.key') };
  // only what a header can carry: a value with line breaks would fail the request, not just the trace
  const traceparent = set(env.TRACEPARENT?.trim());
  return {
    url,
    urlFrom: envUrl !== undefined ? 'env' : (current?.from ?? 'default'),
    key,
    local: known?.from === 'local' ? known.local : undefined,
    ...(traceparent === undefined || !/^[\x20-\x7e]+$/.test(traceparent) ? {} : { traceparent }),
  };
}

/** GUST_URL when it is set: the platform the user named (`gust dev` then attaches to it). */
export function explicitUrl(env: Env): string | undefined {
  return set(env.GUST_URL);
}

/** An http(s) URL, or an error that names where it came from. */
function checkUrl(url: string, fromFile: string | undefined): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.protocol === 'http:' || parsed?.protocol === 'https:') return url;
  const where = fromFile === undefined ? `GUST_URL ${JSON.stringify(url)}` : `the URL in ${fromFile}`;
  throw new ConfigError(`${where} is not an http(s) URL (example: http://127.0.0.1:8080)`);
}

/** An empty variable counts as unset (`GUST_URL= gust ls`). */
function set(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
