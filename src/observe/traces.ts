/**
 * observe/traces: every invocation as OpenTelemetry spans, exported over OTLP/HTTP (JSON) when
 * `GUST_OTLP_URL` is set; without it this module is not even loaded (platform.ts).
 *
 * An invocation's spans are made once it has ended, from the record the dispatcher just made: its
 * span (SERVER for a call answered on the spot, CONSUMER for a queued event) and the children
 * `wait` (arrival to the lease of an instance: the queue, a busy pool), `init` (the cold start's
 * module load, at the end of the wait) and `run`. Their times are the dispatcher's own (`queuedMs`,
 * `initMs`, `durationMs` from `received`): no second clock. The ids are those of the invocation,
 * chosen at the edge (trace-context.ts), so the SDK's Tracer, which draws its own ids and clocks
 * as spans start, is not used: spans go straight to a BatchSpanProcessor.
 *
 * Off the hot path: the processor batches (at most MAX_QUEUE spans wait; past it, spans are
 * dropped, never memory), and each batch is serialized and sent on a later turn of the event loop
 * (`Deferred`), not inside the call that filled it. What a crash loses: the spans not sent yet
 * (at most a second's worth); the records keep every id.
 */
import { type Attributes, type SpanContext, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { type ExportResult, ExportResultCode, hrTimeDuration, millisToHrTime } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { InvocationRecord } from '../backends/ports.js';
import type { Invocation } from '../dispatch/invocation.js';
import { newSpanId } from './trace-context.js';

/** What the dispatcher tells of each invocation as it ends. */
export interface SpanSink {
  ended(inv: Invocation, record: InvocationRecord): void;
}

export interface TracesOptions {
  /** The collector's base URL (`http://host:4318`), or its full `/v1/traces` URL. */
  readonly url: string;
  readonly onError: (e: unknown) => void;
  /** How often a batch leaves at the latest (ms). */
  readonly delayMs?: number;
}

const MAX_QUEUE = 32_768;
const BATCH = 2048;
const DELAY_MS = 1000;
const EXPORT_TIMEOUT_MS = 10_000;
/** A collector that is down is said once a minute, with how many batches failed meanwhile. */
const COMPLAIN_EVERY_MS = 60_000;

const SCOPE = { name: 'gust' };
const SAMPLED = TraceFlags.SAMPLED;

/** OpenTelemetry's FaaS trigger of each Gust trigger. */
const FAAS_TRIGGER: Readonly<Record<string, string>> = {
  http: 'http',
  webhook: 'http',
  topic: 'pubsub',
  stream: 'pubsub',
  schedule: 'timer',
  kv: 'datasource',
  bucket: 'datasource',
  postgres: 'datasource',
};

export class Traces implements SpanSink {
  private readonly processor: BatchSpanProcessor;
  private readonly resources = new Map<string, Resource>();

  constructor(opts: TracesOptions) {
    const url = /\/v1\/traces\/?$/.test(opts.url) ? opts.url : `${opts.url.replace(/\/+$/, '')}/v1/traces`;
    const exporter = new OTLPTraceExporter({ url, timeoutMillis: EXPORT_TIMEOUT_MS });
    this.processor = new BatchSpanProcessor(new Deferred(exporter, opts.onError), {
      maxQueueSize: MAX_QUEUE,
      maxExportBatchSize: BATCH,
      scheduledDelayMillis: opts.delayMs ?? DELAY_MS,
      exportTimeoutMillis: EXPORT_TIMEOUT_MS,
    });
  }

  ended(inv: Invocation, record: InvocationRecord): void {
    for (const span of spansOf(inv, record, this.resourceOf(inv.function))) this.processor.onEnd(span);
  }

  /** Sends what waits, then stops (the platform's close). */
  async close(): Promise<void> {
    await this.processor.shutdown();
  }

  /** Each function is a service of its own in the trace viewers, as a Lambda function is. */
  private resourceOf(fn: string): Resource {
    let resource = this.resources.get(fn);
    if (resource === undefined) {
      resource = resourceFromAttributes({ 'service.name': fn, 'service.namespace': 'gust', 'faas.name': fn });
      this.resources.set(fn, resource);
    }
    return resource;
  }
}

/**
 * The spans of one ended invocation: its own, then `wait`, `init` (cold starts) and `run` (when it
 * ran). Exported for the unit test: what is easy to get wrong is here, not in the SDK.
 */
export function spansOf(inv: Invocation, record: InvocationRecord, resource: Resource): ReadableSpan[] {
  const start = inv.received;
  const leased = start + record.queuedMs;
  const end = leased + record.durationMs;
  const own = context(inv.traceId, inv.spanId);
  const failed = record.status !== 'ok';
  const attributes: Attributes = {
    'faas.invocation_id': inv.id,
    'faas.trigger': FAAS_TRIGGER[inv.trigger] ?? 'other',
    'faas.coldstart': record.cold,
    'faas.version': String(record.version),
    'faas.max_memory': record.memoryMb * 1024 * 1024,
    'gust.trigger': inv.trigger,
    'gust.attempt': record.attempt,
    'gust.status': record.status,
    'gust.billed_ms': record.billedMs,
    ...(record.instance === null ? {} : { 'gust.instance': record.instance }),
    ...(inv.kind === 'http'
      ? {
          'http.request.method': inv.request.method,
          'http.route': inv.request.routeKey,
          'url.path': inv.request.url.split('?', 1)[0]!,
        }
      : {}),
  };
  const error = failed ? (record.error ?? record.status) : null;
  const spans = [
    span({
      name: inv.function,
      kind: inv.patient === true ? SpanKind.CONSUMER : SpanKind.SERVER,
      context: own,
      ...(inv.parentSpanId === null
        ? {}
        : { parent: { ...context(inv.traceId, inv.parentSpanId), isRemote: true } }),
      start,
      end,
      error,
      attributes,
      resource,
    }),
  ];
  const child = (name: string, from: number, to: number, err: string | null = null) =>
    span({
      name,
      kind: SpanKind.INTERNAL,
      context: context(inv.traceId, newSpanId()),
      parent: own,
      start: from,
      end: to,
      error: err,
      attributes: {},
      resource,
    });
  spans.push(child('wait', start, leased));
  // The module load ends the wait: the instance is leased as soon as it is ready.
  if (record.cold && record.initMs > 0)
    spans.push(child('init', Math.max(start, leased - record.initMs), leased));
  // An instance ran it (not throttled, rejected, nor failed to start).
  if (record.instance !== null) spans.push(child('run', leased, end, error));
  return spans;
}

function context(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: SAMPLED };
}

