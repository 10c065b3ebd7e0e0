/**
 * http: the request and response shapes the gateway's handlers speak once the socket has been read:
 * plain data in, plain data out, so that handlers are tested without a socket.
 */

import type { IncomingHttpHeaders } from 'node:http';
import { GustError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../lib/json-depth.js';

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

export function header(req: { headers: IncomingHttpHeaders }, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
