/**
 * observe/spans: an ended invocation as OpenTelemetry spans, made in the trace worker
 * (trace-worker.ts) from what the dispatcher measured (traces.ts `endedCall`): the invocation's span
 * (SERVER for a call answered on the spot, CONSUMER for a queued event) and its children `wait`
 * (arrival to the lease of an instance: the queue, a busy pool, a cold start), `init` (the cold
 * start's module load, at the end of the wait) and `run`. No second clock: the times are the
 * record's (`received`, `queuedMs`, `initMs`, `durationMs`). The ids are the invocation's, chosen at
 * the edge (trace-context.ts); the SDK's Tracer, which draws its own ids and clocks as spans start,
 * is not used.
 */
import {
  type Attributes,
  type HrTime,
  type SpanContext,
  SpanKind,
  type SpanStatus,
  SpanStatusCode,
  TraceFlags,
} from '@opentelemetry/api';
import { hrTimeDuration, millisToHrTime } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { newSpanId } from './trace-context.js';
import type { EndedCall } from './traces.js';

const SCOPE = { name: 'gust' };
const SAMPLED = TraceFlags.SAMPLED;
const UNSET: SpanStatus = { code: SpanStatusCode.UNSET };

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

/**
 * The spans of one ended invocation: its own, then `wait`, `init` (cold starts) and `run` (when it
 * ran), with the times the dispatcher measured.
 */
export function spansOf(call: EndedCall, resource: Resource): ReadableSpan[] {
  const start = call.received;
  const leased = start + call.queuedMs;
  const end = leased + call.durationMs;
  const own = context(call.traceId, call.spanId);
  const attributes: Attributes = {
    'faas.invocation_id': call.id,
    'faas.trigger': FAAS_TRIGGER[call.trigger] ?? 'other',
    'faas.coldstart': call.cold,
    'faas.version': String(call.version),
    'faas.max_memory': call.memoryMb * 1024 * 1024,
    'gust.trigger': call.trigger,
    'gust.attempt': call.attempt,
    'gust.status': call.status,
    'gust.billed_ms': call.billedMs,
  };
  if (call.instance !== null) attributes['gust.instance'] = call.instance;
  if (call.http !== null) {
    attributes['http.request.method'] = call.http.method;
    attributes['http.route'] = call.http.route;
    attributes['url.path'] = call.http.path;
  }
  const { error } = call;
  const spans = [
    span({
      name: call.function,
      kind: call.queued ? SpanKind.CONSUMER : SpanKind.SERVER,
      context: own,
      ...(call.parentSpanId === null
        ? {}
        : { parent: { ...context(call.traceId, call.parentSpanId), isRemote: true } }),
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
      context: context(call.traceId, newSpanId()),
      parent: own,
      start: from,
      end: to,
      error: err,
      attributes: {},
      resource,
    });
  spans.push(child('wait', start, leased));
  // The module load ends the wait: the instance is leased as soon as it is ready.
  if (call.cold && call.initMs > 0) spans.push(child('init', Math.max(start, leased - call.initMs), leased));
  // An instance ran it (not throttled, rejected, nor failed to start).
  if (call.instance !== null) spans.push(child('run', leased, end, error));
  return spans;
}

function context(traceId: string, spanId: string): SpanContext {
  return { traceId, spanId, traceFlags: SAMPLED };
}

interface SpanFacts {
  readonly name: string;
  readonly kind: SpanKind;
  readonly context: SpanContext;
  readonly parent?: SpanContext;
  /** Epoch ms, fractions kept. */
  readonly start: number;
  readonly end: number;
  readonly error: string | null;
  readonly attributes: Attributes;
  readonly resource: Resource;
}

function span(s: SpanFacts): ReadableSpan {
  return new EndedSpan(s);
}

/**
 * A span that has ended, as the exporter reads it. A class, every field set in one order: an object
 * literal with a spread in it is built property by property, three times slower per span.
 */
class EndedSpan implements ReadableSpan {
  readonly name: string;
  readonly kind: SpanKind;
  readonly parentSpanContext?: SpanContext;
  readonly startTime: HrTime;
  readonly endTime: HrTime;
  readonly duration: HrTime;
  readonly status: SpanStatus;
  readonly attributes: Attributes;
  readonly links = [];
  readonly events = [];
  readonly ended = true;
  readonly resource: Resource;
  readonly instrumentationScope = SCOPE;
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private readonly context: SpanContext;

  constructor(s: SpanFacts) {
    this.name = s.name;
    this.kind = s.kind;
    this.context = s.context;
    if (s.parent !== undefined) this.parentSpanContext = s.parent;
    this.startTime = millisToHrTime(s.start);
    this.endTime = millisToHrTime(Math.max(s.start, s.end));
    this.duration = hrTimeDuration(this.startTime, this.endTime);
    this.status = s.error === null ? UNSET : { code: SpanStatusCode.ERROR, message: s.error };
    this.attributes = s.attributes;
    this.resource = s.resource;
  }

  spanContext(): SpanContext {
    return this.context;
  }
}
