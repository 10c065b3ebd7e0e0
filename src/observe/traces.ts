/**
 * observe/traces: every invocation as OpenTelemetry spans, exported over OTLP/HTTP (JSON) when
 * `GUST_OTLP_URL` is set; without it this module is not even loaded (platform.ts).
 *
 * The platform's thread only notes what the dispatcher measured (`endedCall`: a few fields, no
 * OpenTelemetry object) and hands them over in batches to a worker thread (trace-worker.ts), which
 * makes the spans (spans.ts) and runs the SDK's BatchSpanProcessor and OTLP exporter. Serializing
 * spans to OTLP JSON costs some 3 µs a span; in the platform's thread that was a fifth of a warm
 * call's cost (bench/README.md, "Traces").
 *
 * Bounded: at most MAX_PENDING calls wait for the worker, and MAX_QUEUE spans for the collector;
 * past either, spans are dropped, never memory. Every span lost (dropped, refused by the collector,
 * still unsent at the stop) is counted, and the log says how many, of how many invocations, and why,
 * in one line (span-losses.ts). What a crash loses: the spans not sent yet (about a second's
 * worth); the records keep every id.
 */
import { Worker } from 'node:worker_threads';
import type { InvocationRecord } from '../backends/ports.js';
import type { Invocation } from '../dispatch/invocation.js';
import { type LossKind, SpanLosses } from './span-losses.js';

/** What the dispatcher tells of each invocation as it ends. */
export interface SpanSink {
  ended(inv: Invocation, record: InvocationRecord): void;
}

/** What an invocation's spans are made of: its ids, its trigger and outcome, and the dispatcher's times. */
export interface EndedCall {
  readonly function: string;
  readonly id: string;
  readonly trigger: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | null;
  /** A queued event (CONSUMER), not a call answered on the spot (SERVER). */
  readonly queued: boolean;
  /** Epoch ms it arrived (a queued event: when it was accepted, or its retry became due). */
  readonly received: number;
  readonly queuedMs: number;
  readonly initMs: number;
  readonly cold: boolean;
  readonly durationMs: number;
  /** The instance that ran it; null: none did (throttled, rejected, failed to start). */
  readonly instance: string | null;
  readonly status: string;
  /** Why it failed; null when it did not. */
  readonly error: string | null;
  readonly version: number;
  readonly attempt: number;
  readonly billedMs: number;
  readonly memoryMb: number;
  readonly http: { readonly method: string; readonly route: string; readonly path: string } | null;
}

export function endedCall(inv: Invocation, record: InvocationRecord): EndedCall {
  return {
    function: inv.function,
    id: inv.id,
    trigger: inv.trigger,
    traceId: inv.traceId,
    spanId: inv.spanId,
    parentSpanId: inv.parentSpanId,
    queued: inv.patient === true,
    received: inv.received,
    queuedMs: record.queuedMs,
    initMs: record.initMs,
    cold: record.cold,
    durationMs: record.durationMs,
    instance: record.instance,
    status: record.status,
    error: record.status === 'ok' ? null : (record.error ?? record.status),
    version: record.version,
    attempt: record.attempt,
    billedMs: record.billedMs,
    memoryMb: record.memoryMb,
    http:
      inv.kind === 'http'
        ? {
            method: inv.request.method,
            route: inv.request.routeKey,
            path: inv.request.url.split('?', 1)[0]!,
          }
        : null,
  };
}

export interface TracesOptions {
  /** The collector's base URL (`http://host:4318`), or its full `/v1/traces` URL. */
  readonly url: string;
  /** The share of traces exported, 0 to 1 (GUST_TRACES_SAMPLE); 1: all. */
  readonly sample?: number;
  /** What was lost and why, one line (at most once a minute, and at the stop). */
  readonly warn: (message: string) => void;
  /** The worker itself failed (a bug). */
  readonly onError: (e: unknown) => void;
}

/** Settings of the worker (trace-worker.ts). */
export interface TraceWorkerData {
  readonly url: string;
  /** The most spans waiting for the collector; past it, spans are dropped. */
  readonly maxQueue: number;
  /** How long the stop waits for the collector to take what is left. */
  readonly closeWaitMs: number;
}

