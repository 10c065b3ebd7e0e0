/**
 * Traces, the parts easy to get wrong: reading a caller's traceparent, the parent span carried
 * through a real SQLite queue (each attempt a span of its own under the producer's, a dead letter
 * under the last attempt), and the spans made from a record's timings.
 */
import path from 'node:path';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteQueue } from '../../src/backends/embedded/queue.js';
import type { InvocationRecord } from '../../src/backends/ports.js';
import { acceptInvocation } from '../../src/dispatch/accept.js';
import { Deliveries } from '../../src/dispatch/deliveries.js';
import type { DispatchResult } from '../../src/dispatch/dispatcher.js';
import { causedBy, eventInvocation, type Invocation } from '../../src/dispatch/invocation.js';
import { oneLineReason, SpanLosses } from '../../src/observe/span-losses.js';
import { spansOf } from '../../src/observe/spans.js';
import { newTrace, type TraceLink, traceFrom, traceparentOf } from '../../src/observe/trace-context.js';
import { endedCall } from '../../src/observe/traces.js';
import { tempDir, WAIT } from '../helpers/gust.js';
import { testSpec } from '../helpers/spec.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceFrom', () => {
  it('continues a valid traceparent: its trace, and its span as the parent', () => {
    expect(traceFrom(`00-${TRACE}-${SPAN}-01`)).toEqual({ traceId: TRACE, parentSpanId: SPAN });
    expect(traceFrom(` 00-${TRACE}-${SPAN}-00 `)).toEqual({ traceId: TRACE, parentSpanId: SPAN });
    // A later version may add fields; it is read as version 00.
    expect(traceFrom(`01-${TRACE}-${SPAN}-01-more`)).toEqual({ traceId: TRACE, parentSpanId: SPAN });
  });

  it('starts a new trace, without a parent, for a missing, malformed or forbidden traceparent', () => {
    for (const bad of [
      undefined,
      '',
      `00-${TRACE}-${SPAN}`,
      `00-${TRACE.toUpperCase()}-${SPAN}-01`,
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `ff-${TRACE}-${SPAN}-01`,
      `00-${TRACE}-${SPAN}-01-more`,
    ]) {
      const trace = traceFrom(bad);
      expect(trace.parentSpanId, String(bad)).toBeNull();
      expect(trace.traceId).toMatch(/^[\da-f]{32}$/);
      expect(trace.traceId).not.toBe(TRACE);
    }
  });

  it('gives a function its own span as the parent of what it calls', () => {
    const inv = eventInvocation({ function: 'a', trigger: 'invoke', trace: traceFrom(undefined), event: {} });
    expect(inv.spanId).toMatch(/^[\da-f]{16}$/);
    expect(causedBy(inv)).toEqual({ traceId: inv.traceId, parentSpanId: inv.spanId });
    expect(traceparentOf(inv.traceId, inv.spanId)).toBe(`00-${inv.traceId}-${inv.spanId}-01`);
  });
});

