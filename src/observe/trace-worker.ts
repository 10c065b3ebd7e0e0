/**
 * observe/trace-worker: the thread that makes and sends spans (traces.ts hands it ended calls in
 * batches). The SDK's BatchSpanProcessor batches them (a batch a second at the latest) to its
 * OTLP/HTTP JSON exporter. This thread keeps the count of spans waiting for the collector itself
 * (at most `maxQueue`: past it, a call's spans are dropped here, so the SDK never drops any), and
 * tells the platform of every span lost: dropped, refused by the collector or unreachable after the
 * exporter's retries (`failed`, with the reason), or still unsent when the stop's wait ran out.
 * The exporter reads `OTEL_EXPORTER_OTLP_HEADERS` / `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (and the
 * compression variables) from the environment itself; the URL and the bounds are Gust's.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { ExportResultCode, setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { oneLineReason } from './span-losses.js';
import { spansOf } from './spans.js';
import type { EndedCall, TraceWorkerData, TraceWorkerMessage } from './traces.js';

const BATCH = 2048;
const DELAY_MS = 1000;
const EXPORT_TIMEOUT_MS = 10_000;

const port = parentPort!;
const { url, maxQueue, closeWaitMs } = workerData as TraceWorkerData;
const tell = (m: TraceWorkerMessage) => port.postMessage(m);

// This thread's own API instance: its diagnostics say what the SDK would otherwise keep silent.
// Export failures are told by the exporter below, with their spans; the processor's own report of
// them (the global error handler: the same error again, with its stack) would count them twice.
const warn = (message: string, ...args: unknown[]) =>
  tell({ t: 'warning', message: oneLineReason({ message: [message, ...args.map(String)].join(' ') }) });
diag.setLogger({ error: warn, warn, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.WARN);
setGlobalErrorHandler(() => {});

/** Spans handed to the processor whose export has not ended yet, and the invocations they are of. */
let waiting = 0;
let waitingCalls = 0;
/** The first span of each invocation: how many invocations a batch holds. */
const firsts = new WeakSet<ReadableSpan>();

// A shutdown sends every batch waiting at once: the exporter must take them all.
const inner = new OTLPTraceExporter({
  url,
  timeoutMillis: EXPORT_TIMEOUT_MS,
  concurrencyLimit: Math.ceil(maxQueue / BATCH) + 1,
});
const exporter: SpanExporter = {
  export: (spans, done) =>
    inner.export(spans, (result) => {
      const calls = spans.filter((s) => firsts.has(s)).length;
      waiting -= spans.length;
      waitingCalls -= calls;
      if (result.code !== ExportResultCode.SUCCESS) {
        const reason = result.error === undefined ? undefined : oneLineReason(result.error);
        tell({ t: 'lost', kind: 'failed', spans: spans.length, calls, ...(reason ? { reason } : {}) });
      }
      done(result);
    }),
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};
const processor = new BatchSpanProcessor(exporter, {
  maxQueueSize: maxQueue,
  maxExportBatchSize: BATCH,
  scheduledDelayMillis: DELAY_MS,
  exportTimeoutMillis: EXPORT_TIMEOUT_MS,
});

/** Each function is a service of its own in the trace viewers, as a Lambda function is. */
const resources = new Map<string, Resource>();
function resourceOf(fn: string): Resource {
  let resource = resources.get(fn);
  if (resource === undefined) {
    resource = resourceFromAttributes({ 'service.name': fn, 'service.namespace': 'gust', 'faas.name': fn });
    resources.set(fn, resource);
  }
  return resource;
}

/** Sends what waits, for at most closeWaitMs; what is still waiting then is lost, and said so. */
async function close(): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const ranOut = new Promise((resolve) => (timer = setTimeout(resolve, closeWaitMs)));
  // a failed export was told by the exporter, with its spans
  await Promise.race([processor.shutdown().catch(() => {}), ranOut]);
  clearTimeout(timer);
  if (waiting > 0) {
    const reason = `the collector had not taken them ${closeWaitMs / 1000} s after the stop began`;
    tell({ t: 'lost', kind: 'unsent', spans: waiting, calls: waitingCalls, reason });
  }
  tell({ t: 'closed' });
}

port.on('message', (m: readonly EndedCall[] | 'close') => {
  if (m === 'close') {
    void close();
    return;
  }
  let dropped = 0;
  let droppedCalls = 0;
  for (const call of m) {
    const spans: ReadableSpan[] = spansOf(call, resourceOf(call.function));
    if (waiting + spans.length > maxQueue) {
      dropped += spans.length;
      droppedCalls++;
      continue;
    }
    firsts.add(spans[0]!);
    waiting += spans.length;
    waitingCalls++;
    for (const span of spans) processor.onEnd(span);
  }
  if (dropped > 0) tell({ t: 'lost', kind: 'dropped', spans: dropped, calls: droppedCalls });
});
