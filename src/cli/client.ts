/**
 * client: the control API over HTTP (global fetch). Every failure becomes a CliError whose one line
 * says what went wrong and how to fix it: unreachable platform, refused key, the API's own error.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ClientConfig } from '../config/config.js';
import { CliError, EXIT } from './fail.js';

const API = '/_gust/api/v1';
const DEFAULT_TIMEOUT_MS = 30_000;

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface RequestOptions {
  readonly body?: unknown;
  readonly query?: Query;
  /** 0 waits as long as the server takes (a synchronous invoke runs up to the function's timeout). */
  readonly timeoutMs?: number;
  /** Aborts the request quietly, e.g. Ctrl-C during `logs --follow`. */
  readonly signal?: AbortSignal;
}

type KeySource = { from: 'env' | 'file'; key: string } | { from: 'none' };

export class GustClient {
  private keySource: Promise<KeySource> | undefined;

  constructor(private readonly config: ClientConfig) {}

  get url(): string {
    return this.config.url;
  }

  get adminKeyPath(): string {
    return path.join(this.config.dataDir, 'admin.key');
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
    const url = this.endpoint(apiPath, options.query);
    const source = await this.key();
    const headers: Record<string, string> = { accept: 'application/json' };
    if (source.from !== 'none') headers.authorization = `Bearer ${source.key}`;
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
        );
      }
      throw new CliError(`cannot reach Gust at ${this.url} (is \`gust up\` running? set GUST_URL)`);
    }
    const text = await res.text();
    const body = parseJson(text);
    if (res.ok) {
      if (body === undefined) throw this.notGust(res, method, apiPath);
      return body as T;
    }
    if (res.status === 401) throw this.unauthorized(source);
    const error = apiError(body);
    if (error === undefined) throw this.notGust(res, method, apiPath);
    throw new CliError(error.message, { details: error.details });
  }

  private endpoint(apiPath: string, query: Query | undefined): URL {
    let url: URL;
    try {
      url = new URL(`${this.config.url}${API}${apiPath}`);
    } catch {
      throw new CliError(`GUST_URL "${this.config.url}" is not a URL (example: http://127.0.0.1:8080)`, {
        exitCode: EXIT.usage,
      });
    }
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  /** GUST_API_KEY, else the admin key `gust up` wrote into the data folder; read once. */
  private key(): Promise<KeySource> {
    this.keySource ??= (async (): Promise<KeySource> => {
      if (this.config.apiKey !== undefined && this.config.apiKey !== '') {
        return { from: 'env', key: this.config.apiKey };
      }
      try {
        const key = (await readFile(this.adminKeyPath, 'utf8')).trim();
        return key === '' ? { from: 'none' } : { from: 'file', key };
      } catch {
        return { from: 'none' };
      }
    })();
    return this.keySource;
  }

  private unauthorized(source: KeySource): CliError {
    switch (source.from) {
      case 'env':
        return new CliError(
          `Gust at ${this.url} refused the key in GUST_API_KEY (revoked or expired? set a valid key, or unset it to use ${this.adminKeyPath})`,
        );
      case 'file':
        return new CliError(
          `Gust at ${this.url} refused the admin key in ${this.adminKeyPath} (set GUST_DATA_DIR to that platform's data folder, or set GUST_API_KEY)`,
        );
      case 'none':
        return new CliError(
          `no API key: set GUST_API_KEY, or GUST_DATA_DIR to the data folder of \`gust up\` (no ${this.adminKeyPath})`,
        );
    }
  }

  private notGust(res: Response, method: string, apiPath: string): CliError {
    return new CliError(
      `${this.url} answered ${res.status} ${res.statusText} to ${method} ${API}${apiPath}, not as Gust does (does GUST_URL point at Gust?)`,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** `{"error": {"code", "message", "details"?}}`, the shape of every control API error. */
function apiError(body: unknown): { message: string; details: string[] } | undefined {
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
  const details = 'details' in error && Array.isArray(error.details) ? error.details.map(String) : [];
  return { message: error.message, details };
}
