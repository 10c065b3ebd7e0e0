import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hasPresignedSigV4,
  hasSigV4,
  type SignedRequest,
  type SigV4Result,
  verifySigV4,
} from '../../src/gateway/sigv4.js';

const AKID = 'GUSTK3YEXAMPLE0001';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const HOST = '127.0.0.1:8080';
const lookup = (id: string) => (id === AKID ? SECRET : null);
const encoder = new TextEncoder();

interface SignOptions {
  service?: string;
  method?: string;
  path?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string;
  secret?: string;
  date?: number;
  applyChecksum?: boolean;
  unsignable?: string[];
  signable?: string[];
}

function signer(o: SignOptions): SignatureV4 {
  const service = o.service ?? 'lambda';
  return new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: o.secret ?? SECRET },
    region: 'us-east-1',
    service,
    sha256: Hash.bind(null, 'sha256'),
    uriEscapePath: service !== 's3',
    applyChecksum: o.applyChecksum ?? true,
  });
}

function toSign(o: SignOptions) {
  const body = o.body ?? '{"a":1}';
  const headers = { host: HOST, 'content-type': 'application/json', ...o.headers };
  const path = o.path ?? '/2015-03-31/functions/hello/invocations';
  return {
    method: o.method ?? 'POST',
    protocol: 'http:',
    hostname: '127.0.0.1',
    port: 8080,
    path,
    headers,
    body,
  };
}

