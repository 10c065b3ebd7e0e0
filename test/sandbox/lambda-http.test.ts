import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromLambdaResult, toApiGatewayV2Event } from '../../src/runtime/sandbox/lambda-http.js';
import type { WireRequest, WireResponse } from '../../src/runtime/sandbox/protocol.js';

const goldenUrl = new URL('../fixtures/aws-events/apigw-v2-request.json', import.meta.url);
const golden: unknown = JSON.parse(readFileSync(goldenUrl, 'utf8'));

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ctx = { requestId: 'req-1' };

/** The request AWS turned into the golden sample, as it reaches an instance. */
function goldenRequest(): WireRequest {
  return {
    method: 'GET',
    url: '/',
    headers: [
      ['accept', '*/*'],
      ['content-length', '0'],
      ['host', 'aaaaaaaaaa.execute-api.us-west-2.amazonaws.com'],
      ['user-agent', 'curl/7.58.0'],
      ['x-amzn-trace-id', 'Root=1-5e9f0c65-1de4d666d4dd26aced652b6c'],
      ['x-forwarded-for', '1.2.3.4'],
      ['x-forwarded-port', '443'],
      ['x-forwarded-proto', 'https'],
    ],
    body: null,
    params: {},
    routeKey: '$default',
    sourceIp: '1.2.3.4',
    protocol: 'HTTP/1.1',
    timeEpoch: 1587481701067,
  };
}

function wireRequest(overrides: Partial<WireRequest> = {}): WireRequest {
  return { ...goldenRequest(), ...overrides };
}

