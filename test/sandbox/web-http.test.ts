import { describe, expect, it } from 'vitest';
import type { WireRequest, WireResponse } from '../../src/runtime/sandbox/protocol.js';
import {
  isResponse,
  type ResponseSender,
  readWebResponse,
  toWebRequest,
} from '../../src/runtime/sandbox/web-http.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function wireRequest(overrides: Partial<WireRequest> = {}): WireRequest {
  return {
    method: 'GET',
    url: '/',
    headers: [['host', 'example.test']],
    body: null,
    params: {},
    routeKey: '$default',
    sourceIp: '127.0.0.1',
    protocol: 'HTTP/1.1',
    timeEpoch: 0,
    ...overrides,
  };
}

type Sent =
  | { kind: 'whole'; response: WireResponse }
  | { kind: 'head'; status: number; headers: [string, string][] }
  | { kind: 'chunk'; text: string }
  | { kind: 'end' }
  | { kind: 'marker'; label: string };

/** A sender that records what it was asked to send, in order. */
function recorder(): { sent: Sent[]; send: ResponseSender } {
  const sent: Sent[] = [];
  const send: ResponseSender = {
    whole: (response) => sent.push({ kind: 'whole', response }),
    head: (status, headers) => sent.push({ kind: 'head', status, headers }),
    chunk: (data) => sent.push({ kind: 'chunk', text: decoder.decode(data) }),
    end: () => sent.push({ kind: 'end' }),
  };
  return { sent, send };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('toWebRequest', () => {
  it('builds the URL from the host header and the raw path and query', () => {
    const req = toWebRequest(wireRequest({ url: '/items/a%20b?x=1&x=2' }));
    expect(req.url).toBe('http://example.test/items/a%20b?x=1&x=2');
  });

  it('uses https when the proxy in front says x-forwarded-proto: https', () => {
    const headers: [string, string][] = [
      ['host', 'example.test:8443'],
      ['x-forwarded-proto', 'https, http'],
    ];
    expect(toWebRequest(wireRequest({ headers })).url).toBe('https://example.test:8443/');
  });

  it('falls back to localhost when the host header is missing or could rewrite the path', () => {
    expect(toWebRequest(wireRequest({ headers: [] })).url).toBe('http://localhost/');
    const evil = wireRequest({ url: '/p', headers: [['host', 'evil.test/@x']] });
    expect(toWebRequest(evil).url).toBe('http://localhost/p');
  });

  it('appends repeated headers instead of keeping only the last one', () => {
    const headers: [string, string][] = [
      ['host', 'example.test'],
      ['x-tag', 'one'],
      ['x-tag', 'two'],
    ];
    expect(toWebRequest(wireRequest({ headers })).headers.get('x-tag')).toBe('one, two');
  });

  it("carries the invocation's own traceparent in place of the caller's", () => {
    const own = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;
    const headers: [string, string][] = [['traceparent', `00-${'a'.repeat(32)}-${'c'.repeat(16)}-01`]];
    expect(toWebRequest(wireRequest({ headers }), own).headers.get('traceparent')).toBe(own);
  });

  it('passes the body of a POST byte for byte', async () => {
    const body = new Uint8Array([0, 1, 2, 254, 255]);
    const req = toWebRequest(wireRequest({ method: 'POST', body }));
    expect(req.method).toBe('POST');
    expect(new Uint8Array(await req.arrayBuffer())).toEqual(body);
  });

  it('never gives a GET or HEAD request a body, even when bytes arrived', () => {
    for (const method of ['GET', 'HEAD']) {
      const req = toWebRequest(wireRequest({ method, body: encoder.encode('ignored') }));
      expect(req.body).toBeNull();
    }
  });
});

describe('readWebResponse', () => {
  it('sends a string body as one whole response', async () => {
    const { sent, send } = recorder();
    await readWebResponse(new Response('hi', { status: 201 }), send);
    expect(sent).toHaveLength(1);
    const first = sent[0];
    if (first?.kind !== 'whole') throw new Error(`expected whole, got ${first?.kind}`);
    expect(first.response.status).toBe(201);
    expect(decoder.decode(first.response.body ?? new Uint8Array())).toBe('hi');
    expect(first.response.headers).toContainEqual(['content-type', 'text/plain;charset=UTF-8']);
  });

  it('sends Response.json as one whole response with its content type', async () => {
    const { sent, send } = recorder();
    await readWebResponse(Response.json({}), send);
    expect(sent.map((s) => s.kind)).toEqual(['whole']);
    const first = sent[0];
    if (first?.kind !== 'whole') throw new Error('expected whole');
    expect(decoder.decode(first.response.body ?? new Uint8Array())).toBe('{}');
    expect(first.response.headers).toContainEqual(['content-type', 'application/json']);
  });

  it('sends a bodiless response whole with a null body', async () => {
    const { sent, send } = recorder();
    await readWebResponse(new Response(null, { status: 204 }), send);
    expect(sent).toEqual([{ kind: 'whole', response: { status: 204, headers: [], body: null } }]);
  });

  it('streams a body that waits between chunks: head, each chunk as produced, then end', async () => {
    const { sent, send } = recorder();
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('data: one\n\n'));
        await sleep(50);
        sent.push({ kind: 'marker', label: 'second chunk produced' });
        controller.enqueue(encoder.encode('data: two\n\n'));
        controller.close();
      },
    });
    const res = new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    await readWebResponse(res, send);
    // The marker between the chunks proves the first one left before the second existed.
    expect(sent).toEqual([
      { kind: 'head', status: 200, headers: [['content-type', 'text/event-stream']] },
      { kind: 'chunk', text: 'data: one\n\n' },
      { kind: 'marker', label: 'second chunk produced' },
      { kind: 'chunk', text: 'data: two\n\n' },
      { kind: 'end' },
    ]);
  });

  it('keeps every set-cookie header separate', async () => {
    const { sent, send } = recorder();
    const headers = new Headers([['x-one', '1']]);
    headers.append('set-cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT');
    headers.append('set-cookie', 'b=2');
    await readWebResponse(new Response('ok', { headers }), send);
    const first = sent[0];
    if (first?.kind !== 'whole') throw new Error('expected whole');
    expect(first.response.headers.filter(([name]) => name === 'set-cookie')).toEqual([
      ['set-cookie', 'a=1; Expires=Wed, 21 Oct 2026 07:28:00 GMT'],
      ['set-cookie', 'b=2'],
    ]);
    expect(first.response.headers).toContainEqual(['x-one', '1']);
  });

  it('rejects with a clear TypeError when the body stream yields strings instead of bytes', async () => {
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue('not bytes');
        controller.close();
      },
    });
    const { send } = recorder();
    await expect(readWebResponse(new Response(body), send)).rejects.toThrow(/must be Uint8Array, got string/);
  });

  it('rejects when the body stream errors after streaming has begun', async () => {
    const body = new ReadableStream<Uint8Array>({
      async start(controller) {
        controller.enqueue(encoder.encode('partial'));
        await sleep(10);
        controller.error(new Error('upstream died'));
      },
    });
    const { sent, send } = recorder();
    await expect(readWebResponse(new Response(body), send)).rejects.toThrow('upstream died');
    expect(sent.map((s) => s.kind)).toEqual(['head', 'chunk']);
  });
});

describe('isResponse', () => {
  it('accepts a Response and rejects look-alike plain objects', () => {
    expect(isResponse(new Response('x'))).toBe(true);
    expect(isResponse({ status: 200, headers: {}, body: 'x' })).toBe(false);
    expect(isResponse(null)).toBe(false);
    expect(isResponse('x')).toBe(false);
  });

  it('accepts a Response from another implementation, recognised by its tag', async () => {
    const foreign = Object.assign(Object.create({ [Symbol.toStringTag]: 'Response' }), {
      status: 202,
      statusText: 'Accepted',
      headers: new Headers([['x-from', 'polyfill']]),
      body: new Response('bytes').body,
    });
    expect(isResponse(foreign)).toBe(true);
    const { sent, send } = recorder();
    await readWebResponse(foreign, send);
    const first = sent[0];
    if (first?.kind !== 'whole') throw new Error('expected whole');
    expect(first.response.status).toBe(202);
    expect(first.response.headers).toContainEqual(['x-from', 'polyfill']);
    expect(decoder.decode(first.response.body ?? new Uint8Array())).toBe('bytes');
  });
});