/** The request as a server would receive it: lower-case headers, raw path, raw query as a client encodes it. */
function received(
  signed: { headers: Record<string, string>; query?: Record<string, unknown> },
  o: SignOptions,
): SignedRequest {
  const headers = Object.fromEntries(Object.entries(signed.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const { method, path, body } = toSign(o);
  return { method, path, query, headers, body: encoder.encode(body) };
}

async function sign(o: SignOptions = {}): Promise<SignedRequest> {
  const signed = await signer(o).sign(
    { ...toSign(o), query: o.query ?? {} },
    {
      signingDate: new Date(o.date ?? NOW),
      unsignableHeaders: new Set(o.unsignable ?? []),
      signableHeaders: new Set(o.signable ?? []),
    },
  );
  return received(signed, o);
}

async function presign(o: SignOptions & { expiresIn: number; unhoisted?: string[] }): Promise<SignedRequest> {
  const request = { ...toSign({ method: 'GET', ...o }), query: o.query ?? {} };
  const presigned = await signer(o).presign(request, {
    signingDate: new Date(o.date ?? NOW),
    expiresIn: o.expiresIn,
    unsignableHeaders: new Set(['content-type', ...(o.unsignable ?? [])]),
    unhoistableHeaders: new Set(o.unhoisted ?? []),
  });
  return received(presigned, { method: 'GET', ...o });
}

function reasonOf(result: SigV4Result): string {
  return result.ok ? 'ok' : result.reason;
}

describe('verifySigV4 on requests signed by the AWS signer', () => {
  it('accepts a signed Lambda invoke and names the key, region, service and a signed payload', async () => {
    const req = await sign();
    expect(hasSigV4(req.headers)).toBe(true);
    const result = await verifySigV4(req, lookup, NOW);
    expect(result).toMatchObject({
      ok: true,
      accessKeyId: AKID,
      region: 'us-east-1',
      service: 'lambda',
      payload: 'signed',
    });
  });

  it('accepts a percent-encoded path, which services other than S3 sign double-encoded', async () => {
    const path = '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ahello/invocations';
    expect(reasonOf(await verifySigV4(await sign({ path }), lookup, NOW))).toBe('ok');
  });

  it('accepts an S3 request whose path is signed encoded once, with an unsigned or streaming payload', async () => {
    const path = '/photos/summer%20trip/a%2Bb%28c%29.png';
    const unsigned = await sign({
      service: 's3',
      path,
      headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    expect(await verifySigV4(unsigned, lookup, NOW)).toMatchObject({
      ok: true,
      service: 's3',
      payload: 'unsigned',
    });
    const marker = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
    const streaming = await sign({ service: 's3', path, headers: { 'x-amz-content-sha256': marker } });
    expect(await verifySigV4(streaming, lookup, NOW)).toMatchObject({ ok: true, payload: 'streaming' });
    const hashed = await sign({ service: 's3', path, method: 'PUT', body: 'pixels' });
    expect(await verifySigV4(hashed, lookup, NOW)).toMatchObject({ ok: true, payload: 'signed' });
  });

  it('accepts a query string in any order and with loosely encoded characters', async () => {
    const req = await sign({ query: { b: '2', a: "it's a (test)", 'x-id': 'Invoke' } });
    req.query = "x-id=Invoke&b=2&a=it's%20a%20(test)";
    expect(reasonOf(await verifySigV4(req, lookup, NOW))).toBe('ok');
  });

  it('accepts a request signed without x-amz-content-sha256 by hashing the body itself', async () => {
    const req = await sign({ applyChecksum: false });
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    expect(await verifySigV4(req, lookup, NOW)).toMatchObject({ ok: true, payload: 'signed' });
  });

  it('accepts headers added after signing and does not let an unsigned payload header change the verdict', async () => {
    const req = await sign({ applyChecksum: false });
    const added = {
      'x-forwarded-for': '10.0.0.1',
      'user-agent': 'curl',
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
    };
    const result = await verifySigV4({ ...req, headers: { ...req.headers, ...added } }, lookup, NOW);
    expect(result).toMatchObject({ ok: true, payload: 'signed' });
  });

  it('accepts a client that signed user-agent, which the AWS SDK leaves unsigned', async () => {
    const req = await sign({ headers: { 'user-agent': 'rclone/1.0' }, signable: ['user-agent'] });
    expect(String(req.headers.authorization)).toMatch(/SignedHeaders=[^,]*user-agent/);
    expect(reasonOf(await verifySigV4(req, lookup, NOW))).toBe('ok');
  });

  it('accepts an async secret lookup', async () => {
    const result = await verifySigV4(await sign(), async (id) => lookup(id), NOW);
    expect(result.ok).toBe(true);
  });
});

describe('verifySigV4 refuses what was not signed as received', () => {
  it('refuses a changed body when the payload hash header was signed', async () => {
    const req = await sign();
    const result = await verifySigV4({ ...req, body: encoder.encode('{"a":2}') }, lookup, NOW);
    expect(reasonOf(result)).toMatch(/x-amz-content-sha256 does not match the body/);
  });

  it('refuses a changed body when the client hashed it into the signature without the header', async () => {
    const req = await sign({ applyChecksum: false });
    expect(req.headers['x-amz-content-sha256']).toBeUndefined();
    const result = await verifySigV4({ ...req, body: encoder.encode('{"a":2}') }, lookup, NOW);
    expect(reasonOf(result)).toMatch(/^signature does not match/);
  });

  it('ignores an unsigned x-amz-content-sha256, so it cannot vouch for a swapped body', async () => {
    const req = await sign({ applyChecksum: false });
    const swapped = '{"evil":true}';
    const hash = createHash('sha256').update(swapped).digest('hex');
    const headers = { ...req.headers, 'x-amz-content-sha256': hash };
    const result = await verifySigV4({ ...req, headers, body: encoder.encode(swapped) }, lookup, NOW);
    expect(reasonOf(result)).toMatch(/^signature does not match/);
  });

  it('refuses a changed path, query, method or signed header', async () => {
    const req = await sign({ query: { Qualifier: '1' } });
    const tampered: SignedRequest[] = [
      { ...req, path: '/2015-03-31/functions/admin/invocations' },
      { ...req, query: 'Qualifier=2' },
      { ...req, query: '' },
      { ...req, method: 'PUT' },
      { ...req, headers: { ...req.headers, 'content-type': 'text/plain' } },
      { ...req, headers: { ...req.headers, host: 'evil.example:8080' } },
    ];
    for (const t of tampered)
      expect(reasonOf(await verifySigV4(t, lookup, NOW))).toMatch(/^signature does not match/);
  });

  it('refuses the wrong secret with a reason that points at the secret access key', async () => {
    const result = await verifySigV4(await sign({ secret: 'not-the-secret' }), lookup, NOW);
    expect(reasonOf(result)).toMatch(/^signature does not match: check the secret access key/);
  });

  it('refuses an unknown access key id without computing anything', async () => {
    const result = await verifySigV4(await sign(), () => null, NOW);
    expect(reasonOf(result)).toMatch(/^unknown access key id GUSTK3YEXAMPLE0001/);
  });

  it('refuses a clock more than 15 minutes off either way and accepts 14 minutes', async () => {
    const req = await sign();
    const minute = 60_000;
    expect((await verifySigV4(req, lookup, NOW + 14 * minute)).ok).toBe(true);
    expect((await verifySigV4(req, lookup, NOW - 14 * minute)).ok).toBe(true);
    for (const now of [NOW + 16 * minute, NOW - 16 * minute]) {
      expect(reasonOf(await verifySigV4(req, lookup, now))).toMatch(
        /more than 15 minutes from the server time/,
      );
    }
  });

  it('refuses a credential date that is not the day of x-amz-date', async () => {
    const req = await sign();
    const authorization = String(req.headers.authorization).replace('/20250101/', '/20241231/');
    const result = await verifySigV4({ ...req, headers: { ...req.headers, authorization } }, lookup, NOW);
    expect(reasonOf(result)).toMatch(/credential date 20241231 does not match/);
  });

  it('refuses a request whose host header was not signed', async () => {
    const result = await verifySigV4(await sign({ unsignable: ['host'] }), lookup, NOW);
    expect(reasonOf(result)).toMatch(/^host header is not signed/);
  });

  it('refuses an x-amz-date that is not a real instant, such as February 30', async () => {
    const req = await sign();
    const headers = { ...req.headers, 'x-amz-date': '20250230T120000Z' };
    const result = await verifySigV4({ ...req, headers }, lookup, NOW);
    expect(reasonOf(result)).toMatch(/^malformed x-amz-date '20250230T120000Z'/);
  });

  it('refuses a request without x-amz-date', async () => {
    const req = await sign();
    const { 'x-amz-date': _, ...headers } = req.headers;
    const result = await verifySigV4({ ...req, headers }, lookup, NOW);
    expect(reasonOf(result)).toMatch(/^missing x-amz-date header/);
  });

  it('refuses a request that lacks a header it claims to have signed', async () => {
    const req = await sign();
    const { 'content-type': _, ...headers } = req.headers;
    const result = await verifySigV4({ ...req, headers }, lookup, NOW);
    expect(reasonOf(result)).toBe('signed header content-type is missing from the request');
  });
});

describe('verifySigV4 on presigned URLs', () => {
  it('accepts a presigned URL until it expires, then says it expired', async () => {
    const req = await presign({ expiresIn: 300, body: '', query: { 'x-id': 'GetObject' } });
    expect(req.headers.authorization).toBeUndefined();
    expect(hasPresignedSigV4(req.query)).toBe(true);
    expect(await verifySigV4(req, lookup, NOW + 299_000)).toMatchObject({ ok: true, payload: 'signed' });
    expect(reasonOf(await verifySigV4(req, lookup, NOW + 301_000))).toBe('presigned URL has expired');
  });

  it('accepts S3 presigned URLs in the AWS SDK shape and the botocore shape (UNSIGNED-PAYLOAD)', async () => {
    const base = { service: 's3', path: '/photos/a%20b.png', body: '', expiresIn: 900 };
    const headers = { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' };
    const sdk = await presign({ ...base, headers });
    expect(sdk.query).toMatch(/x-amz-content-sha256=UNSIGNED-PAYLOAD/i);
    const unsigned = ['x-amz-content-sha256'];
    const boto = await presign({ ...base, headers, unhoisted: unsigned, unsignable: unsigned });
    for (const req of [sdk, { ...boto, headers: { host: HOST } }]) {
      expect(req.query).toMatch(/X-Amz-SignedHeaders=host(&|$)/);
      expect(await verifySigV4(req, lookup, NOW)).toMatchObject({
        ok: true,
        service: 's3',
        payload: 'unsigned',
      });
    }
  });

  it('refuses a presigned URL with a changed parameter or path', async () => {
    const req = await presign({ expiresIn: 300, body: '', query: { versionId: '1' } });
    for (const t of [
      { ...req, query: req.query.replace('versionId=1', 'versionId=2') },
      { ...req, path: '/x' },
    ]) {
      expect(reasonOf(await verifySigV4(t, lookup, NOW))).toMatch(/^signature does not match/);
    }
  });

  it('refuses a presigned URL dated in the future or living longer than a week', async () => {
    const future = await presign({ expiresIn: 300, body: '', date: NOW + 3_600_000 });
    expect(reasonOf(await verifySigV4(future, lookup, NOW))).toMatch(/more than 15 minutes/);
    const req = await presign({ expiresIn: 300, body: '' });
    const long = { ...req, query: req.query.replace('X-Amz-Expires=300', 'X-Amz-Expires=604801') };
    expect(reasonOf(await verifySigV4(long, lookup, NOW))).toMatch(/X-Amz-Expires must be 1 to 604800/);
  });
});

describe('verifySigV4 on malformed input', () => {
  const auth = (value: string) => ({ authorization: value, host: HOST, 'x-amz-date': '20250101T120000Z' });
  const cases: Array<[string, Partial<SignedRequest>]> = [
    ['no signature at all', { headers: { host: HOST } }],
    ['a bearer key', { headers: { authorization: 'Bearer gust_abc', host: HOST } }],
    ['an empty AWS4 header', { headers: auth('AWS4-HMAC-SHA256 ') }],
    [
      'no Signature field',
      { headers: auth(`AWS4-HMAC-SHA256 Credential=${AKID}/20250101/us-east-1/lambda/aws4_request`) },
    ],
    [
      'a short credential',
      { headers: auth('AWS4-HMAC-SHA256 Credential=a/b, SignedHeaders=host, Signature=00') },
    ],
    [
      'a bad date',
      { headers: { ...auth('AWS4-HMAC-SHA256 Credential=x'), 'x-amz-date': '20250230T000000Z' } },
    ],
    ['a repeated x-amz-date', { headers: { ...auth('AWS4-HMAC-SHA256 x'), 'x-amz-date': ['a', 'b'] } }],
    ['a broken percent-escape', { query: 'a=%E0%A4%A' }],
    ['a half presigned URL', { query: 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=10' }],
    ['a lone surrogate in the path', { path: '/\uD800' }],
    [
      'a __proto__ header name',
      { headers: { authorization: 'AWS4-HMAC-SHA256 SignedHeaders=__proto__;host' } },
    ],
  ];
  const empty: SignedRequest = { method: 'POST', path: '/', query: '', headers: {}, body: new Uint8Array() };

  it.each(cases)('refuses %s with a one-line reason', async (_name, part) => {
    const result = await verifySigV4({ ...empty, ...part }, lookup, NOW);
    expect(result.ok).toBe(false);
    expect(reasonOf(result)).toMatch(/^[^\n]{10,}$/);
  });

  it('never throws on thousands of randomly mutated signed requests', async () => {
    const req = await sign({ query: { a: '1' } });
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = 'aZ09 ,;=/%&?-_:\n\u0000\u00e9\uD800AWS4-HMAC-SHA256';
    const mutate = (s: string) => {
      const at = random(s.length + 1);
      return s.slice(0, at) + alphabet.charAt(random(alphabet.length)) + s.slice(at + random(3));
    };
    for (let i = 0; i < 3000; i++) {
      const headers: Record<string, string> = { ...(req.headers as Record<string, string>) };
      const name = Object.keys(headers)[random(Object.keys(headers).length)] ?? 'host';
      headers[name] = mutate(headers[name] ?? '');
      const mutated = { ...req, headers, query: random(4) === 0 ? mutate(req.query) : req.query };
      const result = await verifySigV4(mutated, lookup, NOW);
      if (!result.ok) expect(result.reason).not.toBe('');
    }
  });
});

describe('verifySigV4 behind a real HTTP server with the AWS SDK Lambda client', () => {
  let server: Server;
  let endpoint: string;
  const seen: SigV4Result[] = [];

  const bodyOf = async (req: IncomingMessage) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return new Uint8Array(Buffer.concat(chunks));
  };

  beforeAll(async () => {
    server = createServer(async (req, res) => {
      const [path = '/', query = ''] = (req.url ?? '/').split(/\?(.*)/s);
      const body = await bodyOf(req);
      const result = await verifySigV4(
        { method: req.method ?? 'GET', path, query, headers: req.headers, body },
        async (id) => lookup(id),
      );
      seen.push(result);
      const [status, json] = result.ok ? [200, { ok: true }] : [403, { message: result.reason }];
      const errorType = result.ok ? {} : { 'x-amzn-errortype': 'AccessDeniedException' };
      res.writeHead(status, { 'content-type': 'application/json', ...errorType }).end(JSON.stringify(json));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const client = (secretAccessKey: string) =>
    new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: AKID, secretAccessKey } });

  it('verifies an InvokeCommand sent by the AWS SDK and refuses one signed with the wrong secret', async () => {
    const good = client(SECRET);
    const bad = client('wrong-secret');
    try {
      const payload = encoder.encode('{"a":1}');
      for (const FunctionName of ['hello', 'arn:aws:lambda:us-east-1:123456789012:function:hello']) {
        const out = await good.send(new InvokeCommand({ FunctionName, Payload: payload }));
        expect(out.StatusCode).toBe(200);
        expect(new TextDecoder().decode(out.Payload)).toBe('{"ok":true}');
        expect(seen.at(-1)).toMatchObject({
          ok: true,
          accessKeyId: AKID,
          region: 'us-east-1',
          service: 'lambda',
          payload: 'signed',
        });
      }
      await expect(bad.send(new InvokeCommand({ FunctionName: 'hello', Payload: payload }))).rejects.toThrow(
        /signature does not match/,
      );
      expect(reasonOf(seen.at(-1) ?? { ok: false, reason: 'none' })).toMatch(/^signature does not match/);
    } finally {
      good.destroy();
      bad.destroy();
    }
  });
});
