/**
 * lambda-http: API Gateway HTTP API payload format 2.0, so that Lambda handlers written for AWS
 * run unmodified on an HTTP route. Pure: the request becomes an event, the returned value a response.
 * Reference: the golden sample in test/fixtures/aws-events/apigw-v2-request.json.
 */
import { Buffer } from 'node:buffer';
import { checkResponseHeaders } from './headers.js';
import type { WireRequest, WireResponse } from './protocol.js';

export interface ApiGatewayV2Event {
  version: '2.0';
  routeKey: string;
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string>;
  queryStringParameters?: Record<string, string>;
  requestContext: ApiGatewayV2RequestContext;
  body?: string;
  pathParameters?: Record<string, string>;
  isBase64Encoded: boolean;
}

export interface ApiGatewayV2RequestContext {
  accountId: string;
  apiId: string;
  domainName: string;
  domainPrefix: string;
  http: { method: string; path: string; protocol: string; sourceIp: string; userAgent: string };
  requestId: string;
  routeKey: string;
  stage: string;
  time: string;
  timeEpoch: number;
}

export interface ApiGatewayV2Context {
  requestId: string;
  stage?: string;
  accountId?: string;
  apiId?: string;
  /** The invocation's own `traceparent`: it replaces the caller's, so the function passes on its span. */
  traceparent?: string;
}

/** Twelve digits like a real account id, but obviously not one. */
const DEFAULT_ACCOUNT_ID = '000000000000';
const DEFAULT_API_ID = 'gust';

export function toApiGatewayV2Event(req: WireRequest, ctx: ApiGatewayV2Context): ApiGatewayV2Event {
  const queryAt = req.url.indexOf('?');
  const rawPath = queryAt === -1 ? req.url : req.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? '' : req.url.slice(queryAt + 1);
  const { headers, cookies } = splitHeaders(req.headers);
  if (ctx.traceparent !== undefined) headers.traceparent = ctx.traceparent;
  const query = queryParameters(rawQueryString);
  const payload = bodyPayload(req.body, headers['content-type']);
  return {
    version: '2.0',
    routeKey: req.routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(query !== undefined && { queryStringParameters: query }),
    requestContext: requestContext(req, ctx, { headers, path: decodePath(rawPath) }),
    ...(payload !== undefined && { body: payload.body }),
    ...(Object.keys(req.params).length > 0 && { pathParameters: { ...req.params } }),
    isBase64Encoded: payload?.isBase64Encoded ?? false,
  };
}

function requestContext(
  req: WireRequest,
  ctx: ApiGatewayV2Context,
  parsed: { headers: Record<string, string>; path: string },
): ApiGatewayV2RequestContext {
  const domainName = parsed.headers.host ?? 'localhost';
  return {
    accountId: ctx.accountId ?? DEFAULT_ACCOUNT_ID,
    apiId: ctx.apiId ?? DEFAULT_API_ID,
    // Kept with its port: handlers build absolute URLs from it, which must work locally too.
    domainName,
    domainPrefix: hostname(domainName).split('.')[0] ?? '',
    http: {
      method: req.method,
      path: parsed.path,
      protocol: /^\d/.test(req.protocol) ? `HTTP/${req.protocol}` : req.protocol,
      sourceIp: req.sourceIp,
      userAgent: parsed.headers['user-agent'] ?? '',
    },
    requestId: ctx.requestId,
    routeKey: req.routeKey,
    stage: ctx.stage ?? '$default',
    time: clfTime(req.timeEpoch),
    timeEpoch: req.timeEpoch,
  };
}

/** Headers as AWS gives them: repeats joined with `,`; cookies moved out to their own list. */
function splitHeaders(pairs: WireRequest['headers']): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (const [rawName, value] of pairs) {
    const name = rawName.toLowerCase();
    if (name === 'cookie') {
      cookies.push(...parseCookies(value));
      continue;
    }
    const seen = headers[name];
    headers[name] = seen === undefined ? value : `${seen},${value}`;
  }
  return { headers, cookies };
}

/** AWS splits on `; `; trimming also copes with clients that omit the space. */
function parseCookies(header: string): string[] {
  return header
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c !== '');
}

