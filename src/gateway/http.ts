/**
 * http: the request and response shapes the gateway's handlers speak once the socket has been read:
 * plain data in, plain data out, so that handlers are tested without a socket.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GustError } from '../errors.js';

export interface EdgeRequest {
  readonly method: string;
  /** Raw path and query as received. */
  readonly url: string;
  readonly pathname: string;
  /** Raw query string without `?`. */
  readonly query: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly sourceIp: string;
}

export interface EdgeResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
}

export type EdgeHandler = (req: EdgeRequest) => Promise<EdgeResponse>;

/** A JSON answer with a status other than 200 (202 Accepted), for handlers that answer plain data. */
export class Answer {
  constructor(
    readonly status: number,
    readonly value: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): EdgeResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

export function errorResponse(e: unknown): EdgeResponse {
  const err = e instanceof GustError ? e : new GustError('INTERNAL', 'internal error: see the platform log');
  const extra: Record<string, string> =
    err.status === 429 ? { 'retry-after': String(err.retryAfterSeconds ?? 1) } : {};
  return json(err.status, err.toJSON(), extra);
}

/**
 * Deeper JSON is refused at the door: JSON.parse takes any depth, but JSON.stringify recurses, and
 * the value is stringified again on its way to an instance (a stack overflow there kills Gust).
 */
export const MAX_JSON_DEPTH = 1000;

/** Parses a JSON body, or throws BAD_REQUEST saying why. An empty body is `undefined`. */
export function parseJsonBody(req: EdgeRequest): unknown {
  if (req.body.length === 0) return undefined;
  const text = req.body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw new GustError('BAD_REQUEST', `the request body is not valid JSON: ${(e as Error).message}`);
  }
  if (nestsTooDeep(text)) {
    throw new GustError(
      'BAD_REQUEST',
      `the request body nests arrays and objects over ${MAX_JSON_DEPTH} deep`,
    );
  }
  return value;
}

/** Whether the arrays and objects of a valid JSON text nest deeper than MAX_JSON_DEPTH. */
export function nestsTooDeep(json: string): boolean {
  if (json.length <= 2 * MAX_JSON_DEPTH) return false; // each level takes two characters
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    // in a string, a backslash escapes the next character (which may be a quote)
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

export function header(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
