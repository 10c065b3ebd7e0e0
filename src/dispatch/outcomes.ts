/**
 * outcomes: the dispatcher's plain translations: an invocation into the work an instance runs, a
 * call that got no instance into its outcome, an outcome into the record's `error`.
 */
import { traceparentOf } from '../observe/trace-context.js';
import type { Work } from '../runtime/types.js';
import type { Outcome } from './dispatcher.js';
import type { Invocation } from './invocation.js';
import type { Lease } from './pool.js';

/** What an instance is sent to run the invocation, by its deadline. */
export function toWork(inv: Invocation, deadline: number): Work {
  const base = {
    id: inv.id,
    deadline,
    traceparent: traceparentOf(inv.traceId, inv.spanId),
    attempt: inv.attempt ?? 1,
  };
  return inv.kind === 'http'
    ? { ...base, kind: 'http', request: inv.request }
    : { ...base, kind: 'event', event: inv.event };
}

/** What a caller that got no instance is answered. */
export function unleased(lease: Exclude<Lease, { type: 'ok' }>): Outcome {
  switch (lease.type) {
    case 'throttled':
    case 'rejected':
      return { type: lease.type, reason: lease.reason };
    case 'timeout':
      return { type: 'timeout', logs: '', streamed: false };
    case 'initError':
      if (lease.crashed) return { type: 'crashed', reason: lease.error.message, logs: '', streamed: false };
      return {
        type: 'error',
        error: { ...lease.error, message: `init failed: ${lease.error.message}` },
        logs: '',
      };
  }
}

/** The record's `error` for an outcome; a timeout names the timeout the call had. */
export function errorOf(outcome: Outcome, timeoutMs: number): string | null {
  switch (outcome.type) {
    case 'ok':
      return null;
    case 'error':
      return `${outcome.error.name}: ${outcome.error.message}`;
    case 'timeout':
      return `the function ran past its timeout of ${timeoutMs} ms`;
    case 'crashed':
    case 'throttled':
    case 'rejected':
      return outcome.reason;
  }
}