/** Decoded as a form would be (`+` is a space, as AWS does); repeated keys joined with `,`. */
function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  let any = false;
  for (const [key, value] of new URLSearchParams(rawQueryString)) {
    const seen = params[key];
    params[key] = seen === undefined ? value : `${seen},${value}`;
    any = true;
  }
  return any ? params : undefined;
}

function decodePath(rawPath: string): string {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return rawPath; // malformed escapes: the raw form is more useful than a 500
  }
}

/** `example.com:8080` -> `example.com`; `[::1]:8080` -> `[::1]`. */
function hostname(host: string): string {
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? host);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Common Log Format in UTC, as AWS writes `requestContext.time`: `21/Apr/2020:15:08:21 +0000`. */
function clfTime(epochMs: number): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, '0');
  const date = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}`;
  return `${date}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
}

const TEXT_TYPES = [
  /^text\//,
  /^[^/]+\/(?:[^/]+\+)?json$/,
  /^[^/]+\/(?:[^/]+\+)?xml$/,
  /^application\/javascript$/,
  /^application\/x-www-form-urlencoded$/,
];

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body as AWS delivers it: text when the content type is textual (or absent) and the bytes
 * are valid UTF-8, base64 otherwise, so that binary uploads survive the trip through JSON.
 */
function bodyPayload(
  body: Uint8Array | null,
  contentType: string | undefined,
): { body: string; isBase64Encoded: boolean } | undefined {
  if (body === null || body.byteLength === 0) return undefined;
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType === undefined || TEXT_TYPES.some((t) => t.test(mediaType))) {
    const text = decodeUtf8(body);
    if (text !== undefined) return { body: text, isBase64Encoded: false };
  }
  const base64 = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
  return { body: base64, isBase64Encoded: true };
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * AWS's reading of a payload 2.0 result: an object with `statusCode` is a structured response;
 * any other value is JSON for a 200; `undefined` is an empty 200. Throws TypeError on a malformed
 * structured response, which the caller reports as a function error.
 */
export function fromLambdaResult(result: unknown): WireResponse {
  if (result === undefined) return { status: 200, headers: [], body: null };
  if (isRecord(result) && result.statusCode !== undefined) return structuredResponse(result);
  return {
    status: 200,
    headers: [['content-type', 'application/json']],
    body: utf8Bytes(JSON.stringify(result)),
  };
}

function structuredResponse(result: Record<string, unknown>): WireResponse {
  const { statusCode, headers, cookies, body, isBase64Encoded } = result;
  if (
    typeof statusCode !== 'number' ||
    !Number.isInteger(statusCode) ||
    statusCode < 100 ||
    statusCode > 599
  ) {
    throw new TypeError(
      `Lambda result statusCode must be an integer from 100 to 599, got ${JSON.stringify(statusCode)}`,
    );
  }
  const pairs = [...headerPairs(headers), ...cookiePairs(cookies)];
  checkResponseHeaders(pairs);
  return { status: statusCode, headers: pairs, body: responseBody(body, isBase64Encoded === true) };
}

function headerPairs(headers: unknown): [string, string][] {
  if (headers === undefined || headers === null) return [];
  if (!isRecord(headers)) throw new TypeError('Lambda result headers must be an object of name -> value');
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(headers)) {
    // AWS stringifies numbers and booleans; a missing value means no header.
    if (value !== undefined && value !== null) pairs.push([name.toLowerCase(), String(value)]);
  }
  return pairs;
}

function cookiePairs(cookies: unknown): [string, string][] {
  if (cookies === undefined || cookies === null) return [];
  if (!Array.isArray(cookies)) throw new TypeError('Lambda result cookies must be an array of strings');
  return cookies.map((cookie): [string, string] => ['set-cookie', String(cookie)]);
}

function responseBody(body: unknown, base64: boolean): Uint8Array | null {
  if (body === undefined || body === null || body === '') return null;
  if (typeof body !== 'string') {
    throw new TypeError(`Lambda result body must be a string (use JSON.stringify), got ${typeof body}`);
  }
  // A plain copy: a small Buffer is a view into a shared 8 KiB pool, all of which IPC would clone.
  return base64 ? new Uint8Array(Buffer.from(body, 'base64')) : utf8Bytes(body);
}

function utf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
