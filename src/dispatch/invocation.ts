/**
 * invocation: what every trigger hands to dispatch, whatever the source. HTTP routes, the
 * control API, the Lambda Invoke API (and later schedules, topics, buckets...) all build one.
 */
import { randomUUID } from 'node:crypto';
import { newSpanId, type TraceLink } from '../observe/trace-context.js';
import type { WireRequest } from '../runtime/types.js';

export type Invocation = {
  readonly id: string;
  readonly function: string;
  /** A given version (Lambda Qualifier); otherwise the active one. */
  readonly version?: number;
  /** `http`, `invoke`, `lambda-api`, `schedule`, `topic`, ..., `replay`. */
  readonly trigger: string;
  /** The invocation this one runs again (`gust replay`). */
  readonly replayOf?: string;
  readonly traceId: string;
  /** This invocation's span (each attempt its own): the parent of the calls it makes. */
  readonly spanId: string;
  /** The span of what caused it: the caller's, the producer's of a queued event; null: it began the trace. */
  readonly parentSpanId: string | null;
  /** Epoch ms the invocation arrived (a queued event: when it was accepted). */
  readonly received: number;
  /** Which delivery of a queued event this is (its retries keep its id); 1 otherwise. */
  readonly attempt?: number;
  /**
   * Queued work: it waits for a free instance however long that takes (no wait-queue bound, never
   * throttled), and its timeout counts from the moment it runs, not from `received`.
   */
  readonly patient?: boolean;
} & (
  | { readonly kind: 'http'; readonly request: WireRequest }
  | { readonly kind: 'event'; readonly event: unknown }
);

/**
 * A UUIDv7: the first 48 bits are the time in ms, so ids sort by arrival and the record index
 * grows at its end instead of splitting pages at random. The random part comes from randomUUID,
 * whose entropy is buffered (a tenth of the cost of randomBytes per id).
 */
export function newInvocationId(now = Date.now()): string {
  const time = now.toString(16).padStart(12, '0');
  const random = randomUUID();
  return `${time.slice(0, 8)}-${time.slice(8)}-7${random.slice(15)}`;
}

/** The link of what an invocation causes (ctx.invoke, ctx.publish, ctx.kv...): its span is their parent. */
export function causedBy(inv: Invocation): TraceLink {
  return { traceId: inv.traceId, parentSpanId: inv.spanId };
}

/** An invocation's place in its trace: the trace it continues and a span of its own. */
export function spanIn(trace: TraceLink): Pick<Invocation, 'traceId' | 'spanId' | 'parentSpanId'> {
  return { traceId: trace.traceId, spanId: newSpanId(), parentSpanId: trace.parentSpanId };
}

/** An event invocation (gust invoke, the Lambda Invoke API; later schedules, topics, ...). */
export function eventInvocation(opts: {
  readonly function: string;
  readonly version?: number | undefined;
  readonly trigger: string;
  /** The caller's (observe/trace-context traceFrom), or the calling invocation's span. */
  readonly trace: TraceLink;
  readonly event: unknown;
}): Invocation & { kind: 'event' } {
  const received = Date.now();
  return {
    id: newInvocationId(received),
    function: opts.function,
    ...(opts.version === undefined ? {} : { version: opts.version }),
    trigger: opts.trigger,
    ...spanIn(opts.trace),
    received,
    kind: 'event',
    event: opts.event,
  };
}

/**
 * An HTTP invocation: a request that one of the function's routes took. The gateway builds it for
 * each request to a route; the control API for `gust invoke NAME --path P`, so that a handler
 * cannot tell them apart but by `trigger`.
 */
export function httpInvocation(opts: {
  readonly function: string;
  readonly trigger: string;
  readonly trace: TraceLink;
  readonly route: { readonly params: Readonly<Record<string, string>>; readonly routeKey: string };
  readonly method: string;
  /** Raw path and query. */
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
  readonly sourceIp: string;
}): Invocation & { kind: 'http' } {
  const received = Date.now();
  return {
    id: newInvocationId(received),
    function: opts.function,
    trigger: opts.trigger,
    ...spanIn(opts.trace),
    received,
    kind: 'http',
    request: {
      method: opts.method,
      url: opts.url,
      headers: opts.headers,
      body: opts.body,
      params: opts.route.params,
      routeKey: opts.route.routeKey,
      sourceIp: opts.sourceIp,
      protocol: 'HTTP/1.1',
      timeEpoch: received,
    },
  };
}
