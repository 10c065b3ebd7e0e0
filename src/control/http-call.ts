/**
 * http-call: the `http` form of the invoke endpoint as JSON, both ways. In: method, path (with its
 * query), headers and body, each checked so that what reaches a function is a request HTTP could
 * have carried. Out: the function's response, its body as text, or base64 when it is not UTF-8.
 */
import { GustError } from '../errors.js';
import { textOrBase64 } from '../lib/bytes.js';
import { HTTP_METHODS } from '../manifest/schema.js';
import type { WireResponse } from '../runtime/types.js';
import { objectOf } from './body.js';

export interface HttpCall {
  readonly method: string;
  /** Path and query, as a request line has them. */
  readonly url: string;
  readonly pathname: string;
  /** Names in lower case, as the gateway passes them. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
}

export interface HttpAnswer {
  readonly status: number;
  /** Names in lower case; a repeated header (set-cookie) as an array. */
  readonly headers: Readonly<Record<string, string | string[]>>;
  readonly body: string;
  /** The body is base64: its bytes are not UTF-8 text. */
  readonly base64?: true;
}

/** A request line longer than this would not pass the gateway's head limit either. */
const MAX_PATH = 8192;
/** A header name (RFC 9110 token). */
export const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Tab, visible ASCII, and bytes past it (obs-text); no CR, LF or NUL, which would split a header. */
export const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function readHttpCall(value: unknown): HttpCall {
  const http = objectOf(value, ['method', 'path', 'headers', 'body', 'base64'], 'http');
  const { path, body, base64 } = http;
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > MAX_PATH || /[\s#]/.test(path)) {
    throw new GustError(
      'BAD_REQUEST',
      `http.path must be a path and query such as /price/B-2?currency=EUR: starting with /, without spaces or #, at most ${MAX_PATH} characters`,
    );
  }
  if (body !== undefined && typeof body !== 'string')
    throw new GustError('BAD_REQUEST', 'http.body must be a string');
  if (base64 !== undefined && typeof base64 !== 'boolean')
    throw new GustError('BAD_REQUEST', 'http.base64 must be true or false');
  if (base64 === true && !BASE64.test(body ?? ''))
    throw new GustError('BAD_REQUEST', 'http.body is not base64');
  const q = path.indexOf('?');
  return {
    method: readMethod(http.method, body !== undefined),
    url: path,
    pathname: q < 0 ? path : path.slice(0, q),
    headers: readHeaders(http.headers),
    body: body === undefined ? null : Buffer.from(body, base64 === true ? 'base64' : 'utf8'),
  };
}

/** Default: POST with a body, GET without (as curl does). */
function readMethod(value: unknown, hasBody: boolean): string {
  if (value === undefined) return hasBody ? 'POST' : 'GET';
  const method = typeof value === 'string' ? value.toUpperCase() : '';
  if (!(HTTP_METHODS as readonly string[]).includes(method)) {
    throw new GustError('BAD_REQUEST', `http.method must be one of ${HTTP_METHODS.join(', ')}`);
  }
  return method;
}

/** `{"name": "value"}`, or `{"name": ["value", ...]}` for a header sent more than once. */
function readHeaders(value: unknown): [string, string][] {
  if (value === undefined) return [];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GustError('BAD_REQUEST', 'http.headers must be an object of header name to value');
  }
  const pairs: [string, string][] = [];
  for (const [name, values] of Object.entries(value)) {
    if (!TOKEN.test(name)) {
      throw new GustError(
        'BAD_REQUEST',
        `http.headers: ${JSON.stringify(name.slice(0, 40))} is not a header name`,
      );
    }
    for (const v of Array.isArray(values) ? values : [values]) {
      if (typeof v !== 'string' || !HEADER_VALUE.test(v)) {
        throw new GustError(
          'BAD_REQUEST',
          `http.headers.${name} must be a string (or strings) without line breaks or control characters`,
        );
      }
      pairs.push([name.toLowerCase(), v.trim()]);
    }
  }
  return pairs;
}

export function httpAnswer(response: WireResponse): HttpAnswer {
  // no prototype: a header named __proto__ is a header like any other
  const headers: Record<string, string | string[]> = Object.create(null);
  for (const [k, v] of response.headers) {
    const name = k.toLowerCase();
    const had = headers[name];
    headers[name] = had === undefined ? v : [...(Array.isArray(had) ? had : [had]), v];
  }
  return { status: response.status, headers, ...textOrBase64(response.body ?? new Uint8Array(0)) };
}