function span(s: {
  name: string;
  kind: SpanKind;
  context: SpanContext;
  parent?: SpanContext;
  /** Epoch ms, fractions kept. */
  start: number;
  end: number;
  error: string | null;
  attributes: Attributes;
  resource: Resource;
}): ReadableSpan {
  const startTime = millisToHrTime(s.start);
  const endTime = millisToHrTime(Math.max(s.start, s.end));
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => s.context,
    ...(s.parent === undefined ? {} : { parentSpanContext: s.parent }),
    startTime,
    endTime,
    duration: hrTimeDuration(startTime, endTime),
    status:
      s.error === null ? { code: SpanStatusCode.UNSET } : { code: SpanStatusCode.ERROR, message: s.error },
    attributes: s.attributes,
    links: [],
    events: [],
    ended: true,
    resource: s.resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

/**
 * The exporter, one turn later: the processor exports from inside `onEnd` once a batch is full,
 * and serializing a batch is milliseconds that the invocation ending there must not wait for.
 * Failures are said here (the SDK only tells its global diagnostics, which are silent by default).
 */
class Deferred implements SpanExporter {
  private failed = 0;
  private lastComplaint = 0;

  constructor(
    private readonly inner: SpanExporter,
    private readonly onError: (e: unknown) => void,
  ) {}

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    setImmediate(() =>
      this.inner.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) this.complain(result.error);
        done(result);
      }),
    );
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }

  private complain(error: Error | undefined): void {
    this.failed++;
    const now = Date.now();
    if (now - this.lastComplaint < COMPLAIN_EVERY_MS) return;
    this.lastComplaint = now;
    const batches = this.failed;
    this.failed = 0;
    this.onError(
      new Error(`sending spans over OTLP failed (${batches} batch(es)): ${error?.message ?? 'unknown'}`),
    );
  }
}
