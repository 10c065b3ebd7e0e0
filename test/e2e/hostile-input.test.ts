/**
 * Hostile input at the HTTP edge. Whatever a client sends, Gust answers with a status that fits and
 * a one-line message saying what is wrong (or serves it), and never crashes, hangs or silently drops
 * an invocation. Raw sockets where fetch would refuse to send the bytes; every test ends by checking
 * that the platform still answers (afterEach).
 */
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deployProject, type Gust, records, sleep, startGust, WAIT } from '../helpers/gust.js';
import { seededRandom } from '../helpers/random.js';

let g: Gust;

const ECHO = `export default async (req, ctx) => {
  const bytes = (await req.arrayBuffer()).byteLength;
  return Response.json({ method: req.method, url: req.url, params: ctx.params, bytes, headers: Object.fromEntries(req.headers) });
};`;
const SLOW = `export default async (req) => {
  console.log('started ' + new URL(req.url).searchParams.get('tag'));
  await new Promise((r) => setTimeout(r, 1000));
  console.log('finished');
  return new Response('done');
};`;
const DRIP = `export default async (req) => {
  console.log('started ' + new URL(req.url).searchParams.get('tag'));
  let n = 0;
  const body = new ReadableStream({
    async pull(c) {
      await new Promise((r) => setTimeout(r, 100));
      if (++n > 10) { console.log('finished'); c.close(); } else c.enqueue(new TextEncoder().encode('drop ' + n + '\\n'));
    },
  });
  return new Response(body);
};`;
const LAMBDA = `export const handler = async (event) => {
  if (event.rawQueryString === 'name') return { statusCode: 200, headers: { 'bad name': 'x' }, body: 'x' };
  if (event.rawQueryString === 'value') return { statusCode: 200, headers: { 'x-v': 'a\\r\\nb' }, body: 'x' };
  if (event.rawQueryString === 'interim') return { statusCode: 103, body: 'x' };
  return { statusCode: 200, body: 'fine' };
};`;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
functions:
  echo:
    handler: echo.mjs
    triggers:
      - http: { path: /echo }
      - http: { path: /items/:id, methods: [GET] }
      - http: { path: /files/* }
  slow:
    handler: slow.mjs
    timeout: 10s
    triggers:
      - http: { path: /slow }
  drip:
    handler: drip.mjs
    timeout: 10s
    triggers:
      - http: { path: /drip }
  lambda:
    handler: lambda.mjs
    triggers:
      - http: { path: /lambda }
  add:
    handler: add.mjs
`,
    'echo.mjs': ECHO,
    'slow.mjs': SLOW,
    'drip.mjs': DRIP,
    'lambda.mjs': LAMBDA,
    'add.mjs': 'export const handler = async (event) => ({ sum: event?.a + event?.b });',
  });
});

afterAll(async () => {
  await g?.stop();
});

afterEach(async () => {
  await expectHealthy();
});

// ---- helpers -------------------------------------------------------------------------------------

interface Answer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The platform did not crash, answers health checks and still runs a function. */
async function expectHealthy(): Promise<void> {
  expect(g.proc.exitCode).toBeNull();
  expect(g.proc.signalCode).toBeNull();
  expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
  const res = await fetch(`${g.url}/echo?healthy=1`);
  expect(res.status).toBe(200);
  expect(((await res.json()) as { url: string }).url).toContain('/echo?healthy=1');
}

/** A JSON error `{error: {code, message}}` with this status and code; returns the message. */
function expectError(a: Answer | undefined, status: number, code: string): string {
  expect(a?.status, a?.body).toBe(status);
  const { error } = JSON.parse(a?.body ?? '') as { error?: { code?: string; message?: string } };
  expect(error?.code).toBe(code);
  expectOneLine(error?.message);
  return error?.message ?? '';
}

/** An AWS-shaped error of the Lambda API: `x-amzn-errortype` and `{Type, message}`. */
function expectAwsError(a: Answer, status: number, type: string): string {
  expect(a.status, a.body).toBe(status);
  expect(a.headers['x-amzn-errortype']).toBe(type);
  const body = JSON.parse(a.body) as { Type?: string; message?: string };
  expect(body.Type).toBe('User');
  expectOneLine(body.message);
  return body.message ?? '';
}

function expectOneLine(message: unknown): void {
  expect(typeof message).toBe('string');
  expect(message).toMatch(/^[^\r\n]{10,}$/);
}

async function answerOf(res: Response): Promise<Answer> {
  return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
}

/** A control API call with a raw body (the admin key unless told). */
async function control(
  method: string,
  route: string,
  body?: string,
  auth: string | null = `Bearer ${g.key}`,
): Promise<Answer> {
  const res = await fetch(`${g.url}/_gust/api/v1${route}`, {
    method,
    headers: { ...(auth === null ? {} : { authorization: auth }), 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body }),
  });
  return answerOf(res);
}

/** A Lambda Invoke API call; `name` goes into the path as written. */
async function lambda(
  name: string,
  opts: { body?: string | Uint8Array<ArrayBuffer>; headers?: Record<string, string>; query?: string } = {},
): Promise<Answer> {
  const res = await fetch(`${g.url}/2015-03-31/functions/${name}/invocations${opts.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.key}`, ...opts.headers },
    body: opts.body ?? '{}',
  });
  return answerOf(res);
}

