/**
 * client: the control API over HTTP (global fetch). Every failure becomes a CliError whose one line
 * says what went wrong and how to fix it (unreachable platform, refused key, the API's own error),
 * naming where the URL and the key came from (GUST_*, `gust up`, `gust login`): that is what to fix.
 */
import { readFile } from 'node:fs/promises';
import type { ClientConfig } from '../config/client.js';
import type { ErrorCode } from '../errors.js';
import { CliError } from './fail.js';

const API = '/_gust/api/v1';
const DEFAULT_TIMEOUT_MS = 30_000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** `gust up`'s port when none is given. */
const DEFAULT_PORT = 8080;

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Query;
  /** 0 waits as long as the server takes (a synchronous invoke runs up to the function's timeout). */
  readonly timeoutMs?: number;
  /** Aborts the request quietly, e.g. Ctrl-C during `logs --follow`. */
  readonly signal?: AbortSignal;
  /** Headers of this request; a `traceparent` here wins over the environment's TRACEPARENT. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** `using https://gust.example.com (from gust login)`: for a platform that is not this machine's own. */
export function platformNote(config: ClientConfig): string | undefined {
  const remote = !LOOPBACK.has(new URL(config.url).hostname);
  if (config.urlFrom === 'login') return `using ${config.url} (from gust login)`;
  if (remote && config.urlFrom === 'env') return `using ${config.url} (from GUST_URL)`;
  return undefined;
}

export class GustClient {
  private keyRead: Promise<string | undefined> | undefined;

  constructor(private readonly config: ClientConfig) {}

  get url(): string {
    return this.config.url;
  }

  get<T>(apiPath: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', apiPath, options);
  }

  post<T>(apiPath: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('POST', apiPath, { ...options, body });
  }

  delete<T>(apiPath: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('DELETE', apiPath, options);
  }

  async request<T>(method: string, apiPath: string, options: RequestOptions = {}): Promise<T> {
    const url = new URL(`${this.config.url}${API}${apiPath}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    const key = await this.key();
    const headers: Record<string, string> = { accept: 'application/json' };
    // the caller's trace (OpenTelemetry's carrier in the environment): invoke and publish continue it
    if (this.config.traceparent !== undefined) headers.traceparent = this.config.traceparent;
    Object.assign(headers, options.headers);
    if (key !== undefined) headers.authorization = `Bearer ${key}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signals = [options.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined];
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.any(signals.filter((s) => s !== undefined)),
      });
    } catch (e) {
      if (options.signal?.aborted === true) throw e;
      if (e instanceof Error && e.name === 'TimeoutError') {
        throw new CliError(
          `Gust at ${this.url} did not answer ${method} ${apiPath} within ${timeoutMs / 1000} s (is it overloaded? try again)`,
          { code: 'NO_ANSWER' },
        );
      }
      throw new CliError(this.unreachable(), { code: 'UNREACHABLE' });
    }
    const text = await res.text();
    const body = parseJson(text);
    if (res.ok) {
      if (body === undefined) throw this.notGust(res, method, apiPath);
      return body as T;
    }
    const error = apiError(body);
    if (error === undefined) throw this.notGust(res, method, apiPath);
    if (res.status === 401) throw new CliError(this.unauthorized(key), { code: 'UNAUTHORIZED' });
    // the server's code, maybe one this CLI does not know yet (a newer platform): passed on as it is
    throw new CliError(error.message, { code: error.code as ErrorCode, details: error.details });
  }

  /** The key of the config, a key file read once (none if there is no such file). */
  private key(): Promise<string | undefined> {
    this.keyRead ??= (async () => {
      const { key } = this.config;
      if (key.from !== 'file') return key.key;
      const text = await readFile(key.path, 'utf8').catch(() => '');
      return text.trim() === '' ? undefined : text.trim();
    })();
    return this.keyRead;
  }

  private unreachable(): string {
    const { url, urlFrom, local } = this.config;
    switch (urlFrom) {
      case 'local':
        return `cannot reach the local Gust at ${url} (recorded by \`gust up\` or \`gust dev\`): has it stopped? start it again with \`${local?.restart ?? restartCommand(url, local?.dataDir)}\``;
      case 'login':
        return `cannot reach Gust at ${url} (chosen by \`gust login\`): is it down, or the URL wrong? \`gust login URL\` or \`gust up\` switches to another platform`;
      case 'env':
        return `cannot reach Gust at ${url} (from GUST_URL or GUST_PORT): is it running there?`;
      case 'default':
        return `cannot reach Gust at ${url} (is \`gust up\` running? set GUST_URL)`;
    }
  }

  private unauthorized(sent: string | undefined): string {
    const { key } = this.config;
    const at = `Gust at ${this.url}`;
    if (key.from === 'env') {
      return `${at} refused the key in GUST_API_KEY (revoked or expired? set a valid key, or unset it)`;
    }
    if (key.from === 'login') {
      return `${at} refused the key \`gust login\` saved (revoked or expired? log in again: gust login ${this.url})`;
    }
    if (sent === undefined) {
      return `no API key: set GUST_API_KEY, or GUST_DATA_DIR to the data folder of \`gust up\` (no ${key.path})`;
    }
    return `${at} refused the admin key in ${key.path} (set GUST_DATA_DIR to that platform's data folder, or set GUST_API_KEY)`;
  }

  private notGust(res: Response, method: string, apiPath: string): CliError {
    const fix = this.config.urlFrom === 'login' ? 'gust login' : 'GUST_URL';
    return new CliError(
      `${this.url} answered ${res.status} ${res.statusText} to ${method} ${API}${apiPath}, not as Gust does (does ${fix} point at Gust?)`,
      { code: 'NOT_GUST' },
    );
  }
}

/**
 * `gust up --data DIR`, with the port it had when that is not the default: started again on 8080,
 * it would not be where the record (and every command) looks for it. For a record made before
 * `gust up` kept its own command (config/config.ts upCommand).
 */
function restartCommand(url: string, dataDir: string | undefined): string {
  const { port, protocol } = new URL(url);
  const listened = port === '' ? (protocol === 'https:' ? '443' : '80') : port;
  const portFlag = listened === String(DEFAULT_PORT) ? '' : ` --port ${listened}`;
  return `gust up --data ${dataDir ?? '.gust'}${portFlag}`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `{"error": {"code", "message", "details"?}}`, the shape of every control API error. */
function apiError(body: unknown): { code: string; message: string; details: string[] } | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error = body.error;
  if (
    typeof error !== 'object' ||
    error === null ||
    !('message' in error) ||
    typeof error.message !== 'string'
  ) {
    return undefined;
  }
  const code = 'code' in error && typeof error.code === 'string' ? error.code : 'INTERNAL';
  const details = 'details' in error && Array.isArray(error.details) ? error.details.map(String) : [];
  return { code, message: error.message, details };
}
