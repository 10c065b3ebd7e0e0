/**
 * groups: claimed queue messages as the consumer (consumer.ts) handles them: read once into
 * delivered events, grouped into one invocation's worth (a topic trigger's batch), split, and what
 * of an event its function's `input` checks.
 */
import type { QueuedMessage } from '../backends/ports.js';
import type { DeliveredEvent, EventSource, QueuedEvent } from '../events/types.js';
import type { FunctionSpec } from '../manifest/types.js';

/** One invocation's worth of claimed messages; `batch`: its topic trigger's batch, 1 for other sources. */
export type Group = {
  readonly messages: QueuedMessage[];
  readonly delivered: DeliveredEvent[];
  readonly batch: number;
};

/** A claimed message waiting to start, read once (undefined: its body is not a queued event). */
export type Claimed = { readonly message: QueuedMessage; readonly delivered: DeliveredEvent | undefined };

/** Ordered events go one to a group: the key of a group's first is the group's. */
export function orderKeyOf(group: Group): string | undefined {
  return group.delivered[0]?.event.orderKey;
}

export function topicOf(d: DeliveredEvent | undefined): string | undefined {
  return d?.event.source.kind === 'topic' ? d.event.source.topic : undefined;
}

/** The batch of the function's trigger on `topic` (the largest, should it have two). */
export function batchOf(spec: FunctionSpec, topic: string): number {
  let batch = 1;
  for (const t of spec.triggers) if (t.type === 'topic' && t.name === topic) batch = Math.max(batch, t.batch);
  return batch;
}

export function read(m: QueuedMessage): DeliveredEvent | undefined {
  try {
    const event = JSON.parse(m.body) as QueuedEvent;
    if (event?.v !== 1 || typeof event.invocationId !== 'string') return undefined;
    return { messageId: m.id, attempt: m.attempt, enqueuedAt: m.enqueuedAt, event };
  } catch {
    return undefined;
  }
}

export function pick(group: Group, messages: readonly QueuedMessage[]): Group {
  const ids = new Set(messages.map((m) => m.id));
  return {
    messages: [...messages],
    delivered: group.delivered.filter((d) => ids.has(d.messageId)),
    batch: group.batch,
  };
}

export const NO_DATA = Symbol('no data');

/** What `input` checks is the event's data: an invocation's payload, a message's data, a webhook's payload. */
export function dataOf(source: EventSource): unknown {
  switch (source.kind) {
    case 'invoke':
      return source.data;
    case 'topic':
      return source.event.data;
    case 'webhook':
      return source.payload;
    case 'postgres':
      return { schema: source.schema, table: source.table, old: source.old, new: source.new };
    case 'schedule':
    case 'kv':
    case 'bucket':
    case 'stream': // a batch: its messages' payloads are not checked one by one
      return NO_DATA;
  }
}
