/**
 * deliveries: queued events to functions, at least once. Every asynchronous source (async
 * invocations, topics, schedules, webhooks) puts a `QueuedEvent` on its function's durable queue;
 * a consumer per function claims what its capacity can run (scale.max x concurrency invocations at
 * once, batches for topic triggers with `batch` > 1), runs each through `dispatcher.invoke` (the
 * one path to an instance, as patient work: never throttled), then acks. A failure is retried with
 * exponential backoff and jitter up to `retries.max`, then sent to the dead-letter topic (or
 * dropped, its record saying why). A poison message never blocks the ones behind it: its retry is
 * delayed, not in line. What a crash can lose: nothing accepted; it can deliver twice (a delivery
 * that ran but was not acked runs again after a restart).
 */
import type { EnqueueResult, QueueDepth } from '../backends/ports.js';
import type { QueuedEvent } from '../events/types.js';
import { Acks } from './acks.js';
import { Consumer, queueOf } from './consumer.js';
import type { DeliveriesDeps } from './delivery-deps.js';

export { queueOf } from './consumer.js';
export type { DeadLetter, DeliveriesDeps, DeliveryObserver } from './delivery-deps.js';

/**
 * Every consumer looks at its queue this often, whatever it heard: the queue wakes consumers when
 * messages become ready (enqueue, nack, delays, leases), and this sweep bounds what a wake-up lost
 * on the way would cost (a retry seen waiting 20 s for one in a test run) to a second.
 */
const SWEEP_MS = 1000;

export class Deliveries {
  private readonly consumers = new Map<string, Consumer>();
  private readonly acks: Acks;
  private readonly stopWatching: () => void;
  private readonly extender: NodeJS.Timeout;
  private readonly sweeper: NodeJS.Timeout;
  private closing = false;

  constructor(private readonly deps: DeliveriesDeps) {
    this.acks = new Acks(deps.queue);
    this.stopWatching = deps.queue.watch((queue) => {
      if (queue.startsWith('fn.')) this.consumers.get(queue.slice(3))?.pump();
    });
    this.extender = setInterval(() => this.extendLeases(), Math.max(100, deps.leaseMs / 3));
    this.extender.unref();
    this.sweeper = setInterval(() => {
      for (const consumer of this.consumers.values()) consumer.pump();
    }, SWEEP_MS);
    this.sweeper.unref();
  }

  /** Durable once it resolves ok (the caller may then answer 202). */
  async submit(events: readonly QueuedEvent[]): Promise<EnqueueResult> {
    const result = await this.deps.queue.enqueue(
      events.map((e) => ({ queue: queueOf(e.function), id: e.invocationId, body: JSON.stringify(e) })),
    );
    if (!result.ok) {
      const fn = result.full.replace(/^fn\./, '');
      this.deps.observe?.queueFull(fn, events.filter((e) => e.function === fn).length);
    }
    return result;
  }

  /** What waits in a function's queue, and for how long the oldest has. */
  depth(name: string): Promise<QueueDepth> {
    return this.deps.queue.depth(queueOf(name));
  }

  /** Starts (or wakes) the consumer of a function whose version was activated. */
  serve(name: string): void {
    if (this.closing) return;
    let consumer = this.consumers.get(name);
    if (!consumer) {
      consumer = new Consumer(name, this.deps, this.acks);
      this.consumers.set(name, consumer);
    }
    consumer.pump();
  }

  /**
   * The function is gone: its consumer stops and its queue is emptied; how many events had not
   * run (those in flight are its calls in flight, counted apart).
   */
  async remove(name: string): Promise<number> {
    void this.consumers.get(name)?.stop(); // its deliveries in flight finish with the function
    this.consumers.delete(name);
    const { waiting } = await this.deps.queue.depth(queueOf(name));
    await this.deps.queue.purge(queueOf(name));
    return waiting;
  }

  /** Stops claiming; resolves once the deliveries in flight are acked or nacked. */
  async close(): Promise<void> {
    this.closing = true;
    this.stopWatching();
    clearInterval(this.extender);
    clearInterval(this.sweeper);
    await Promise.all([...this.consumers.values()].map((c) => c.stop()));
  }

  private extendLeases(): void {
    for (const consumer of this.consumers.values()) {
      for (const handle of consumer.leased()) {
        this.deps.queue.extend(handle).catch((e: unknown) => this.deps.onError(e, 'extending a lease'));
      }
    }
  }
}