/** Worker -> platform. */
export type TraceWorkerMessage =
  /** Spans that will never reach the collector, and why. */
  | {
      readonly t: 'lost';
      readonly kind: LossKind;
      readonly spans: number;
      readonly calls: number;
      readonly reason?: string;
    }
  /** What the SDK warned of, one line (a header it could not read, a partial success). */
  | { readonly t: 'warning'; readonly message: string }
  | { readonly t: 'closed' };

/**
 * Whether a trace's spans are exported at this share: its id's last 13 hex digits (52 of the bits
 * W3C asks to be random) read as a fraction, as OpenTelemetry's TraceIdRatioBased sampler does, so
 * every invocation of a trace decides alike, on this platform and any other that reads ids this way.
 */
export function sampled(traceId: string, share: number): boolean {
  return Number.parseInt(traceId.slice(-13), 16) / 2 ** 52 < share;
}

/** Calls handed to the worker at once, at the latest every HAND_OVER_MS. */
const HAND_OVER_AT = 256;
const HAND_OVER_MS = 100;
const MAX_PENDING = 50_000;
const MAX_QUEUE = 65_536;
const CLOSE_WAIT_MS = 5_000;
/** Losses are said at most once a minute (the first at once), with all that was lost meanwhile. */
const COMPLAIN_EVERY_MS = 60_000;

export class Traces implements SpanSink {
  private readonly worker: Worker;
  private pending: EndedCall[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly losses = new SpanLosses({ queue: MAX_QUEUE, pending: MAX_PENDING });
  private lastComplaint = 0;
  private closed: (() => void) | undefined;
  private readonly sample: number;

  constructor(private readonly opts: TracesOptions) {
    this.sample = opts.sample ?? 1;
    const url = /\/v1\/traces\/?$/.test(opts.url) ? opts.url : `${opts.url.replace(/\/+$/, '')}/v1/traces`;
    const workerData: TraceWorkerData = { url, maxQueue: MAX_QUEUE, closeWaitMs: CLOSE_WAIT_MS };
    this.worker = new Worker(new URL('./trace-worker.js', import.meta.url), { workerData });
    this.worker.unref();
    this.worker.on('message', (m: TraceWorkerMessage) => this.heard(m));
    this.worker.on('error', (e) => opts.onError(e));
  }

  ended(inv: Invocation, record: InvocationRecord): void {
    if (this.sample < 1 && !sampled(inv.traceId, this.sample)) return;
    if (this.pending.length >= MAX_PENDING) {
      this.losses.notMade();
      this.complain(false);
      return;
    }
    this.pending.push(endedCall(inv, record));
    if (this.pending.length >= HAND_OVER_AT) this.handOver();
    else this.timer ??= setTimeout(() => this.handOver(), HAND_OVER_MS).unref();
  }

  /**
   * Sends what waits (the worker gives the collector CLOSE_WAIT_MS, then counts what is left as
   * lost), says what was lost since the last line, then stops the worker (the platform's close).
   */
  async close(): Promise<void> {
    this.handOver();
    const closed = new Promise<void>((resolve) => (this.closed = resolve));
    this.worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    // a second more than the worker's own wait: only a worker that is stuck is not waited for
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS + 1000)))]);
    clearTimeout(timer);
    this.complain(true);
    await this.worker.terminate();
  }

  private handOver(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    this.worker.postMessage(this.pending);
    this.pending = [];
  }

  private heard(m: TraceWorkerMessage): void {
    if (m.t === 'closed') {
      this.closed?.();
      return;
    }
    if (m.t === 'lost') this.losses.lost(m.kind, m.spans, m.calls, m.reason);
    else this.losses.warned(m.message);
    this.complain(false);
  }

  private complain(now: boolean): void {
    if (this.losses.empty) return;
    if (!now && Date.now() - this.lastComplaint < COMPLAIN_EVERY_MS) return;
    this.lastComplaint = Date.now();
    const line = this.losses.take(this.opts.url);
    if (line !== undefined) this.opts.warn(line);
  }
}