describe('a queued event', () => {
  it("is delivered as a child of its producer's span, each attempt a span of its own, its dead letter under the last attempt", async () => {
    const db = openDatabase(path.join(await tempDir('gust-traces-'), 'gust.db'));
    const queue = new SqliteQueue(db, { leaseMs: 60_000, maxDepth: 100 });
    const spec = testSpec('consumer', { retries: { max: 1, backoffMs: 20, deadLetter: 'failed' } });
    const calls: Invocation[] = [];
    const letters: TraceLink[] = [];
    const deliveries = new Deliveries({
      queue,
      dispatcher: {
        invoke: async (inv: Invocation): Promise<DispatchResult> => {
          calls.push(inv);
          return {
            outcome: { type: 'error', error: { name: 'Error', message: 'no' }, logs: '' },
            record: { status: 'error', error: 'Error: no', spanId: inv.spanId },
          } as unknown as DispatchResult;
        },
        refuse: () => {
          throw new Error('no event of this test is refused');
        },
      },
      specOf: (name) => (name === 'consumer' ? spec : undefined),
      shape: (delivered) => delivered[0]?.event.source,
      failed: () => undefined,
      deadLetter: async (_topic, _letter, trace) => {
        letters.push(trace);
      },
      onError: (e) => {
        throw e;
      },
      recorded: async () => {},
      leaseMs: 60_000,
    });
    cleanup.push(() => {
      db.close();
    });
    cleanup.push(() => queue.close());
    cleanup.push(() => deliveries.close());
    deliveries.serve('consumer');

    const producer = eventInvocation({
      function: 'producer',
      trigger: 'http',
      trace: traceFrom(`00-${TRACE}-${SPAN}-01`),
      event: {},
    });
    await acceptInvocation(deliveries, {
      function: 'consumer',
      trigger: 'invoke',
      trace: causedBy(producer),
      data: 1,
    });

    await vi.waitFor(() => expect(letters).toHaveLength(1), WAIT);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
    for (const c of calls) {
      expect(c.traceId).toBe(TRACE);
      expect(c.parentSpanId).toBe(producer.spanId);
      expect(c.patient).toBe(true);
    }
    expect(calls[0]!.spanId).not.toBe(calls[1]!.spanId);
    expect(letters[0]).toEqual({ traceId: TRACE, parentSpanId: calls[1]!.spanId });
  });

  it('queued before Gust kept parent spans (no parentSpanId) is delivered as the root of its trace', async () => {
    const db = openDatabase(path.join(await tempDir('gust-traces-'), 'gust.db'));
    const queue = new SqliteQueue(db, { leaseMs: 60_000, maxDepth: 100 });
    const spec = testSpec('consumer');
    const calls: Invocation[] = [];
    const deliveries = new Deliveries({
      queue,
      dispatcher: {
        invoke: async (inv: Invocation): Promise<DispatchResult> => {
          calls.push(inv);
          return { outcome: { type: 'ok', logs: '' }, record: { status: 'ok' } } as unknown as DispatchResult;
        },
        refuse: () => {
          throw new Error('no event of this test is refused');
        },
      },
      specOf: () => spec,
      shape: () => null,
      failed: () => undefined,
      deadLetter: async () => {},
      onError: (e) => {
        throw e;
      },
      recorded: async () => {},
      leaseMs: 60_000,
    });
    cleanup.push(() => {
      db.close();
    });
    cleanup.push(() => queue.close());
    cleanup.push(() => deliveries.close());
    deliveries.serve('consumer');
    await deliveries.submit([
      {
        v: 1,
        function: 'consumer',
        trigger: 'topic',
        invocationId: 'old-1',
        traceId: TRACE,
        source: { kind: 'invoke', data: null },
      },
    ]);
    await vi.waitFor(() => expect(calls).toHaveLength(1), WAIT);
    expect(calls[0]).toMatchObject({ traceId: TRACE, parentSpanId: null });
  });
});

