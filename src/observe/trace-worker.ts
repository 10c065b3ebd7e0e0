/**
 * observe/trace-worker: the thread that makes and sends spans (traces.ts hands it ended calls in
 * batches). The SDK's BatchSpanProcessor batches them (a batch a second at the latest, at most
 * MAX_QUEUE spans waiting: past it the SDK drops them and warns) to its OTLP/HTTP JSON exporter.
 * Export failures and the SDK's warnings go back to the platform, which logs them.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DiagLogLevel, diag } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { spansOf } from './spans.js';
import type { EndedCall, TraceWorkerData, TraceWorkerMessage } from './traces.js';

const MAX_QUEUE = 65_536;
const BATCH = 2048;
const DELAY_MS = 1000;
const EXPORT_TIMEOUT_MS = 10_000;

const port = parentPort!;
const { url } = workerData as TraceWorkerData;
const tell = (m: TraceWorkerMessage) => port.postMessage(m);

// This thread's own API instance: its diagnostics say what the SDK would otherwise keep silent.
diag.setLogger(
  {
    error: (message) => tell({ t: 'failed', message }),
    warn: (message) => tell({ t: 'failed', message }),
    info: () => {},
    debug: () => {},
    verbose: () => {},
  },
  DiagLogLevel.WARN,
);

// A shutdown sends every batch waiting at once: the exporter must take them all.
const inner = new OTLPTraceExporter({
  url,
  timeoutMillis: EXPORT_TIMEOUT_MS,
  concurrencyLimit: Math.ceil(MAX_QUEUE / BATCH) + 1,
});
const exporter: SpanExporter = {
  export: (spans, done) =>
    inner.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS) {
        tell({ t: 'failed', message: result.error?.message ?? 'the collector refused them' });
      }
      done(result);
    }),
  shutdown: () => inner.shutdown(),
  forceFlush: () => inner.forceFlush(),
};
const processor = new BatchSpanProcessor(exporter, {
  maxQueueSize: MAX_QUEUE,
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

port.on('message', (m: readonly EndedCall[] | 'close') => {
  if (m === 'close') {
    processor
      .shutdown()
      .catch((e: unknown) => tell({ t: 'failed', message: e instanceof Error ? e.message : String(e) }))
      .finally(() => tell({ t: 'closed' }));
    return;
  }
  for (const call of m) {
    const spans: ReadableSpan[] = spansOf(call, resourceOf(call.function));
    for (const span of spans) processor.onEnd(span);
  }
});
