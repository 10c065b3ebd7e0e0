/** embedded/record-row: an invocation record as a row of the `invocations` table, and back. */
import type { InvocationRecord, InvocationStatus } from '../ports.js';

export interface Row {
  seq: number;
  id: string;
  attempt: number;
  function: string;
  version: number;
  trigger: string;
  instance: string | null;
  start: string;
  queued_ms: number;
  duration_ms: number;
  billed_ms: number;
  memory_mb: number;
  gb_seconds: number;
  cold: number;
  init_ms: number;
  status: string;
  error: string | null;
  stack: string | null;
  denied_calls: number;
  logs: string;
  trace_id: string;
  span_id: string | null;
  parent_span_id: string | null;
  replay_of: string | null;
}

export const toRecord = (r: Row): InvocationRecord => ({
  id: r.id,
  attempt: r.attempt,
  function: r.function,
  version: r.version,
  trigger: r.trigger,
  instance: r.instance,
  start: r.start,
  queuedMs: r.queued_ms,
  durationMs: r.duration_ms,
  billedMs: r.billed_ms,
  memoryMb: r.memory_mb,
  gbSeconds: r.gb_seconds,
  cold: r.cold === 1,
  initMs: r.init_ms,
  status: r.status as InvocationStatus,
  error: r.error,
  stack: r.stack,
  deniedCalls: r.denied_calls,
  logs: r.logs,
  traceId: r.trace_id,
  spanId: r.span_id,
  parentSpanId: r.parent_span_id,
  replayOf: r.replay_of,
});
