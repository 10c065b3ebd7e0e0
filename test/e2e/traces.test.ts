/**
 * Traces end to end: a platform exporting to a real OTLP/HTTP receiver (a node:http server taking
 * OTLP's JSON encoding, as a Collector would), and a chain of three functions: an HTTP function
 * publishes to a topic, whose consumer calls a third with ctx.invoke. One trace across the three
 * records and spans, each parent link right, the caller's traceparent continued, and each function
 * handed its own span to pass on.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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

/** A span as OTLP/JSON sends it (ids in hex), with its resource's service.name beside it. */
interface OtlpSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind: number;
  readonly startTimeUnixNano: string;
  readonly endTimeUnixNano: string;
  readonly attributes: readonly { key: string; value: Record<string, unknown> }[];
  readonly status?: { code?: number };
}

interface OtlpBody {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: Omit<OtlpSpan, 'service'>[] }[];
  }[];
}

const SERVER = 2;
const CONSUMER = 5;
const INTERNAL = 1;
const TRACE = '0af7651916cd43dd8448eb211c80319c';
const CALLER_SPAN = 'b7ad6b7169203331';

let g: Gust;
let receiver: Server;
let collector: string;
const received: OtlpSpan[] = [];
const contentTypes = new Set<string>();

beforeAll(async () => {
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      contentTypes.add(String(req.headers['content-type']));
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpBody;
      for (const rs of body.resourceSpans) {
        const service = rs.resource.attributes.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
        for (const ss of rs.scopeSpans) for (const s of ss.spans) received.push({ service, ...s });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  const { port } = receiver.address() as AddressInfo;
  collector = `http://127.0.0.1:${port}`;
  g = await startGust({ env: { GUST_OTLP_URL: collector } });
  await deployProject(g, {
    'gust.yaml': `
topics: [orders]
functions:
  front:
    handler: front.mjs
    permissions: [topic:orders:publish]
    triggers:
      - http: { path: /front, methods: [GET], auth: public }
  middle:
    handler: f.mjs#middle
    permissions: [function:back:invoke]
    triggers:
      - topic: { name: orders }
  back:
    handler: f.mjs#back
`,
    'front.mjs': `
export default async (req, ctx) => {
  await ctx.publish('orders', { from: 'front' });
  return Response.json({ header: req.headers.get('traceparent'), ctx: ctx.traceparent, traceId: ctx.traceId });
};
`,
    'f.mjs': `
export const middle = async (e, ctx) => ctx.invoke('back', { from: 'middle' });
export const back = async (e, ctx) => { console.log('traceparent ' + ctx.traceparent); return { ok: true }; };
`,
  });
});

afterAll(async () => {
  await g?.stop();
  receiver?.close();
});

const one = async (fn: string, traceId: string): Promise<InvocationRecord> => {
  const found = (await records(g, fn)).filter((r) => r.traceId === traceId);
  expect(found).toHaveLength(1);
  return found[0]!;
};

const spansOf = (traceId: string) => received.filter((s) => s.traceId === traceId);

/** The ids of a trace's records as the control API lists them (the dashboard's waterfall), in start order. */
async function traceIds(traceId: string, around?: string): Promise<string[]> {
  const query = around ? `?invocation=${around}` : '';
  const { status, body } = await api<{ records: InvocationRecord[]; complete: boolean }>(
    g,
    'GET',
    `/traces/${traceId}${query}`,
  );
  expect(status).toBe(200);
  expect(body.complete).toBe(true);
  return body.records.map((r) => r.id);
}

describe('a chain of functions (HTTP, then a topic, then ctx.invoke)', () => {
  it("is one trace that continues the caller's traceparent, its records and spans each the child of the one before", async () => {
    const res = await fetch(`${g.url}/front`, { headers: { traceparent: `00-${TRACE}-${CALLER_SPAN}-01` } });
    expect(res.status, await res.clone().text()).toBe(200);
    const seen = (await res.json()) as { header: string; ctx: string; traceId: string };

    const chain = await vi.waitFor(async () => {
      const back = await one('back', TRACE);
      return { front: await one('front', TRACE), middle: await one('middle', TRACE), back };
    }, WAIT);
    const { front, middle, back } = chain;
    // The records: each the child of the one before, the first of the caller's span.
    expect(front.parentSpanId).toBe(CALLER_SPAN);
    expect(middle.parentSpanId).toBe(front.spanId);
    expect(back.parentSpanId).toBe(middle.spanId);
    expect(new Set([front.spanId, middle.spanId, back.spanId, CALLER_SPAN]).size).toBe(4);
    for (const r of [front, middle, back]) expect(r.spanId).toMatch(/^[\da-f]{16}$/);

    // What the functions were handed to pass on: their own span, on the request and on ctx.
    expect(seen).toEqual({
      header: `00-${TRACE}-${front.spanId}-01`,
      ctx: `00-${TRACE}-${front.spanId}-01`,
      traceId: TRACE,
    });
    expect(back.logs).toContain(`traceparent 00-${TRACE}-${back.spanId}-01`);
    // The control API gives the trace's records, in the order they started.
    expect(await traceIds(TRACE)).toEqual([front.id, middle.id, back.id]);

    // The spans the receiver got: the three invocations, as the records say, and their parts.
    await vi.waitFor(() => {
      const ids = spansOf(TRACE).map((s) => s.spanId);
      expect(ids).toEqual(expect.arrayContaining([front.spanId, middle.spanId, back.spanId]));
      // every invocation's run has arrived too
      expect(spansOf(TRACE).filter((s) => s.name === 'run')).toHaveLength(3);
    }, WAIT);
    expect(contentTypes).toEqual(new Set(['application/json']));
    const spans = spansOf(TRACE);
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const expected = [
      { r: front, service: 'front', kind: SERVER, parent: CALLER_SPAN, trigger: 'http' },
      { r: middle, service: 'middle', kind: CONSUMER, parent: front.spanId, trigger: 'pubsub' },
      { r: back, service: 'back', kind: SERVER, parent: middle.spanId, trigger: 'other' },
    ];
    for (const { r, service, kind, parent, trigger } of expected) {
      const span = byId.get(r.spanId!)!;
      expect(span).toMatchObject({ service, name: service, kind, parentSpanId: parent });
      expect(span.attributes).toContainEqual({ key: 'faas.invocation_id', value: { stringValue: r.id } });
      expect(span.attributes).toContainEqual({ key: 'faas.trigger', value: { stringValue: trigger } });
      const children = spans.filter((s) => s.parentSpanId === r.spanId && s.service === service);
      const names = children.map((s) => s.name).sort();
      expect(names).toEqual(r.cold ? ['init', 'run', 'wait'] : ['run', 'wait']);
      for (const c of children) {
        expect(c.kind).toBe(INTERNAL);
        // within their invocation's span
        expect(BigInt(c.startTimeUnixNano) >= BigInt(span.startTimeUnixNano)).toBe(true);
        expect(BigInt(c.endTimeUnixNano) <= BigInt(span.endTimeUnixNano)).toBe(true);
      }
      // the run lasts what the record says it lasted
      const run = children.find((c) => c.name === 'run')!;
      const runMs = Number(BigInt(run.endTimeUnixNano) - BigInt(run.startTimeUnixNano)) / 1e6;
      expect(runMs).toBeCloseTo(r.durationMs, 0);
    }
    // nothing else of this trace: three invocations, each with its wait and run, the cold ones an init
    const colds = [front, middle, back].filter((r) => r.cold).length;
    expect(spans).toHaveLength(9 + colds);
  });

  it('starts a trace of its own for a request without traceparent', async () => {
    const res = await fetch(`${g.url}/front`);
    const seen = (await res.json()) as { header: string; traceId: string };
    expect(seen.traceId).toMatch(/^[\da-f]{32}$/);
    expect(seen.traceId).not.toBe(TRACE);
    const front = await vi.waitFor(() => one('front', seen.traceId), WAIT);
    expect(front.parentSpanId).toBeNull();
    // The root of a trace that started here (not indexed by trace) is found, asked from a child or itself.
    const back = await vi.waitFor(() => one('back', seen.traceId), WAIT);
    const middle = await one('middle', seen.traceId);
    const chain = [front.id, middle.id, back.id];
    expect(await traceIds(seen.traceId, back.id)).toEqual(chain);
    expect(await traceIds(seen.traceId, front.id)).toEqual(chain);
    expect(await traceIds(seen.traceId)).toEqual(chain);
    expect(seen.header).toBe(`00-${seen.traceId}-${front.spanId}-01`);
    await vi.waitFor(() => {
      const span = spansOf(seen.traceId).find((s) => s.spanId === front.spanId);
      expect(span).toBeDefined();
      expect(span!.parentSpanId ?? '').toBe('');
    }, WAIT);
  });

  it('refuses a malformed trace id and says when no record has it', async () => {
    const bad = await api<{ error: { code: string; message: string } }>(g, 'GET', '/traces/not-a-trace');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/32 lowercase hex digits/);
    const none = await api<{ error: { code: string } }>(g, 'GET', `/traces/${'ab'.repeat(16)}`);
    expect(none.status).toBe(404);
  });

  it('refuses a count outside its range, saying the range: a trace limit, latency steps', async () => {
    for (const limit of ['0', '1001', 'x', '']) {
      const r = await api<{ error: { message: string } }>(g, 'GET', `/traces/${TRACE}?limit=${limit}`);
      expect(r.status, limit).toBe(400);
      expect(r.body.error.message).toBe('limit must be a whole number from 1 to 1000');
    }
    expect((await api(g, 'GET', `/traces/${TRACE}?limit=1`)).status).toBe(200);
    for (const steps of ['0', '241']) {
      const r = await api<{ error: { message: string } }>(
        g,
        'GET',
        `/functions/front/latency?steps=${steps}`,
      );
      expect(r.status, steps).toBe(400);
      expect(r.body.error.message).toBe('steps must be a whole number from 1 to 240');
    }
    expect((await api(g, 'GET', '/functions/front/latency?steps=1')).status).toBe(200);
  });

  it('sends the spans still waiting when the platform stops', async () => {
    const res = await fetch(`${g.url}/front`);
    const { traceId } = (await res.json()) as { traceId: string };
    // At once: the batch would otherwise leave within a second; the platform's close sends it.
    expect(await g.stop()).toBe(0);
    expect(spansOf(traceId).some((s) => s.service === 'front' && s.kind === SERVER)).toBe(true);
    // nothing was lost, and the log says nothing of it
    expect(g.stderr()).not.toMatch(/span/i);
  });
});