/** Keys and value types, recursively: what a handler written against AWS may rely on. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return value === null ? 'null' : typeof value;
}

function bodyText(res: WireResponse): string {
  return decoder.decode(res.body ?? new Uint8Array());
}

describe('toApiGatewayV2Event', () => {
  it('produces the keys and value types of the golden AWS sample, field for field', () => {
    const ids = { requestId: 'LV7fzho-PHcEJPw=', accountId: '123456789012', apiId: 'aaaaaaaaaa' };
    const event = toApiGatewayV2Event(goldenRequest(), ids);
    expect(shapeOf(event)).toEqual(shapeOf(golden));
  });

  it('reproduces the golden sample value for value given the same request and ids', () => {
    const ids = { requestId: 'LV7fzho-PHcEJPw=', accountId: '123456789012', apiId: 'aaaaaaaaaa' };
    expect(toApiGatewayV2Event(goldenRequest(), ids)).toEqual(golden);
  });

  it('defaults the stage to $default and honours one given', () => {
    expect(toApiGatewayV2Event(wireRequest(), ctx).requestContext.stage).toBe('$default');
    expect(toApiGatewayV2Event(wireRequest(), { ...ctx, stage: 'prod' }).requestContext.stage).toBe('prod');
  });

  it('moves cookies out of the headers into a list, across several cookie headers', () => {
    const headers: [string, string][] = [
      ['host', 'example.test'],
      ['cookie', 'a=1; b=2'],
      ['cookie', 'c=3'],
    ];
    const event = toApiGatewayV2Event(wireRequest({ headers }), ctx);
    expect(event.cookies).toEqual(['a=1', 'b=2', 'c=3']);
    expect(event.headers).not.toHaveProperty('cookie');
  });

  it('omits cookies when the request has none', () => {
    expect(toApiGatewayV2Event(wireRequest(), ctx)).not.toHaveProperty('cookies');
  });

  it('joins repeated headers with a comma and lower-cases their names', () => {
    const headers: [string, string][] = [
      ['host', 'example.test'],
      ['X-Tag', 'one'],
      ['x-tag', 'two'],
    ];
    expect(toApiGatewayV2Event(wireRequest({ headers }), ctx).headers['x-tag']).toBe('one,two');
  });

  it("carries the invocation's own traceparent in place of the caller's", () => {
    const own = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const headers: [string, string][] = [['traceparent', `00-${'a'.repeat(32)}-${'c'.repeat(16)}-01`]];
    expect(
      toApiGatewayV2Event(wireRequest({ headers }), { ...ctx, traceparent: own }).headers.traceparent,
    ).toBe(own);
  });

  it('decodes query parameters, joining repeated keys with a comma, and keeps the raw string', () => {
    const event = toApiGatewayV2Event(wireRequest({ url: '/search?a=1&a=2&b=x%20y&c=d+e&flag' }), ctx);
    expect(event.rawQueryString).toBe('a=1&a=2&b=x%20y&c=d+e&flag');
    expect(event.queryStringParameters).toEqual({ a: '1,2', b: 'x y', c: 'd e', flag: '' });
  });

  it('omits queryStringParameters when there is no query', () => {
    const event = toApiGatewayV2Event(wireRequest({ url: '/search?' }), ctx);
    expect(event.rawQueryString).toBe('');
    expect(event).not.toHaveProperty('queryStringParameters');
  });

  it('keeps rawPath undecoded and decodes requestContext.http.path', () => {
    const event = toApiGatewayV2Event(wireRequest({ url: '/files/a%20b%C3%A9?x=1' }), ctx);
    expect(event.rawPath).toBe('/files/a%20b%C3%A9');
    expect(event.requestContext.http.path).toBe('/files/a bé');
  });

  it('copies the route parameters into pathParameters, and omits them when there are none', () => {
    const withParams = toApiGatewayV2Event(wireRequest({ url: '/items/42', params: { id: '42' } }), ctx);
    expect(withParams.pathParameters).toEqual({ id: '42' });
    expect(toApiGatewayV2Event(wireRequest(), ctx)).not.toHaveProperty('pathParameters');
  });

  it('takes the domain prefix from the host without its port', () => {
    const headers: [string, string][] = [['host', 'api.example.test:8080']];
    const { requestContext } = toApiGatewayV2Event(wireRequest({ headers }), ctx);
    expect(requestContext.domainName).toBe('api.example.test:8080');
    expect(requestContext.domainPrefix).toBe('api');
  });

  it('passes a JSON body as text', () => {
    const headers: [string, string][] = [['content-type', 'application/json; charset=utf-8']];
    const event = toApiGatewayV2Event(
      wireRequest({ method: 'POST', headers, body: encoder.encode('{"a":1}') }),
      ctx,
    );
    expect(event.body).toBe('{"a":1}');
    expect(event.isBase64Encoded).toBe(false);
  });

  it('treats vendor +json and +xml types as text', () => {
    for (const type of ['application/vnd.api+json', 'application/atom+xml', 'text/csv']) {
      const headers: [string, string][] = [['content-type', type]];
      const event = toApiGatewayV2Event(
        wireRequest({ method: 'POST', headers, body: encoder.encode('x') }),
        ctx,
      );
      expect(event.isBase64Encoded, type).toBe(false);
    }
  });

  it('base64-encodes a text content type whose bytes are not valid UTF-8', () => {
    const headers: [string, string][] = [['content-type', 'text/plain']];
    const event = toApiGatewayV2Event(
      wireRequest({ method: 'POST', headers, body: new Uint8Array([0xff]) }),
      ctx,
    );
    expect(event).toMatchObject({ body: '/w==', isBase64Encoded: true });
  });

  it('decides by the bytes alone when there is no content type', () => {
    const text = toApiGatewayV2Event(wireRequest({ method: 'POST', body: encoder.encode('hello') }), ctx);
    expect(text).toMatchObject({ body: 'hello', isBase64Encoded: false });
    const binary = toApiGatewayV2Event(wireRequest({ method: 'POST', body: new Uint8Array([0xc3]) }), ctx);
    expect(binary).toMatchObject({ body: 'ww==', isBase64Encoded: true });
  });

  it('round-trips a binary body: base64 into the event, base64 out of the result, same bytes', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const headers: [string, string][] = [['content-type', 'application/octet-stream']];
    const event = toApiGatewayV2Event(wireRequest({ method: 'PUT', headers, body: bytes }), ctx);
    expect(event.isBase64Encoded).toBe(true);
    expect(new Uint8Array(Buffer.from(event.body ?? '', 'base64'))).toEqual(bytes);
    const res = fromLambdaResult({ statusCode: 200, body: event.body, isBase64Encoded: true });
    expect(res.body).toEqual(bytes);
  });

  it('omits the body when the request has none', () => {
    const event = toApiGatewayV2Event(wireRequest({ method: 'POST', body: new Uint8Array() }), ctx);
    expect(event).not.toHaveProperty('body');
    expect(event.isBase64Encoded).toBe(false);
  });
});

describe('fromLambdaResult', () => {
  it('maps a structured response: status, stringified headers, one set-cookie per cookie, body', () => {
    const res = fromLambdaResult({
      statusCode: 201,
      headers: { 'Content-Type': 'text/plain', 'x-count': 3, 'x-ok': true },
      multiValueHeaders: { 'x-ignored': ['a', 'b'] },
      cookies: ['a=1; Path=/', 'b=2'],
      body: 'created',
    });
    expect(res.status).toBe(201);
    expect(res.headers).toEqual([
      ['content-type', 'text/plain'],
      ['x-count', '3'],
      ['x-ok', 'true'],
      ['set-cookie', 'a=1; Path=/'],
      ['set-cookie', 'b=2'],
    ]);
    expect(bodyText(res)).toBe('created');
  });

  it('decodes a base64 body when isBase64Encoded is true', () => {
    const res = fromLambdaResult({
      statusCode: 200,
      body: Buffer.from([1, 2, 3]).toString('base64'),
      isBase64Encoded: true,
    });
    expect(res.body).toEqual(new Uint8Array([1, 2, 3]));
  });

  it('gives a structured response without a body an empty body', () => {
    expect(fromLambdaResult({ statusCode: 204 })).toEqual({ status: 204, headers: [], body: null });
  });

  it('sends any other value as JSON with status 200', () => {
    const cases: unknown[] = [{ message: 'hi' }, [1, 2], 42, 'hello', true, null];
    for (const value of cases) {
      const res = fromLambdaResult(value);
      expect(res.status).toBe(200);
      expect(res.headers).toEqual([['content-type', 'application/json']]);
      expect(bodyText(res)).toBe(JSON.stringify(value));
    }
  });

  it('sends undefined as an empty 200 without a content type', () => {
    expect(fromLambdaResult(undefined)).toEqual({ status: 200, headers: [], body: null });
  });

  it('rejects a statusCode that is not an integer from 100 to 599 with a TypeError', () => {
    for (const statusCode of [99, 600, 200.5, Number.NaN, '200', null]) {
      expect(() => fromLambdaResult({ statusCode }), String(statusCode)).toThrow(TypeError);
    }
    expect(() => fromLambdaResult({ statusCode: 700 })).toThrow(
      /statusCode must be an integer from 100 to 599, got 700/,
    );
  });

  it('rejects a body that is not a string, as AWS does, instead of sending garbage', () => {
    expect(() => fromLambdaResult({ statusCode: 200, body: { a: 1 } })).toThrow(/body must be a string/);
  });
});