describe('spansOf', () => {
  const resource = resourceFromAttributes({ 'service.name': 'fn' });
  const record = (over: Partial<InvocationRecord>): InvocationRecord =>
    ({
      status: 'ok',
      error: null,
      queuedMs: 12.5,
      durationMs: 30,
      initMs: 10,
      cold: true,
      instance: 'i-1',
      version: 3,
      memoryMb: 128,
      attempt: 1,
      billedMs: 40,
      ...over,
    }) as InvocationRecord;

  it("makes the invocation's span under its parent, and wait, init and run under it from the record's timings", () => {
    const inv = eventInvocation({
      function: 'fn',
      trigger: 'invoke',
      trace: traceFrom(`00-${TRACE}-${SPAN}-01`),
      event: {},
    });
    const [own, wait, init, run, ...more] = spansOf(endedCall(inv, record({})), resource);
    expect(more).toEqual([]);
    expect(own!.spanContext()).toMatchObject({ traceId: TRACE, spanId: inv.spanId });
    expect(own!.parentSpanContext).toMatchObject({ traceId: TRACE, spanId: SPAN });
    expect(own!.kind).toBe(SpanKind.SERVER);
    expect(own!.attributes).toMatchObject({ 'faas.invocation_id': inv.id, 'faas.coldstart': true });
    const ms = (t: [number, number]) => hrTimeToMilliseconds(t) - inv.received;
    expect([wait, init, run].map((s) => s!.name)).toEqual(['wait', 'init', 'run']);
    for (const child of [wait, init, run]) {
      expect(child!.parentSpanContext?.spanId).toBe(inv.spanId);
      expect(child!.spanContext().traceId).toBe(TRACE);
    }
    expect([ms(own!.startTime), ms(own!.endTime)].map(Math.round)).toEqual([0, 43]);
    expect([ms(wait!.startTime), ms(wait!.endTime)].map((x) => x.toFixed(1))).toEqual(['0.0', '12.5']);
    expect([ms(init!.startTime), ms(init!.endTime)].map((x) => x.toFixed(1))).toEqual(['2.5', '12.5']);
    expect([ms(run!.startTime), ms(run!.endTime)].map((x) => x.toFixed(1))).toEqual(['12.5', '42.5']);
  });

  it('makes a queued delivery a consumer span, and a throttled call no run, its status an error', () => {
    const queued: Invocation = {
      ...eventInvocation({ function: 'fn', trigger: 'topic', trace: newTrace(), event: {} }),
      patient: true,
    };
    const spans = spansOf(
      endedCall(
        queued,
        record({ status: 'throttled', error: 'busy', instance: null, cold: false, durationMs: 0 }),
      ),
      resource,
    );
    expect(spans.map((s) => s.name)).toEqual(['fn', 'wait']);
    expect(spans[0]!.kind).toBe(SpanKind.CONSUMER);
    expect(spans[0]!.parentSpanContext).toBeUndefined();
    expect(spans[0]!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'busy' });
  });
});

describe('what the exporter lost, in one line', () => {
  it('says how many spans of how many invocations and why, by kind, then starts again from nothing', () => {
    const losses = new SpanLosses({ queue: 65_536, pending: 50_000 });
    expect(losses.take('http://c:4318')).toBeUndefined();
    losses.lost('failed', 8, 2, 'connect ECONNREFUSED 127.0.0.1:4318');
    losses.lost('failed', 4, 1, 'HTTP 503 Service Unavailable');
    losses.lost('dropped', 3, 1);
    losses.notMade();
    losses.warned('Received Partial Success response: {"rejectedSpans":"2"}');
    expect(losses.take('http://c:4318')).toBe(
      'OTLP export to http://c:4318 lost spans: 12 span(s) of 3 invocation(s) not sent (HTTP 503 Service Unavailable); ' +
        '3 span(s) of 1 invocation(s) dropped: 65,536 spans were already waiting for the collector; ' +
        '1 invocation(s) left without spans: 50,000 were already waiting for the exporter; ' +
        'the exporter warned: Received Partial Success response: {"rejectedSpans":"2"}',
    );
    expect(losses.empty).toBe(true);
  });

  it("gives an error's reason as one short line: the collector's HTTP answer, a connection's code, never a stack", () => {
    const http = Object.assign(new Error('Bad Request'), { code: 400, data: '{"message":"no"}' });
    expect(oneLineReason(http)).toBe('HTTP 400 Bad Request: {"message":"no"}');
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:4318'), { code: 'ECONNREFUSED' });
    expect(oneLineReason(new AggregateError([refused], ''))).toBe('connect ECONNREFUSED ::1:4318');
    expect(oneLineReason(Object.assign(new Error(''), { code: 'ECONNRESET' }))).toBe('ECONNRESET');
    expect(oneLineReason(new Error('first\n    at x (y.js:1:1)'))).toBe('first');
  });
});