/** An HTTP/1.1 request as bytes; adds Host, Content-Length and `Connection: close` unless given. */
function rawRequest(line: string, headers: readonly string[] = [], body: string | Buffer = ''): Buffer {
  const has = (name: string) => headers.some((h) => h.toLowerCase().startsWith(`${name}:`));
  const all = [
    ...(has('host') ? [] : ['Host: 127.0.0.1']),
    ...headers,
    ...(body.length > 0 && !has('content-length') && !has('transfer-encoding')
      ? [`Content-Length: ${Buffer.byteLength(body)}`]
      : []),
    ...(has('connection') ? [] : ['Connection: close']),
  ];
  return Buffer.concat([
    Buffer.from(`${line}\r\n${all.map((h) => `${h}\r\n`).join('')}\r\n`),
    Buffer.from(body),
  ]);
}

interface Exchange {
  readonly answers: Answer[];
  /** The connection closed (false: `waitMs` passed first). */
  readonly closed: boolean;
}

/**
 * Writes bytes on a new connection to Gust and collects the answers until the server closes it or
 * `waitMs` passed. `after` runs once the bytes are written (to dribble more, or to leave).
 */
function exchange(
  bytes: Buffer | string,
  opts: { waitMs?: number; head?: boolean; after?: (s: net.Socket) => Promise<void> } = {},
): Promise<Exchange> {
  const { waitMs = WAIT.timeout, head = false } = opts;
  return new Promise((resolve) => {
    const socket = net.connect(Number(new URL(g.url).port), '127.0.0.1');
    const received: Buffer[] = [];
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ answers: parseAnswers(Buffer.concat(received), head), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => {}); // a reset ends the exchange like a close
    socket.once('close', () => finish(true));
    socket.write(bytes);
    void opts.after?.(socket).catch(() => socket.destroy());
  });
}

/** The whole answers in what came back (interim 1xx skipped); `head`: answers to HEAD, without bodies. */
function parseAnswers(data: Buffer, head: boolean): Answer[] {
  const answers: Answer[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return answers;
    const [statusLine = '', ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
    }
    let pos = end + 4;
    const chunks: Buffer[] = [];
    if (status < 200 || head) {
      // no body
    } else if (headers['transfer-encoding'] === 'chunked') {
      for (let size = -1; size !== 0; ) {
        const eol = data.indexOf('\r\n', pos);
        if (eol < 0) return answers;
        size = Number.parseInt(data.subarray(pos, eol).toString('latin1'), 16);
        if (data.length < eol + 2 + size + 2) return answers;
        chunks.push(data.subarray(eol + 2, eol + 2 + size));
        pos = eol + 2 + size + 2;
      }
    } else {
      const length = Number(headers['content-length'] ?? 0);
      if (data.length < pos + length) return answers;
      chunks.push(data.subarray(pos, pos + length));
      pos += length;
    }
    at = pos;
    if (status >= 200) answers.push({ status, headers, body: Buffer.concat(chunks).toString('utf8') });
  }
}

/** Resolves with what `probe` finds, polling for up to `ms`. */
async function eventually<T>(probe: () => Promise<T | undefined>, ms = WAIT.timeout): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > until) throw new Error(`nothing found within ${ms} ms`);
    await sleep(100);
  }
}

const count = async (fn: string) => (await records(g, fn, 1000)).length;
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const echoed = (a: Answer | undefined) =>
  JSON.parse(a?.body ?? '') as { method: string; url: string; params: Record<string, string>; bytes: number };

// ---- function routes -----------------------------------------------------------------------------

