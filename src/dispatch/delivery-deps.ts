/** delivery-deps: what the consumers of function queues (consumer.ts) are given, and what they tell. */
import type { DurableQueue } from '../backends/ports.js';
import type { DeliveredEvent, EventSource } from '../events/types.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { TraceLink } from '../observe/trace-context.js';
import type { Dispatcher } from './dispatcher.js';

/** What the dead-letter topic gets: the event, and why it could not be delivered. */
export interface DeadLetter {
  readonly function: string;
  readonly invocationId: string;
  readonly attempts: number;
  readonly error: { readonly status: string; readonly message: string };
  readonly source: EventSource;
}

export interface DeliveriesDeps {
  readonly queue: DurableQueue;
  readonly dispatcher: Pick<Dispatcher, 'invoke' | 'refuse'>;
  /** The active version's spec of a function; undefined once it is removed. */
  readonly specOf: (name: string) => FunctionSpec | undefined;
  /** The event the function receives for these deliveries (events/shapes.ts). */
  readonly shape: (delivered: readonly DeliveredEvent[], spec: FunctionSpec, batch: number) => unknown;
  /** The messages a successful result says failed (an AWS SQS handler's batchItemFailures), if any. */
  readonly failed: (
    result: unknown,
    delivered: readonly DeliveredEvent[],
    spec: FunctionSpec,
  ) => readonly string[] | undefined;
  /** Publishes a dead letter on a topic, in the trace of the event, as a child of its last attempt. */
  readonly deadLetter: (topic: string, letter: DeadLetter, trace: TraceLink) => Promise<void>;
  readonly onError: (e: unknown, what: string) => void;
  /** Resolves once the records made so far are written: a delivery is acked only after its record. */
  readonly recorded: () => Promise<void>;
  /**
   * Told of events that left the queue for good, once acked: ran ok, dead-lettered, or dropped (the
   * function was removed, or the event refused). A stream source acks its broker's messages then.
   */
  readonly settled?: (events: readonly DeliveredEvent[]) => void;
  /** How long a claimed message stays leased; in-flight leases are extended every third of it. */
  readonly leaseMs: number;
  readonly random?: () => number;
  /** Told of each retry and each event given up (observe/metrics.ts), and of events a full queue refused. */
  readonly observe?: DeliveryObserver;
}

export interface DeliveryObserver {
  retried(fn: string): void;
  /** `sent`: to the dead-letter topic; else dropped, the function naming none. */
  gaveUp(fn: string, sent: boolean): void;
  queueFull(fn: string, events: number): void;
}
