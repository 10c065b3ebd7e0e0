import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  deployProject,
  type Gust,
  type InvocationRecord,
  records,
  startGust,
  WAIT,
} from '../helpers/gust.js';

const WEB = `
import type { Context } from 'gust';
export default async function (req: Request, ctx: Context): Promise<Response> {
  const url = new URL(req.url);
  if (url.pathname.startsWith('/web/echo')) {
    const bytes = new Uint8Array(await req.arrayBuffer());
    return new Response(bytes, { headers: { 'content-type': 'application/octet-stream' } });
  }
  if (url.pathname === '/web/stream') {
    let n = 0;
    const stream = new ReadableStream({
      async pull(controller) {
        if (n === 3) return controller.close();
        await new Promise((r) => setTimeout(r, 150));
        controller.enqueue(new TextEncoder().encode('data: tick ' + n++ + '\\n\\n'));
      },
    });
    return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
  }
  const headers = new Headers({ 'content-type': 'application/json' });
  headers.append('set-cookie', 'a=1; Path=/');
  headers.append('set-cookie', 'b=2; Path=/');
  return new Response(JSON.stringify({
    params: ctx.params, q: url.searchParams.get('q'), cookie: req.headers.get('cookie'), method: req.method,
    fn: ctx.functionName, remaining: ctx.getRemainingTimeInMillis(),
  }), { status: 201, headers });
}
`;

const LAMBDA = `
exports.handler = async (event, context) => {
  if (event.rawPath === '/aws/bin') {
    return { statusCode: 200, isBase64Encoded: true, headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from(Buffer.from(event.body, 'base64').reverse()).toString('base64') };
  }
  if (event.rawPath === '/aws/plain') return { plain: true, id: context.awsRequestId };
  return {
    statusCode: 202,
    headers: { 'x-route': event.routeKey },
    cookies: ['c=3', 'd=4'],
    body: JSON.stringify({ params: event.pathParameters, query: event.queryStringParameters, raw: event.rawQueryString,
      cookies: event.cookies, method: event.requestContext.http.method, remaining: context.getRemainingTimeInMillis(),
      name: context.functionName }),
  };
};
`;

let g: Gust;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
functions:
  web:
    handler: src/web.ts
    triggers:
      - http: { path: /web/items/:id }
      - http: { path: /web/echo, methods: [POST] }
      - http: { path: /web/stream, methods: [GET] }
  aws:
    handler: src/aws.js
    timeout: 5s
    triggers:
      - http: { path: /aws/users/:user/posts/:post }
      - http: { path: /aws/bin, methods: [POST] }
      - http: { path: /aws/plain }
  forever:
    handler: src/forever.mjs
    timeout: 20s
    triggers:
      - http: { path: /forever }
  chatter:
    handler: src/chatter.mjs
    concurrency: 4
    triggers:
      - http: { path: /chatter/:n }