describe('function routes under hostile requests', () => {
  it('refuse methods outside GET HEAD POST PUT PATCH DELETE OPTIONS before any instance sees them', async () => {
    const before = await count('echo');
    for (const method of ['TRACE', 'PROPFIND', 'PURGE', 'MKCOL']) {
      const [a] = (await exchange(rawRequest(`${method} /echo HTTP/1.1`))).answers;
      expect(expectError(a, 405, 'METHOD_NOT_ALLOWED')).toContain(method);
      expect(a?.headers.allow).toBe('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    }
    const [onGetOnly] = (await exchange(rawRequest('TRACE /items/1 HTTP/1.1'))).answers;
    expectError(onGetOnly, 405, 'METHOD_NOT_ALLOWED');
    expect(onGetOnly?.headers.allow).toBe('GET');

    const port = new URL(g.url).port;
    for (const target of [`127.0.0.1:${port}`, '/echo']) {
      const connect = await exchange(rawRequest(`CONNECT ${target} HTTP/1.1`));
      expect(expectError(connect.answers[0], 405, 'METHOD_NOT_ALLOWED')).toContain('CONNECT');
      expect(connect.closed).toBe(true);
    }
    for (const method of ['get', 'Post', 'ABCDEFGHIJ'.repeat(4), 'GE\u0001T']) {
      const bad = await exchange(rawRequest(`${method} /echo HTTP/1.1`));
      expect(expectError(bad.answers[0], 400, 'BAD_REQUEST')).toContain('method');
      expect(bad.closed).toBe(true);
    }
    expect(await count('echo')).toBe(before);
  });

  it('answer malformed percent-escapes in a route parameter with a 404 naming the path', async () => {
    for (const path of ['/items/%E0%A4%A', '/items/%', '/items/%zz', '/files/%E0%A4%A/x']) {
      const [a] = (await exchange(rawRequest(`GET ${path} HTTP/1.1`))).answers;
      expect(expectError(a, 404, 'NOT_FOUND')).toContain(path);
    }
    // what decodes reaches the function decoded; the query is the function's to read, as sent
    const [nul] = (await exchange(rawRequest('GET /items/%00 HTTP/1.1'))).answers;
    expect(echoed(nul).params.id).toBe('\u0000');
    const [dots] = (await exchange(rawRequest('GET /items/%2E%2E%2Fetc HTTP/1.1'))).answers;
    expect(echoed(dots).params.id).toBe('../etc');
    const [query] = (await exchange(rawRequest('GET /echo?q=%E0%A4%A&%=% HTTP/1.1'))).answers;
    expect(echoed(query).url).toMatch(/\/echo\?q=%E0%A4%A&%=%$/);
  });

  it('serve a request head just under 16 KB and answer 431 over it', async () => {
    const query = 'q'.repeat(16_000);
    const [under] = (await exchange(rawRequest(`GET /echo?${query} HTTP/1.1`))).answers;
    expect(under?.status).toBe(200);
    expect(echoed(under).url.endsWith(query)).toBe(true);
    const id = 'i'.repeat(15_000);
    const [longParam] = (await exchange(rawRequest(`GET /items/${id} HTTP/1.1`))).answers;
    expect(echoed(longParam).params.id).toBe(id);

    const longUrl = await exchange(rawRequest(`GET /echo?${'q'.repeat(17_000)} HTTP/1.1`));
    expect(expectError(longUrl.answers[0], 431, 'BAD_REQUEST')).toContain('16 KB');
    expect(longUrl.closed).toBe(true);
    const headers = Array.from({ length: 400 }, (_, i) => `X-Filler-${i}: ${'f'.repeat(40)}`);
    const manyHeaders = await exchange(rawRequest('GET /echo HTTP/1.1', headers));
    expectError(manyHeaders.answers[0], 431, 'BAD_REQUEST');
    const longApiName = await exchange(
      rawRequest(`GET /_gust/api/v1/functions/${'n'.repeat(17_000)} HTTP/1.1`),
    );
    expectError(longApiName.answers[0], 431, 'BAD_REQUEST');
  });

  it('serve duplicated and odd headers, and refuse those that are not HTTP with a 400', async () => {
    const served: (readonly string[])[] = [
      ['Host: first', 'Host: second'],
      ['Host: evil.example/path@x?y'],
      ['Content-Type: text/plain', 'Content-Type: application/json'],
      ['Cookie: a=1', 'Cookie: b=2', 'Cookie: a=3'],
      ['X-Forwarded-Proto: javascript', 'X-Forwarded-For: <script>'],
      ['X-Utf8: café ☃ 😀', 'X-Empty:', 'X-Spaces:    padded    '],
      ['Upgrade: websocket', 'Sec-WebSocket-Key: x'],
      ['Traceparent: not-a-trace', 'Authorization: Basic eDp5'],
      ['Expect: 100-continue'],
      Array.from({ length: 1000 }, (_, i) => `X-H${i}: ${i}`),
    ];
    for (const headers of served) {
      const [a] = (await exchange(rawRequest('POST /echo HTTP/1.1', headers, 'hello'))).answers;
      expect(a?.status, headers.join(' | ')).toBe(200);
      const seen = echoed(a);
      expect(seen.bytes, headers.join(' | ')).toBe(5);
      expect(seen.url).toMatch(/^http:\/\/[^/]+\/echo$/); // a Host header cannot move the path
    }
    const latin1 = Buffer.from(
      'GET /echo HTTP/1.1\r\nHost: x\r\nX-Latin: caf\xe9\r\nConnection: close\r\n\r\n',
      'latin1',
    );
    expect((await exchange(latin1)).answers[0]?.status).toBe(200);

    const refused: [readonly string[], string][] = [
      [['X-Ctl: a\u0001b'], 'header'],
      [['Bad Name: x'], 'header'],
      [[': no name'], 'header'],
      [['X-Folded: a', ' folded'], 'HTTP/1.1'],
      [['Content-Length: 5', 'Content-Length: 6'], 'content-length'],
      [['Content-Length: five'], 'content-length'],
      [['Transfer-Encoding: chunked', 'Content-Length: 5'], 'transfer-encoding'],
      [['Transfer-Encoding: gzip'], 'transfer-encoding'],
    ];
    for (const [headers, says] of refused) {
      const bad = await exchange(rawRequest('POST /echo HTTP/1.1', headers, 'hello'));
      expect(expectError(bad.answers[0], 400, 'BAD_REQUEST'), headers.join(' | ')).toContain(says);
      expect(bad.closed).toBe(true);
    }
    const noHost = await exchange('GET /echo HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(expectError(noHost.answers[0], 400, 'BAD_REQUEST')).toContain('Host');
    const notHttp = await exchange(Buffer.from([0x16, 3, 1, 0, 5, 1, 0, 0, 1, 0, 13, 10, 13, 10]));
    expectError(notHttp.answers[0], 400, 'BAD_REQUEST');
  });

  it('wait for a content-length that lies, and record nothing when the client then leaves', async () => {
    const before = await count('echo');
    const lying = rawRequest(
      'POST /echo HTTP/1.1',
      ['Content-Length: 1000', 'Connection: keep-alive'],
      'abcd',
    );
    const destroyed = await exchange(lying, {
      after: async (s) => {
        await sleep(300);
        s.destroy();
      },
    });
    expect(destroyed.answers).toEqual([]); // nothing premature: Gust waited for the rest
    // a client that only half-closes can still read why its request was refused
    const halfClosed = await exchange(lying, {
      after: async (s) => {
        await sleep(300);
        s.end();
      },
    });
    expect(expectError(halfClosed.answers[0], 400, 'BAD_REQUEST')).toContain('eof');
    await sleep(200);
    expect(await count('echo')).toBe(before);
  });

  it('forget a body sent slowly then aborted, with or without chunked encoding', async () => {
    const before = await count('echo');
    const dribble = (chunk: string) => async (s: net.Socket) => {
      for (let i = 0; i < 6; i++) {
        await sleep(50);
        s.write(chunk);
      }
      s.destroy();
    };
    const sized = await exchange(
      rawRequest('POST /echo HTTP/1.1', ['Content-Length: 100000', 'Connection: keep-alive']),
      { after: dribble('x'.repeat(1000)) },
    );
    const chunked = await exchange(
      rawRequest('POST /echo HTTP/1.1', ['Transfer-Encoding: chunked', 'Connection: keep-alive']),
      { after: dribble(`3e8\r\n${'y'.repeat(1000)}\r\n`) },
    );
    expect([...sized.answers, ...chunked.answers]).toEqual([]);
    await sleep(200);
    expect(await count('echo')).toBe(before);
  });

  it('answer chunked bodies with garbage chunk sizes with a 400 (a 413 for huge extensions)', async () => {
    const before = await count('echo');
    const bodies: [string, number][] = [
      ['ZZZ\r\nabc\r\n0\r\n\r\n', 400],
      ['FFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n', 400],
      ['-5\r\nabc\r\n0\r\n\r\n', 400],
      ['3 3\r\nabc\r\n0\r\n\r\n', 400],
      ['\r\nabc\r\n0\r\n\r\n', 400],
      ['3\r\nabcdef\r\n0\r\n\r\n', 400],
      ['0x3\r\nabc\r\n0\r\n\r\n', 400],
      [`3;${'e'.repeat(20_000)}\r\nabc\r\n0\r\n\r\n`, 413],
    ];
    for (const [body, status] of bodies) {
      const bad = await exchange(rawRequest('POST /echo HTTP/1.1', ['Transfer-Encoding: chunked'], body));
      expectError(bad.answers[0], status, status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST');
      expect(bad.closed).toBe(true);
    }
    const [valid] = (
      await exchange(
        rawRequest('POST /echo HTTP/1.1', ['Transfer-Encoding: chunked'], '3\r\nabc\r\n0\r\n\r\n'),
      )
    ).answers;
    expect(echoed(valid).bytes).toBe(3);
    expect(await count('echo')).toBe(before + 1);
  });

  it('answer pipelined requests on one keep-alive socket, in order', async () => {
    const keep = ['Connection: keep-alive'];
    const pipelined = Buffer.concat([
      rawRequest('GET /slow?tag=pipelined HTTP/1.1', keep),
      rawRequest('GET /echo?n=1 HTTP/1.1', keep),
      rawRequest('POST /echo?n=2 HTTP/1.1', keep, 'hello'),
      rawRequest('DELETE /items/3 HTTP/1.1', keep),
      rawRequest('GET /items/4 HTTP/1.1'),
    ]);
    const { answers, closed } = await exchange(pipelined);
    expect(closed).toBe(true);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 405, 200]);
    expect(answers[0]?.body).toBe('done'); // the slow one first: answers keep the order of requests
    expect(echoed(answers[1]).url).toMatch(/n=1$/);
    expect(echoed(answers[2]).bytes).toBe(5);
    expect(echoed(answers[4]).params.id).toBe('4');

    // garbage after a good request ends the connection with a clear 400
    const spoilt = await exchange(
      Buffer.concat([rawRequest('GET /echo HTTP/1.1', keep), Buffer.from('BLAH\r\n\r\n')]),
    );
    expect(spoilt.closed).toBe(true);
    expectError(spoilt.answers.at(-1), 400, 'BAD_REQUEST');
  });

  it('record an invocation whose client left while it ran, and keep answering', async () => {
    for (const fn of ['slow', 'drip']) {
      const tag = `${fn}-${Date.now()}`;
      await exchange(rawRequest(`GET /${fn}?tag=${tag} HTTP/1.1`, ['Connection: keep-alive']), {
        // drip: leave in the middle of a streamed answer; slow: before any answer
        after: async (s) => {
          await (fn === 'drip' ? once(s, 'data') : sleep(200));
          s.destroy();
        },
      });
      // slow runs to its end; drip's stream is cancelled when its client leaves (handlers.test.ts)
      const record = await eventually(async () =>
        (await records(g, fn)).find(
          (r) => r.logs.includes(`started ${tag}`) && (fn === 'drip' || r.logs.includes('finished')),
        ),
      );
      expect(record.status).toBe('ok');
      expect(record.trigger).toBe('http');
    }
  });

  it('answer a Lambda-style result HTTP cannot carry with a clear FUNCTION_ERROR, not a hang', async () => {
    for (const [query, says] of [
      ['name', 'bad name'],
      ['value', 'x-v'],
      ['interim', '103'],
    ]) {
      const a = await answerOf(
        await fetch(`${g.url}/lambda?${query}`, { signal: AbortSignal.timeout(5000) }),
      );
      expect(expectError(a, 500, 'FUNCTION_ERROR')).toContain(says);
      expect(a.headers['x-gust-invocation-id']).toMatch(/\S/);
    }
    expect((await fetch(`${g.url}/lambda`)).status).toBe(200);
  });
});

// ---- control API ---------------------------------------------------------------------------------

describe('the control API under hostile requests', () => {
  it('answers bodies that are not JSON objects with 400 BAD_REQUEST', async () => {
    const bodies = ['{', '{"a":1,}', "{'a':1}", 'nul', '\u0000', '[]', '42', '"text"', 'null', 'true'];
    bodies.push(
      deep(100_000),
      `{"data":${deep(1001)}}`,
      `{"manifest":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`,
    );
    const routes = ['/deploy', '/keys', '/functions/add/invoke', '/functions/add/rollback'];
    for (const route of routes) {
      for (const body of bodies) {
        expectError(await control('POST', route, body), 400, 'BAD_REQUEST');
      }
    }
    const tooDeep = await control('POST', '/functions/add/invoke', `{"data":${deep(1001)}}`);
    expect(expectError(tooDeep, 400, 'BAD_REQUEST')).toContain('1000');
    // as deep as allowed still runs
    const deepest = await control('POST', '/functions/add/invoke', `{"data":${deep(999)}}`);
    expect(deepest.status).toBe(200);
  });

  it('refuses unknown fields and fields of the wrong type, naming them, and creates nothing', async () => {
    const keysBefore = (JSON.parse((await control('GET', '/keys')).body) as { keys: unknown[] }).keys.length;
    const cases: [string, string, string][] = [
      ['/deploy', '{"manifest":"functions: {}","bundles":{},"bundle":{}}', '"bundle"'],
      ['/functions/add/invoke', '{"payload":{"a":1}}', '"payload"'],
      ['/functions/add/invoke', '{"__proto__":{"data":1}}', '"__proto__"'],
      ['/functions/add/rollback', '{"version":1,"force":true}', '"force"'],
      ['/keys', '{"scope":"invoke","fn":"add"}', '"fn"'],
      ['/keys', '{"scope":"invoke","function":["add"]}', 'function'],
      ['/keys', '{"scope":"invoke","function":{"name":"add"}}', 'function'],
      ['/keys', '{"scope":7}', 'scope'],
      ['/keys', '{"scope":["admin"]}', 'scope'],
      ['/keys', '{"scope":"admin","expires":{}}', 'expires'],
      ['/keys', '{"scope":"admin","expires":-5}', 'expires'],
      ['/functions/add/rollback', '{"version":"1"}', 'version'],
      ['/functions/add/rollback', '{"version":1.5}', 'version'],
      ['/functions/add/rollback', '{"version":null}', 'version'],
      ['/functions/add/rollback', '{"version":-1}', 'version'],
    ];
    for (const [route, body, says] of cases) {
      expect(expectError(await control('POST', route, body), 400, 'BAD_REQUEST'), body).toContain(says);
    }
    const keysAfter = (JSON.parse((await control('GET', '/keys')).body) as { keys: unknown[] }).keys.length;
    expect(keysAfter).toBe(keysBefore);
    const versions = JSON.parse((await control('GET', '/functions/add/versions')).body) as {
      versions: { active: boolean }[];
    };
    expect(versions.versions).toEqual([expect.objectContaining({ version: 1, active: true })]);
  });

  it('answers a missing or malformed Authorization with 401 UNAUTHORIZED', async () => {
    const refused = [
      null,
      '',
      'Bearer',
      'Bearer ',
      'Bearer  ',
      'Basic YWRtaW46YWRtaW4=',
      `Bearer ${'k'.repeat(10_240)}`,
      `Bearer ${g.key} extra`,
      `Bearer ${g.key.slice(0, -1)}`,
      `Token ${g.key}`,
      'Bearer gust_ÄÖÜ',
    ];
    for (const auth of refused) {
      expectError(await control('GET', '/functions', undefined, auth), 401, 'UNAUTHORIZED');
    }
    const utf8 = Buffer.from(
      'GET /_gust/api/v1/functions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer gust_☃😀\r\nConnection: close\r\n\r\n',
    );
    expectError((await exchange(utf8)).answers[0], 401, 'UNAUTHORIZED');
    const twice = rawRequest('GET /_gust/api/v1/functions HTTP/1.1', [
      'Authorization: Bearer nope',
      `Authorization: Bearer ${g.key}`,
    ]);
    expectError((await exchange(twice)).answers[0], 401, 'UNAUTHORIZED');
    expect((await control('GET', '/functions', undefined, `bearer\t${g.key}`)).status).toBe(200);
  });

  it('refuses deploys with bad manifests or bundles and changes nothing', async () => {
    const listed = async () => (await control('GET', '/functions')).body.replace(/"instances":\d+/g, '');
    const before = await listed();
    const bundle = { x: 'export default () => new Response("x")' };
    const deploy = (manifest: unknown, bundles: unknown = bundle) =>
      control('POST', '/deploy', JSON.stringify({ manifest, bundles }));
    const aliasBomb = [
      'a: &a [x, x, x, x, x, x, x, x, x]',
      ...'bcdefgh'.split('').map((n, i) => `${n}: &${n} [${`*${'abcdefg'[i]}, `.repeat(8)}*${'abcdefg'[i]}]`),
      'functions: *h',
    ].join('\n');
    const invalid: unknown[] = [
      42,
      null,
      true,
      [],
      { functions: 'x' },
      'a'.repeat(1024 * 1024),
      `functions:\n  x:\n    handler: x.mjs\n    memory: ${'9'.repeat(1024 * 1024)}\n`,
      aliasBomb,
      'functions: *nowhere',
      `functions: ${deep(100_000)}`,
      'functions:\n\tx: {}',
      'functions: {x: {handler: x.mjs}}\n---\nfunctions: {}',
      'functions:\n  Bad Name!:\n    handler: x.mjs',
      'functions:\n  x:\n    handler: x.mjs\n    triggers:\n      - http: { path: "/%zz/../_gust" }',
    ];
    for (const manifest of invalid) {
      const a = await deploy(manifest);
      expectError(a, 400, 'MANIFEST_INVALID');
      const { details } = (JSON.parse(a.body) as { error: { details?: string[] } }).error;
      expect(details?.length).toBeGreaterThan(0);
      for (const line of details ?? []) expect(line).not.toMatch(/[\r\n]/);
    }
    const manifest = 'functions:\n  x:\n    handler: x.mjs\n';
    for (const bundles of ['code', 42, null, ['code'], { x: 42 }, { x: '' }, { y: 'code' }, {}]) {
      expectError(await deploy(manifest, bundles), 400, 'BAD_REQUEST');
    }
    expect(await listed()).toBe(before);
  });

  it('deploys a bundle with a syntax error, whose calls then fail with FUNCTION_ERROR: init failed', async () => {
    const manifest =
      'functions:\n  broken:\n    handler: broken.mjs\n    triggers:\n      - http: { path: /broken }\n';
    const bundles = { broken: 'export default async () => { return new Response("never" ' };
    const deployed = await control('POST', '/deploy', JSON.stringify({ manifest, bundles }));
    expect(deployed.status).toBe(200);

    const invoked = JSON.parse((await control('POST', '/functions/broken/invoke', '{}')).body) as {
      invocation: { status: string };
      error: { code: string; message: string };
    };
    expect(invoked.invocation.status).toBe('error');
    expect(invoked.error.code).toBe('FUNCTION_ERROR');
    expect(invoked.error.message).toContain('init failed');
    expectOneLine(invoked.error.message);
    const routed = await answerOf(await fetch(`${g.url}/broken`));
    expect(expectError(routed, 500, 'FUNCTION_ERROR')).toContain('init failed');
    const viaLambda = await lambda('broken');
    expect(viaLambda.headers['x-amz-function-error']).toBe('Unhandled');
    expect(viaLambda.body).toContain('init failed');

    expect((await control('DELETE', '/functions/broken')).status).toBe(200);
  });

  it('answers odd path parameters with a 404 that says what was asked for', async () => {
    const long = 'n'.repeat(15_000);
    const missing: [string, string][] = [
      ['GET', '/functions/%00'],
      ['GET', '/functions/%E0%A4%A'],
      ['GET', '/functions/..'],
      ['GET', '/functions/%2E%2E'],
      ['GET', '/functions/../keys'],
      ['GET', '/functions/add/../../keys'],
      ['GET', `/functions/${long}`],
      ['DELETE', `/functions/${long}`],
      ['GET', `/functions/${long}/versions`],
      ['GET', `/functions/${long}/invocations`],
      ['GET', `/functions/${long}/logs`],
      ['POST', `/functions/${long}/rollback`],
      ['POST', `/functions/${long}/invoke`],
      ['GET', '/invocations/%00'],
      ['GET', `/invocations/${long}`],
      ['DELETE', '/keys/%00'],
      ['DELETE', `/keys/${long}`],
      ['GET', '/functions/add/invocations/extra'],
    ];
    for (const [method, route] of missing) {
      const a = await exchange(
        rawRequest(`${method} /_gust/api/v1${route} HTTP/1.1`, [`Authorization: Bearer ${g.key}`]),
      );
      expectError(a.answers[0], 404, 'NOT_FOUND');
    }
    for (const query of [
      'limit=abc',
      'limit=-1',
      'limit=1.5',
      'limit=100000',
      'status=%E0',
      'status=ok%00',
    ]) {
      expectError(await control('GET', `/functions/add/invocations?${query}`), 400, 'BAD_REQUEST');
    }
    expectError(await control('GET', '/functions/add/logs?after=soon'), 400, 'BAD_REQUEST');
    expectError(await control('PUT', '/functions/add'), 405, 'METHOD_NOT_ALLOWED');
    const trace = await exchange(
      rawRequest('TRACE /_gust/api/v1/functions HTTP/1.1', [`Authorization: Bearer ${g.key}`]),
    );
    expectError(trace.answers[0], 405, 'METHOD_NOT_ALLOWED');
  });
});

// ---- Lambda Invoke API ---------------------------------------------------------------------------

describe('the Lambda Invoke API under hostile requests', () => {
  it('refuses garbage AWS4-HMAC-SHA256 signatures with 403 UnrecognizedClientException', async () => {
    const date = new Date().toISOString().replace(/[-:]|\.\d{3}/g, '');
    const day = date.slice(0, 8);
    const sig = 'a'.repeat(64);
    const cred = (id: string, scope = `${day}/us-east-1/lambda/aws4_request`) => `Credential=${id}/${scope}`;
    const garbage: Record<string, string>[] = [
      { authorization: 'AWS4-HMAC-SHA256 ' },
      { authorization: 'AWS4-HMAC-SHA256 garbage' },
      { authorization: 'AWS4-HMAC-SHA256 Credential=, SignedHeaders=, Signature=' },
      { authorization: `AWS4-HMAC-SHA256 ${cred('GUSKX')}, SignedHeaders=host;x-amz-date, Signature=${sig}` },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('GUSKX', '20250230/us-east-1/lambda/aws4_request')}, SignedHeaders=host;x-amz-date, Signature=${sig}`,
        'x-amz-date': '20250230T000000Z',
      },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('GUSKX')}, SignedHeaders=host;x-amz-date, Signature=zz`,
        'x-amz-date': date,
      },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('GUSKNOPE')}, SignedHeaders=host;x-amz-date, Signature=${sig}`,
        'x-amz-date': date,
      },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('A'.repeat(8000))}, SignedHeaders=host;x-amz-date, Signature=${sig}`,
        'x-amz-date': date,
      },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('GUSKX', `${day}/../../x/aws4_request`)}, SignedHeaders=host, Signature=${sig}`,
        'x-amz-date': date,
      },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('GUSKX')}, SignedHeaders=x-amz-date, Signature=${sig}`,
        'x-amz-date': date,
      },
      {
        authorization: `AWS4-HMAC-SHA256 ${cred('GUSKX', '19990101/us-east-1/lambda/aws4_request')}, SignedHeaders=host;x-amz-date, Signature=${sig}`,
        'x-amz-date': '19990101T000000Z',
      },
      { authorization: 'AWS4-HMAC-SHA256' },
      { authorization: 'Bearer' },
    ];
    for (const headers of garbage) {
      const a = await lambda('add', { headers });
      expect(expectAwsError(a, 403, 'UnrecognizedClientException'), headers.authorization).toMatch(/\S/);
    }
  });

  it('refuses function names that are not NAME, a partial ARN or a function ARN with 400', async () => {
    const malformed = [
      'arn:aws:lambda:us-east-1:123456789012:function:add:1:extra',
      'arn:aws:lambda:us-east-1:123456789012:function',
      'arn:aws:lambda',
      'arn:aws:s3:::bucket',
      'add:1:2',
      'add:',
      ':1',
      '123456789012:function:add:1:2',
    ];
    for (const name of malformed) {
      expect(expectAwsError(await lambda(name), 400, 'InvalidParameterValueException'), name).toContain(
        'NAME',
      );
    }
    expectAwsError(await lambda('%E0%A4%A'), 400, 'InvalidParameterValueException');
    for (const name of ['%00', 'n'.repeat(15_000), 'nope', 'ADD']) {
      expectAwsError(await lambda(name), 404, 'ResourceNotFoundException');
    }
    const arn = 'arn:aws:lambda:us-east-1:123456789012:function:add';
    for (const name of [
      arn,
      `${arn}:1`,
      encodeURIComponent(`${arn}:$LATEST`),
      '123456789012:function:add:1',
      'add:1',
    ]) {
      const a = await lambda(name, { body: '{"a":1,"b":2}' });
      expect(a.status, name).toBe(200);
      expect(JSON.parse(a.body)).toEqual({ sum: 3 });
    }
  });

  it('answers qualifiers that name no version with 404 ResourceNotFoundException', async () => {
    const cases = [
      { name: 'add:0' },
      { name: 'add:-1' },
      { name: 'add:abc' },
      { name: 'add:1e0' },
      { name: 'add:01' },
      { name: 'add:99999999999999999999' },
      { name: 'add', query: '?Qualifier=' },
      { name: 'add', query: '?Qualifier=2' },
      { name: 'add', query: '?Qualifier=%20%201' },
      { name: 'add', query: '?Qualifier=%E0%A4%A' },
      { name: 'add:1', query: '?Qualifier=7' },
    ];
    for (const { name, query = '' } of cases) {
      expect(expectAwsError(await lambda(name, { query }), 404, 'ResourceNotFoundException')).toContain(
        'add',
      );
    }
    expect((await lambda('add', { query: '?Qualifier=$LATEST' })).status).toBe(200);
    expect((await lambda('add', { query: '?Qualifier=1' })).status).toBe(200);
  });

  it('refuses payloads that are not JSON with 400 InvalidRequestContentException', async () => {
    const payloads: (string | Uint8Array<ArrayBuffer>)[] = [
      'hello',
      '{',
      '{"a":1}garbage',
      "{'a':1}",
      '\u0000',
      new Uint8Array([0xff, 0xfe, 0x00]),
      deep(100_000),
      `{"a":${deep(1000)}}`,
    ];
    for (const body of payloads) {
      expectAwsError(await lambda('add', { body }), 400, 'InvalidRequestContentException');
    }
    for (const body of ['null', '42', '"text"', '[]', deep(999)]) {
      const a = await lambda('add', { body });
      expect(a.status, body.slice(0, 20)).toBe(200);
    }
    for (const type of ['Bogus', 'event', '']) {
      const a = await lambda('add', { headers: { 'x-amz-invocation-type': type } });
      expectAwsError(a, 400, 'InvalidParameterValueException');
    }
    const get = await answerOf(await fetch(`${g.url}/2015-03-31/functions/add/invocations`));
    expectAwsError(get, 404, 'UnknownOperationException');
  });
});

