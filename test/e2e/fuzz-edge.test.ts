/**
 * The edge under generated malformed input (fast-check): the gateway's function routes, the
 * control API and the CloudEvents ingress, 10,000+ requests against a real platform. No request
 * may get a 5xx or hang, and the platform answers /_gust/healthz throughout.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, deployProject, type Gust, startGust } from '../helpers/gust.js';

let g: Gust;
let invokeKey: string;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
topics: [fuzzed]
kv: [fuzzkv]
functions:
  echo:
    handler: f.mjs
    input: { type: object, properties: { n: { type: integer } } }
    triggers:
      - http: { path: /echo/:id, methods: [GET, POST] }
      - topic: { name: fuzzed }
`,
    'f.mjs': 'export default async (req) => new Response(req.method + " " + new URL(req.url).pathname);\n',
  });
  invokeKey = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'invoke' })).body.key;
});

afterAll(async () => {
  await g?.stop();
});

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 40 });
const weird = fc.oneof(
  printable,
  fc.string({ maxLength: 40 }),
  fc.constantFrom('%', '%zz', '..', '//', '\u0000', '%2F', '%00', '~', '[]', '{}', '😀'),
);
const pathOf = fc
  .array(weird, { maxLength: 5 })
  .map((parts) => parts.map((p) => encodeURIComponent(p).replace(/%25/g, '%')).join('/'));
const jsonish = fc.oneof(
  fc.json({ maxDepth: 4 }),
  printable,
  fc.constantFrom('{', '[', '{"a":', 'null', '{"n":"x"}', '{"n":1}', `{"a":${'['.repeat(50)}`),
);

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | undefined;
}

/** Sends `count` generated requests `parallel` at a time; returns every answer's status. */
async function fire(
  arb: fc.Arbitrary<Sent>,
  count: number,
  parallel = 16,
): Promise<{ sent: Sent; status: number }[]> {
  const requests = fc.sample(arb, { numRuns: count, seed: 20261130 });
  const answers: { sent: Sent; status: number }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const sent = requests[next++]!;
      const res = await fetch(`${g.url}${sent.path}`, {
        method: sent.method,
        headers: sent.headers,
        ...(sent.body === undefined || sent.method === 'GET' || sent.method === 'HEAD'
          ? {}
          : { body: sent.body }),
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      answers.push({ sent, status: res.status });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return answers;
}

const no5xx = (answers: { sent: Sent; status: number }[]) =>
  answers.filter((a) => a.status >= 500).map((a) => `${a.status} ${a.sent.method} ${a.sent.path}`);

async function healthy(): Promise<void> {
  expect((await fetch(`${g.url}/_gust/healthz`)).status).toBe(200);
}

describe('the edge under generated malformed input', () => {
  it('function routes: 4,000 requests with odd paths, methods, headers and bodies, no 5xx', async () => {
    const arb = fc.record({
      method: fc.constantFrom(...METHODS),
      path: fc.oneof(
        pathOf.map((p) => `/echo/${p}`),
        pathOf.map((p) => `/${p}`),
      ),
      headers: fc.dictionary(
        fc.constantFrom('content-type', 'x-custom', 'accept', 'traceparent', 'x-gust-key-id'),
        printable.filter((v) => !/[\r\n]/.test(v)),
        { maxKeys: 3 },
      ),
      body: fc.option(jsonish, { nil: undefined }),
    });
    const answers = await fire(arb, 4000);
    expect(no5xx(answers)).toEqual([]);
    // bodies that the input schema refuses never reach the function: 400, not 500
    expect(answers.some((a) => a.status === 400)).toBe(true);
    await healthy();
  });

  it('the control API: 3,000 requests with odd paths, queries and JSON bodies, no 5xx', async () => {
    const arb = fc.record({
      method: fc.constantFrom(...METHODS),
      path: fc
        .oneof(
          pathOf.map((p) => `/_gust/api/v1/${p}`),
          fc.constantFrom(
            '/_gust/api/v1/deploy',
            '/_gust/api/v1/functions/echo/invoke',
            '/_gust/api/v1/functions/echo/invocations',
            '/_gust/api/v1/kv/fuzzkv/keys',
            '/_gust/api/v1/secrets/X',
            '/_gust/api/v1/keys',
            '/_gust/api/v1/topics/fuzzed/publish',
          ),
        )
        .chain((p) =>
          fc
            .tuple(fc.constant(p), fc.option(pathOf, { nil: undefined }))
            .map(([a, q]) => (q ? `${a}?${q}` : a)),
        ),
      headers: fc.constant({ authorization: `Bearer ${g.key}`, 'content-type': 'application/json' }),
      body: fc.option(jsonish, { nil: undefined }),
    });
    const answers = await fire(arb, 3000);
    expect(no5xx(answers)).toEqual([]);
    await healthy();
  });

  it('the CloudEvents ingress: 3,000 posts with odd content types, headers and bodies, no 5xx', async () => {
    const arb = fc.record({
      method: fc.constant('POST'),
      path: fc.constantFrom('/_gust/events/fuzzed', '/_gust/events/nope', '/_gust/events/%zz'),
      headers: fc
        .record({
          'content-type': fc.constantFrom(
            'application/cloudevents+json',
            'application/cloudevents-batch+json',
            'application/json',
            'text/plain',
            'application/octet-stream',
          ),
          'ce-specversion': fc.constantFrom('1.0', '0.3', ''),
          'ce-id': printable,
          'ce-source': printable,
          'ce-type': printable,
        })
        .map((h) => ({ ...h, authorization: `Bearer ${invokeKey}` })),
      body: fc.option(jsonish, { nil: undefined }),
    });
    const answers = await fire(arb, 3000);
    expect(no5xx(answers)).toEqual([]);
    expect(answers.some((a) => a.status === 202)).toBe(true);
    await healthy();
  });
});
