/**
 * accept: an asynchronous invocation taken on (`gust invoke --async`, the API, Lambda `Event`,
 * `ctx.invoke(..., {async: true})`): durable on the function's queue before anyone is told 202.
 */
import { GustError } from '../errors.js';
import type { TraceLink } from '../observe/trace-context.js';
import type { Deliveries } from './deliveries.js';
import { newInvocationId } from './invocation.js';

/** The most an event may weigh (its JSON), as queues and topics of the clouds bound it. */
export const MAX_EVENT_BYTES = 256 * 1024;

export async function acceptInvocation(
  deliveries: Deliveries,
  opts: {
    readonly function: string;
    readonly trigger: string;
    readonly trace: TraceLink;
    readonly data: unknown;
  },
): Promise<string> {
  const size = Buffer.byteLength(JSON.stringify(opts.data ?? null));
  if (size > MAX_EVENT_BYTES) {
    throw new GustError(
      'PAYLOAD_TOO_LARGE',
      `the event is ${Math.ceil(size / 1024)} KB, over the ${MAX_EVENT_BYTES / 1024} KB an asynchronous event may weigh: send a reference (a key, a URL) instead`,
    );
  }
  const invocationId = newInvocationId();
  const accepted = await deliveries.submit([
    {
      v: 1,
      function: opts.function,
      trigger: opts.trigger,
      invocationId,
      ...opts.trace,
      source: { kind: 'invoke', data: opts.data ?? null },
    },
  ]);
  if (!accepted.ok) {
    throw new GustError(
      'THROTTLED',
      `the queue of ${opts.function} is full (${accepted.depth} events waiting): retry later, or raise its scale.max`,
    );
  }
  return invocationId;
}
