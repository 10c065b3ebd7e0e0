/**
 * `gust invoke NAME --path P`: an HTTP request to one of the function's own routes, through the
 * control API's `http` form, to real deployed functions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, type Gust, startGust, writeProject } from '../helpers/gust.js';
import { gust, jsonError } from './helpers.js';

const FILES = {
  'gust.yaml': `functions:
  price:
    handler: src/price.ts
    env: { CURRENCY: EUR }
    triggers:
      - http: { path: /price/:sku, methods: [GET, POST] }
  legacy:
    handler: src/legacy.mjs
    triggers:
      - http: { path: /legacy/:id }
  bytes:
    handler: src/bytes.mjs
    triggers:
      - http: { path: /bytes }
  stream:
    handler: src/stream.mjs
    triggers:
      - http: { path: /stream/:mb }
  broken:
    handler: src/broken.mjs
    triggers:
      - http: { path: /broken }
  plain:
    handler: src/plain.mjs
`,
  'src/price.ts': `import type { Context } from 'gust';
export default async function (req: Request, ctx: Context): Promise<Response> {
  console.log('pricing', ctx.params.sku);
  if (ctx.params.sku === 'none') return Response.json({ error: 'no such sku' }, { status: 404 });
  const url = new URL(req.url);
  return Response.json({
    sku: ctx.params.sku,
    currency: url.searchParams.get('currency') ?? ctx.env.CURRENCY,
    method: req.method,
    test: req.headers.get('x-test'),
    type: req.headers.get('content-type'),
    body: req.method === 'GET' ? null : await req.text(),
  });
}
`,
  'src/legacy.mjs': `export async function handler(event) {
  return { statusCode: 201, body: JSON.stringify({ id: event.pathParameters.id, path: event.rawPath }) };
}
`,
  'src/bytes.mjs': `export default () => new Response(new Uint8Array([0xff, 0x00, 0x80, 0x41]), {
  headers: { 'content-type': 'application/octet-stream' },
});
`,
  // a body made a megabyte at a time, each after a timer: streamed, not whole
  'src/stream.mjs': `export default (_req, ctx) => {
  const mb = Number(ctx.params.mb);
  let sent = 0;
  return new Response(new ReadableStream({
    async pull(controller) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (sent++ < mb) controller.enqueue(new Uint8Array(1024 * 1024).fill(0x61));
      else controller.close();
    },
  }), { headers: { 'content-type': 'text/plain' } });
};
`,
  'src/broken.mjs': `export default () => { throw new TypeError('price list missing'); };
`,
  'src/plain.mjs': `export async function handler() { return 1; }
`,
};

let g: Gust;
let env: Record<string, string>;

beforeAll(async () => {
  g = await startGust({ dir: await writeProject(FILES) });
  env = { GUST_URL: g.url, GUST_API_KEY: g.key };
});

afterAll(async () => {
  await g?.stop();
});

describe('gust invoke --path', () => {
  it('reaches ctx.params of a deployed function: the body on stdout, logs and the status on stderr', async () => {
    const { code, stdout, stderr } = await gust(['invoke', 'price', '--path', '/price/B-2'], { env });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      sku: 'B-2',
      currency: 'EUR',
      method: 'GET',
      test: null,
      type: null,
      body: null,
    });
    const [logs, summary] = stderr.trimEnd().split('\n');
    expect(logs).toMatch(/\tINFO\tpricing B-2$/);
    expect(summary).toMatch(
      /^price v1 {2}200 OK {2}\S+ ms \(billed \d+ ms, 128 MB(, cold start \S+ ms)?\) {2}\S+$/,
    );
  });

  it('sends --method, --header, the query and --data (as a JSON body) as an HTTP request', async () => {
    const { code, stdout } = await gust(
      [
        'invoke',
        'price',
        '--path',
        '/price/C-3?currency=USD',
        '--method',
        'post',
        '--header',
        'X-Test: yes: really',
        '--data',
        '{"quantity": 2}',
      ],
      { env },
    );
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({
      sku: 'C-3',
      currency: 'USD',
      method: 'POST',
      test: 'yes: really',
      type: 'application/json',
      body: '{"quantity": 2}',
    });
  });

  it('a status the function chose to answer, even 404, exits 0 with the status on stderr', async () => {
    const { code, stdout, stderr } = await gust(['invoke', 'price', '--path', '/price/none'], { env });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ error: 'no such sku' });
    expect(stderr).toMatch(/^price v1 {2}404 Not Found {2}/m);
  });

  it("a Lambda handler on the route gets the route's parameters, and its statusCode comes back", async () => {
    const { code, stdout } = await gust(['invoke', 'legacy', '--path', '/legacy/7', '--json'], { env });
    expect(code).toBe(0);
    const answer = JSON.parse(stdout) as { invocation: { trigger: string }; response: unknown };
    expect(answer.invocation.trigger).toBe('invoke');
    expect(answer.response).toEqual({
      status: 201,
      headers: {},
      body: '{"id":"7","path":"/legacy/7"}',
    });
  });

  it('a path none of its routes takes is refused naming them; so is a function without http triggers', async () => {
    const wrong = await gust(['invoke', 'price', '--path', '/prices'], { env });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      'gust: no route of price takes GET /prices; its routes: GET,POST /price/:sku\n',
    );
    const method = await gust(['invoke', 'price', '--path', '/price/A', '--method', 'DELETE', '--json'], {
      env,
    });
    expect(method.code).toBe(1);
    expect(jsonError(method.stderr)).toEqual({
      code: 'BAD_REQUEST',
      message: 'no route of price takes DELETE /price/A; its routes: GET,POST /price/:sku',
    });
    const none = await gust(['invoke', 'plain', '--path', '/'], { env });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(
      /^gust: plain has no http trigger, so no path to call: invoke it with an event/,
    );
  });

  it('a function that throws exits 1 naming its error; --json prints its record and a FUNCTION_ERROR', async () => {
    const text = await gust(['invoke', 'broken', '--path', '/broken'], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toBe('');
    expect(text.stderr).toMatch(
      /^gust: broken error: TypeError: price list missing \(see `gust logs broken --invocation \S+`\)\n$/,
    );
    const json = await gust(['invoke', 'broken', '--path', '/broken', '--json'], { env });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      invocation: { status: 'error' },
      error: { code: 'FUNCTION_ERROR' },
    });
    expect(jsonError(json.stderr)).toMatchObject({
      code: 'FUNCTION_ERROR',
      message: expect.stringMatching(/^broken error/),
    });
  });

  it('a body that is not UTF-8 text comes back as base64 in JSON, and as its bytes on stdout', async () => {
    const json = await gust(['invoke', 'bytes', '--path', '/bytes', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({
      response: { status: 200, body: '/wCAQQ==', base64: true },
    });
    const bytes = await gust(['invoke', 'bytes', '--path', '/bytes'], { env });
    expect(bytes.code).toBe(0);
    // decoded as text by the helper: the bytes are there, the invalid ones as replacement characters
    expect(Buffer.from(bytes.stdout)).toEqual(Buffer.from('\ufffd\u0000\ufffdA'));
  });

  it('a streamed response is collected whole', async () => {
    const { code, stdout } = await gust(['invoke', 'stream', '--path', '/stream/3'], { env });
    expect(code).toBe(0);
    expect(stdout).toHaveLength(3 * 1024 * 1024);
    expect(stdout).toMatch(/^a+$/);
  });

  it('a response over 6 MB is refused, saying how to get all of it', async () => {
    const { code, stdout, stderr } = await gust(['invoke', 'stream', '--path', '/stream/7'], { env });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(
      /^gust: stream \(invocation \S+\) answered more than 6 MB, which is as much as this API collects: call its route over HTTP \(GET \/stream\/7\) to get the whole of it\n$/,
    );
  });
});

describe('the http form of the invoke endpoint', () => {
  it.each([
    [{ data: 1, http: { path: '/price/A' } }, 'data and http exclude each other'],
    [{ http: { path: 'price/A' } }, 'http.path must be a path'],
    [{ http: { path: '/price/A', method: 'TRACE' } }, 'http.method must be one of'],
    [{ http: { path: '/price/A', headers: { 'bad name': 'x' } } }, 'is not a header name'],
    [{ http: { path: '/price/A', headers: { 'x-a': 'one\r\ntwo' } } }, 'http.headers.x-a must be a string'],
    [{ http: { path: '/price/A', body: 'x', base64: true, extra: 1 } }, 'unknown field "extra" in http'],
    [{ http: { path: '/price/A', body: '%%%', base64: true } }, 'http.body is not base64'],
    [{ http: '/price/A' }, 'http must be a JSON object'],
  ])('refuses %j with a 400 that says what is wrong', async (body, says) => {
    const r = await api<{ error: { code: string; message: string } }>(
      g,
      'POST',
      '/functions/price/invoke',
      body,
    );
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('BAD_REQUEST');
    expect(r.body.error.message).toContain(says);
  });

  it('takes a base64 body and repeated headers', async () => {
    const r = await api<{ response: { status: number; body: string } }>(
      g,
      'POST',
      '/functions/price/invoke',
      {
        http: {
          method: 'POST',
          path: '/price/D-4',
          headers: { 'x-test': ['a', 'b'] },
          body: Buffer.from('héllo').toString('base64'),
          base64: true,
        },
      },
    );
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body.response.body)).toMatchObject({ sku: 'D-4', test: 'a, b', body: 'héllo' });
  });
});

describe("a caller's trace", () => {
  const TRACE = '0af7651916cd43dd8448eb211c80319c';
  const SPAN = 'b7ad6b7169203331';
  const TRACEPARENT = `00-${TRACE}-${SPAN}-01`;
  /** The trace of the invocation `gust invoke … --json` made. */
  const traceOf = async (args: string[], extraEnv: Record<string, string> = {}) => {
    const r = await gust(['invoke', ...args, '--json'], { env: { ...env, ...extraEnv } });
    expect(r.code, r.stderr).toBe(0);
    const { invocation } = JSON.parse(r.stdout) as { invocation: { traceId: string; parentSpanId: string } };
    return { traceId: invocation.traceId, parentSpanId: invocation.parentSpanId };
  };
  const continued = { traceId: TRACE, parentSpanId: SPAN };

  it('is continued from --header traceparent, by an HTTP call (--path) and by an event', async () => {
    expect(
      await traceOf(['price', '--path', '/price/T-1', '--header', `traceparent: ${TRACEPARENT}`]),
    ).toEqual(continued);
    expect(await traceOf(['plain', '--data', '{}', '--header', `traceparent: ${TRACEPARENT}`])).toEqual(
      continued,
    );
  });

  it('is continued from TRACEPARENT in the environment; an explicit --header wins over it', async () => {
    const fromEnv = { TRACEPARENT };
    expect(await traceOf(['plain', '--data', '{}'], fromEnv)).toEqual(continued);
    expect(await traceOf(['price', '--path', '/price/T-2'], fromEnv)).toEqual(continued);
    const other = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    expect(await traceOf(['plain', '--header', `traceparent: ${other}`], fromEnv)).toEqual({
      traceId: '1'.repeat(32),
      parentSpanId: '2'.repeat(16),
    });
    // without any, a trace starts
    expect((await traceOf(['plain'])).parentSpanId).toBeNull();
  });

  it("is continued from the http form's own traceparent header by the control API", async () => {
    const r = await api<{ invocation: { traceId: string; parentSpanId: string } }>(
      g,
      'POST',
      '/functions/price/invoke',
      { http: { path: '/price/T-3', headers: { traceparent: TRACEPARENT } } },
    );
    expect(r.status).toBe(200);
    expect(r.body.invocation).toMatchObject(continued);
  });

  it('an event takes no other header: a usage error that says which option to use', async () => {
    const r = await gust(['invoke', 'plain', '--header', 'x-test: 1'], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'gust: --header x-test goes with --path (an HTTP request to one of its routes); an event takes only --header traceparent:… (the trace to continue)\n',
    );
  });
});
