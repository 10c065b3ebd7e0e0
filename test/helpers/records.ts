/** An invocation record for tests of what reads records (stores, metrics, retention): ok, warm, 1 ms. */
import type { InvocationRecord } from '../../src/backends/ports.js';

export function aRecord(over: Partial<InvocationRecord> = {}): InvocationRecord {
  return {
    id: 'inv-1',
    attempt: 1,
    function: 'f',
    version: 1,
    trigger: 'http',
    instance: null,
    start: new Date().toISOString(),
    queuedMs: 0,
    durationMs: 1,
    billedMs: 1,
    memoryMb: 128,
    gbSeconds: 0.000125,
    cold: false,
    initMs: 0,
    status: 'ok',
    error: null,
    stack: null,
    deniedCalls: 0,
    logs: '',
    traceId: 't',
    spanId: null,
    parentSpanId: null,
    replayOf: null,
    ...over,
  };
}