describe('GUST_TRACES_SAMPLE', () => {
  it('exports the spans of that share of traces, decided by the trace id; records keep every one', async () => {
    const half = await startGust({ env: { GUST_OTLP_URL: collector, GUST_TRACES_SAMPLE: '0.5' } });
    try {
      await deployProject(half, {
        'gust.yaml':
          'functions:\n  solo:\n    handler: solo.mjs\n    triggers:\n      - http: { path: /solo, auth: public }\n',
        'solo.mjs': 'export default async () => new Response("ok");\n',
      });
      // the last 13 hex digits read as a fraction: about 0 (exported) and about 1 (not)
      const low = '0af7651916cd43dd0000000000000001';
      const high = '0af7651916cd43ddffffffffffffffff';
      for (const trace of [low, high]) {
        const res = await fetch(`${half.url}/solo`, {
          headers: { traceparent: `00-${trace}-${CALLER_SPAN}-01` },
        });
        expect(res.status).toBe(200);
      }
      const kept = await vi.waitFor(async () => {
        const rs = await records(half, 'solo');
        expect(rs).toHaveLength(2);
        return rs;
      }, WAIT);
      expect(new Set(kept.map((r) => r.traceId))).toEqual(new Set([low, high]));
      // the stop sends what waits
      expect(await half.stop()).toBe(0);
      expect(spansOf(low).some((s) => s.service === 'solo' && s.kind === SERVER)).toBe(true);
      expect(spansOf(high)).toEqual([]);
    } finally {
      await half.stop();
    }
  });
});
