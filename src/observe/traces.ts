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
 * Bounded: at most MAX_PENDING calls wait for the worker, and the processor holds at most its own
 * queue; past either, spans are dropped (counted, said in the log), never memory. What a crash
 * loses: the spans not sent yet (about a second's worth); the records keep every id.
 */
import { Worker } from 'node:worker_threads';
import type { InvocationRecord } from '../backends/ports.js';
import type { Invocation } from '../dispatch/invocation.js';

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
  readonly onError: (e: unknown) => void;
}

/** Settings of the worker (trace-worker.ts). */
export interface TraceWorkerData {
  readonly url: string;
}

/** Worker -> platform. */
export type TraceWorkerMessage =
  /** An export that failed, or what the SDK warned of (spans dropped past its queue). */
  { readonly t: 'failed'; readonly message: string } | { readonly t: 'closed' };

/** Calls handed to the worker at once, at the latest every HAND_OVER_MS. */
const HAND_OVER_AT = 256;
const HAND_OVER_MS = 100;
const MAX_PENDING = 50_000;
const CLOSE_WAIT_MS = 5_000;
/** A collector that is down is said at most once a minute, with how much failed meanwhile. */
const COMPLAIN_EVERY_MS = 60_000;

export class Traces implements SpanSink {
  private readonly worker: Worker;
  private pending: EndedCall[] = [];
  private timer: NodeJS.Timeout | undefined;
  private dropped = 0;
  private failures = 0;
  private lastComplaint = 0;
  private closed: (() => void) | undefined;

  constructor(private readonly opts: TracesOptions) {
    const url = /\/v1\/traces\/?$/.test(opts.url) ? opts.url : `${opts.url.replace(/\/+$/, '')}/v1/traces`;
    const workerData: TraceWorkerData = { url };
    this.worker = new Worker(new URL('./trace-worker.js', import.meta.url), { workerData });
    this.worker.unref();
    this.worker.on('message', (m: TraceWorkerMessage) => this.heard(m));
    this.worker.on('error', (e) => opts.onError(e));
  }

  ended(inv: Invocation, record: InvocationRecord): void {
    if (this.pending.length >= MAX_PENDING) {
      this.dropped++;
      return;
    }
    this.pending.push(endedCall(inv, record));
    if (this.pending.length >= HAND_OVER_AT) this.handOver();
    else this.timer ??= setTimeout(() => this.handOver(), HAND_OVER_MS).unref();
  }

  /** Sends what waits (within CLOSE_WAIT_MS), then stops the worker (the platform's close). */
  async close(): Promise<void> {
    this.handOver();
    const closed = new Promise<void>((resolve) => (this.closed = resolve));
    this.worker.postMessage('close');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
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
    if (m.t === 'closed') this.closed?.();
    else {
      this.failures++;
      this.complain(false, m.message);
    }
  }

  private complain(now: boolean, reason?: string): void {
    if (this.failures + this.dropped === 0) return;
    if (!now && Date.now() - this.lastComplaint < COMPLAIN_EVERY_MS) return;
    this.lastComplaint = Date.now();
    const what = [
      this.failures > 0
        ? `${this.failures} problem(s) sending spans${reason ? `, the last: ${reason}` : ''}`
        : '',
      this.dropped > 0
        ? `${this.dropped} invocation(s) without spans, more than the exporter kept up with`
        : '',
    ].filter(Boolean);
    this.failures = 0;
    this.dropped = 0;
    this.opts.onError(new Error(`OTLP export to ${this.opts.url}: ${what.join('; ')}`));
  }
}