`,
    'src/forever.mjs': `export default () => {
  let n = 0;
  let timer;
  const stream = new ReadableStream({
    start(controller) {
      timer = setInterval(() => controller.enqueue(new TextEncoder().encode('data: ' + n++ + '\\n\\n')), 50);
    },
    cancel() {
      clearInterval(timer);
      console.log('cancelled after ' + n);
    },
  });
  return new Response(stream, { headers: { 'content-type': 'text/event-stream' } });
};`,
    'src/chatter.mjs': `export default async (req, ctx) => {
  console.log('start ' + ctx.params.n);
  await new Promise((r) => setTimeout(r, 50 + 20 * Number(ctx.params.n)));
  console.log('end ' + ctx.params.n);
  ctx.log.info('via ctx ' + ctx.params.n);
  return new Response(ctx.params.n);
};`,
    'src/web.ts': WEB,
    'src/aws.js': LAMBDA,
  });
});

afterAll(async () => {
  await g?.stop();
});

describe('web-standard handlers', () => {
  it('get path parameters, the query, cookies, and may set several cookies', async () => {
    const res = await fetch(`${g.url}/web/items/a%20b?q=42`, { headers: { cookie: 'x=1; y=2' } });
    expect(res.status).toBe(201);
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/']);
    const body = await res.json();
    expect(body).toMatchObject({
      params: { id: 'a b' },
      q: '42',
      cookie: 'x=1; y=2',
      method: 'GET',
      fn: 'web',
    });
    expect(body.remaining).toBeGreaterThan(25_000);
    expect(res.headers.get('x-gust-invocation-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('round-trip a binary body byte for byte', async () => {
    const bytes = new Uint8Array(70_000).map((_, i) => (i * 7) % 256);
    const res = await fetch(`${g.url}/web/echo`, { method: 'POST', body: bytes });
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  it('stream a response to the client as it is produced', async () => {
    const res = await fetch(`${g.url}/web/stream`);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    const arrivals: number[] = [];
    let text = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      arrivals.push(Date.now());
      text += new TextDecoder().decode(value);
    }
    expect(text).toBe('data: tick 0\n\ndata: tick 1\n\ndata: tick 2\n\n');
    expect(arrivals.length).toBeGreaterThanOrEqual(3);
    // The pieces came apart in time: the first long before the last.
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(200);
  });
});

describe('a streamed response whose client goes away', () => {
  it('is cancelled in the function, recorded ok, and leaves its instance serving', async () => {
    const abort = new AbortController();
    const res = await fetch(`${g.url}/forever`, { signal: abort.signal });
    const id = res.headers.get('x-gust-invocation-id')!;
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    abort.abort();
    await vi.waitFor(
      async () => {
        const r = await api<InvocationRecord>(g, 'GET', `/invocations/${id}`);
        expect(r.status).toBe(200);
        expect(r.body.status).toBe('ok');
        expect(r.body.logs).toContain('cancelled after');
      },
      { ...WAIT, interval: 100 },
    );
    const first = (await api<InvocationRecord>(g, 'GET', `/invocations/${id}`)).body;
    const again = new AbortController();
    const next = await fetch(`${g.url}/forever`, { signal: again.signal });
    const nextId = next.headers.get('x-gust-invocation-id')!;
    await next.body!.getReader().read();
    again.abort();
    await vi.waitFor(
      async () => {
        const r = await api<InvocationRecord>(g, 'GET', `/invocations/${nextId}`);
        expect(r.body.status).toBe('ok');
        expect(r.body.cold).toBe(false);
        expect(r.body.instance).toBe(first.instance);
      },
      { ...WAIT, interval: 100 },
    );
  });
});

describe('Lambda-style handlers', () => {
  it('get the API Gateway v2 event and have their response mapped', async () => {
    const res = await fetch(`${g.url}/aws/users/u1/posts/p2?a=1&a=2&b=x`, {
      headers: { cookie: 'k=v; m=n' },
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-route')).toBe('ANY /aws/users/{user}/posts/{post}');
    expect(res.headers.getSetCookie()).toEqual(['c=3', 'd=4']);
    const body = await res.json();
    expect(body).toMatchObject({
      params: { user: 'u1', post: 'p2' },
      query: { a: '1,2', b: 'x' },
      raw: 'a=1&a=2&b=x',
      cookies: ['k=v', 'm=n'],
      method: 'GET',
      name: 'aws',
    });
    expect(body.remaining).toBeGreaterThan(1000);
    expect(body.remaining).toBeLessThanOrEqual(5000);
  });

  it('round-trip a binary body through base64 both ways', async () => {
    const bytes = new Uint8Array([0, 255, 1, 254, 2, 253, 128]);
    const res = await fetch(`${g.url}/aws/bin`, {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'image/png' },
    });
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.slice().reverse());
  });

  it('turn a plain returned object into a 200 JSON body, as AWS does', async () => {
    const res = await fetch(`${g.url}/aws/plain`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toMatchObject({ plain: true, id: res.headers.get('x-gust-invocation-id') });
  });
});

describe('console output', () => {
  it('is kept apart per invocation when one instance serves several at once', async () => {
    const answers = await Promise.all(
      [1, 2, 3, 4].map(async (n) => (await fetch(`${g.url}/chatter/${n}`)).text()),
    );
    expect(answers).toEqual(['1', '2', '3', '4']);
    const list = await records(g, 'chatter');
    expect(new Set(list.map((r) => r.instance)).size).toBe(1);
    for (const r of list) {
      const n = r.logs.match(/start (\d)/)?.[1];
      expect(r.logs).toContain(`end ${n}`);
      expect(r.logs).toContain(`via ctx ${n}`);
      expect(r.logs.match(/start \d/g)).toHaveLength(1);
    }
  });
});

describe('invocation records', () => {
  it('show a cold first call then warm ones, with the fields of the record', async () => {
    for (let i = 0; i < 3; i++) await (await fetch(`${g.url}/aws/plain`)).text();
    const list = (await records(g, 'aws')).filter((r) => r.trigger === 'http');
    const oldestFirst = [...list].reverse();
    expect(oldestFirst[0]!.cold).toBe(true);
    expect(oldestFirst[0]!.initMs).toBeGreaterThan(0);
    expect(oldestFirst.slice(1).every((r) => !r.cold && r.initMs === 0)).toBe(true);
    for (const r of list) {
      expect(r.status).toBe('ok');
      expect(r.billedMs).toBe(Math.max(1, Math.ceil(r.durationMs + (r.cold ? r.initMs : 0))));
      expect(r.gbSeconds).toBeCloseTo((r.memoryMb / 1024) * (r.billedMs / 1000), 10);
      expect(r.memoryMb).toBe(128);
      expect(r.instance).toMatch(/^i-/);
      expect(r.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(Date.parse(r.start)).toBeGreaterThan(Date.now() - 60_000);
    }
  });
});