// ---- seeded fuzz ---------------------------------------------------------------------------------

const FUZZ_SEED = 20_240_611;
const FUZZ_REQUESTS = 300;

interface FuzzCase {
  readonly label: string;
  readonly bytes: Buffer;
  readonly head: boolean;
  readonly lambdaApi: boolean;
}

function fuzzCases(seed: number, n: number): FuzzCase[] {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const segment = () =>
    pick([
      'x',
      '%E0%A4%A',
      '%00',
      '..',
      '%2e%2e',
      '%',
      '%zz',
      'é',
      '%F0%9F%92%A9',
      ';',
      '@',
      '*',
      'n'.repeat(3000),
    ]);
  const paths = [
    () => '/echo',
    () => `/echo?${segment()}=${segment()}`,
    () => `/items/${segment()}`,
    () => `/files/${segment()}/${segment()}`,
    () => `/${segment()}`,
    () => '/_gust/healthz',
    () => `/_gust/${segment()}`,
    () => '/_gust/api/v1/deploy',
    () => '/_gust/api/v1/keys',
    () => `/_gust/api/v1/keys/${segment()}`,
    () => '/_gust/api/v1/functions',
    () => `/_gust/api/v1/functions/${segment()}`,
    () => `/_gust/api/v1/functions/${segment()}/versions`,
    () => '/_gust/api/v1/functions/add/invoke',
    () =>
      `/_gust/api/v1/functions/add/invocations?limit=${pick(['1', '-1', 'abc', '1e3'])}&status=${segment()}`,
    () => `/_gust/api/v1/invocations/${segment()}`,
    () =>
      `/2015-03-31/functions/${pick(['add', 'add:1', 'add:x', 'arn:aws:lambda:us-east-1:1:function:add', 'arn:aws:lambda', 'a:b:c:d', segment()])}/invocations${pick(['', '?Qualifier=1', '?Qualifier=x', '?Qualifier=%E0'])}`,
  ];
  const methods = ['GET', 'GET', 'POST', 'POST', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
  methods.push('TRACE', 'PROPFIND', 'get', 'Post', 'M'.repeat(40));
  const auths = [
    null,
    `Bearer ${g.key}`,
    `Bearer ${g.key}`,
    `Bearer ${g.key}`,
    'Bearer',
    'Basic eDp5',
    'AWS4-HMAC-SHA256 Credential=x',
    `Bearer ${'k'.repeat(3000)}`,
  ];
  const extras = [
    'Content-Type: application/json',
    'Content-Type: text/plain; charset=ünïcode',
    'X-Amz-Invocation-Type: DryRun',
    'X-Amz-Invocation-Type: Event',
    'X-Amz-Invocation-Type: Bogus',
    'X-Amz-Log-Type: Tail',
    'Expect: 100-continue',
    'Cookie: a=1',
    'Upgrade: websocket',
    'Traceparent: garbage',
    'Host: second',
    `X-Long: ${'v'.repeat(4000)}`,
    'X-Ctl: a\u0001b',
    'Bad Header: x',
  ];
  const bodies = [
    () => '',
    () => '{',
    () => '[]',
    () => '42',
    () => 'null',
    () => '"s"',
    () => '{"data":{"a":1,"b":2}}',
    () => '{"manifest":42,"bundles":{}}',
    () => '{"manifest":"functions: *x","bundles":{}}',
    () => '{"scope":"invoke","function":[1]}',
    () => '{"version":"1"}',
    () => '{"unknown":true}',
    () => '{"__proto__":{"x":1}}',
    () => deep(2000),
    () => `{"data":${deep(1500)}}`,
    () => deep(50),
    () =>
      String.fromCharCode(...Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256))),
  ];
  return Array.from({ length: n }, (_, i) => {
    const method = pick(methods);
    const path = pick(paths)();
    const auth = pick(auths);
    const headers = [...(auth === null ? [] : [`Authorization: ${auth}`])];
    for (const extra of extras) if (rand() < 0.08) headers.push(extra);
    const body = Buffer.from(pick(bodies)(), 'latin1');
    const framing = rand();
    let payload: Buffer = body;
    if (framing < 0.1) {
      headers.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([
        Buffer.from(`${body.length.toString(16)}\r\n`),
        body,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
    } else if (framing < 0.15) {
      headers.push('Transfer-Encoding: chunked');
      payload = Buffer.concat([Buffer.from(`${pick(['zz', '-1', 'FFFFFFFFFFFFFFFFFFFF', ''])}\r\n`), body]);
    } else if (framing < 0.2 && body.length > 1) {
      headers.push(`Content-Length: ${body.length - 1}`); // one byte too many: garbage after the request
    }
    const bytes = rawRequest(`${method} ${path} HTTP/1.1`, headers, payload);
    const label = `fuzz case ${i} (seed ${seed}): ${bytes.toString('latin1').slice(0, 300)}`;
    return { label, bytes, head: method === 'HEAD', lambdaApi: path.startsWith('/2015-03-31/') };
  });
}

describe('a seeded fuzz', () => {
  it(`answers ${FUZZ_REQUESTS} random hostile requests (seed ${FUZZ_SEED}) clearly and without a 5xx`, async () => {
    const cases = fuzzCases(FUZZ_SEED, FUZZ_REQUESTS);
    const started = Date.now();
    for (let i = 0; i < cases.length; i += 10) {
      await Promise.all(
        cases.slice(i, i + 10).map(async (c) => {
          const { answers, closed } = await exchange(c.bytes, { head: c.head, waitMs: 10_000 });
          expect(closed, c.label).toBe(true); // Connection: close: no hang
          expect(answers.length, c.label).toBeGreaterThan(0);
          for (const a of answers) {
            expect(a.status, c.label).toBeLessThan(500);
            if (a.status < 400 || c.head) continue;
            const body = JSON.parse(a.body) as { error?: { message?: string }; message?: string };
            const message = c.lambdaApi && a.headers['x-amzn-errortype'] ? body.message : body.error?.message;
            expect(message, c.label).toMatch(/^[^\r\n]{10,}$/);
          }
        }),
      );
    }
    expect(Date.now() - started).toBeLessThan(25_000);
  });
});

// ---- afterwards ----------------------------------------------------------------------------------

describe('after all of it', () => {
  it('the platform log holds no error and no stack trace', () => {
    const problems = g
      .stderr()
      .split('\n')
      .filter(
        (line) => /"level":(50|60)/.test(line) || /^\s+at |\\n\s+at /.test(line) || /Uncaught/i.test(line),
      );
    expect(problems).toEqual([]);
  });
});
