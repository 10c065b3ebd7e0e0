/**
 * triggers/stream/source: the `stream` triggers of every function (MQTT, NATS, AMQP), a `Source`.
 * Follows each function's active version: a trigger whose settings change is restarted, one that
 * goes is stopped and its broker state (MQTT session, JetStream consumer) removed. How batches
 * travel: follower.ts; the protocols: mqtt.ts, nats.ts, amqp.ts.
 */
import { createHash } from 'node:crypto';
import type { EnqueueResult } from '../../backends/ports.js';
import type { DeliveredEvent, QueuedEvent } from '../../events/types.js';
import type { FunctionSpec, StreamTrigger } from '../../manifest/types.js';
import type { Source, SourceState } from '../sources.js';
import { amqpBroker } from './amqp.js';
import type { Broker } from './broker.js';
import { Follower } from './follower.js';
import { mqttBroker } from './mqtt.js';
import { natsBroker } from './nats.js';

export interface StreamSourceDeps {
  readonly submit: (events: readonly QueuedEvent[]) => Promise<EnqueueResult>;
  /** A secret's current value, undefined when it is not set. */
  readonly secret: (name: string) => string | undefined;
  readonly onError: (e: unknown, what: string) => void;
  /** The platform's log, for triggers that start failing. */
  readonly warn?: (message: string) => void;
  /** The protocols; tests may swap one. */
  readonly brokers?: Readonly<Record<StreamTrigger['from'], Broker>>;
}

const BROKERS: Readonly<Record<StreamTrigger['from'], Broker>> = {
  mqtt: mqttBroker,
  nats: natsBroker,
  amqp: amqpBroker,
};
/**
 * In-flight messages per trigger: this many invocations' worth. A message is acked to its broker
 * only once its event left Gust's queue (its record written: up to 50 ms after its run), so at
 * capacity x 16 batches (64 to 1,024) a broker keeps sending while earlier batches settle; the
 * bound holds a slow function's backlog in the broker, not in Gust.
 */
const BATCHES_IN_FLIGHT = { min: 64, max: 1024, perSlot: 16 };
const MAX_IN_FLIGHT = 10_000;

type Running = { readonly key: string; readonly name: string; readonly follower: Follower };

export class StreamSource implements Source {
  private readonly functions = new Map<string, Running[]>();
  private closed = false;

  constructor(private readonly deps: StreamSourceDeps) {}

  serve(spec: FunctionSpec): void {
    if (this.closed) return;
    const capacity = spec.scale.max * spec.concurrency;
    const wanted = spec.triggers.flatMap((t) => {
      if (t.type !== 'stream') return [];
      const batches = Math.min(
        BATCHES_IN_FLIGHT.max,
        Math.max(BATCHES_IN_FLIGHT.min, capacity * BATCHES_IN_FLIGHT.perSlot),
      );
      const inFlight = Math.min(MAX_IN_FLIGHT, t.batch * batches);
      return [{ trigger: t, inFlight, key: JSON.stringify([t, inFlight]), name: brokerName(spec.name, t) }];
    });
    const running = this.functions.get(spec.name) ?? [];
    const kept = running.filter((r) => wanted.some((w) => w.key === r.key));
    for (const r of running) {
      if (kept.includes(r)) continue;
      // its broker state goes unless a trigger of the new version carries on with it
      const forget = !wanted.some((w) => w.name === r.name);
      void this.stopping(r, forget);
    }
    const started = wanted
      .filter((w) => !kept.some((r) => r.key === w.key))
      .map(
        (w): Running => ({
          key: w.key,
          name: w.name,
          follower: this.follow(spec.name, w.trigger, w.name, w.inFlight),
        }),
      );
    const now = [...kept, ...started];
    if (now.length === 0) this.functions.delete(spec.name);
    else this.functions.set(spec.name, now);
  }

  /** Queued events that left the queue for good: their broker messages are acked. */
  settled(events: readonly DeliveredEvent[]): void {
    for (const d of events) {
      if (d.event.source.kind !== 'stream') continue;
      for (const r of this.functions.get(d.event.function) ?? []) r.follower.settled(d.event.invocationId);
    }
  }

  async forget(name: string): Promise<void> {
    const running = this.functions.get(name) ?? [];
    this.functions.delete(name);
    await Promise.all(running.map((r) => this.stopping(r, true)));
  }

  states(name: string): SourceState[] {
    return (this.functions.get(name) ?? []).map((r) => r.follower.state);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.functions.values()].flat();
    this.functions.clear();
    await Promise.all(all.map((r) => this.stopping(r, false)));
  }

  private follow(fn: string, trigger: StreamTrigger, name: string, inFlight: number): Follower {
    return new Follower({
      fn,
      trigger,
      label: labelOf(trigger),
      name,
      inFlight,
      broker: (this.deps.brokers ?? BROKERS)[trigger.from],
      url: () => this.deps.secret(trigger.connection),
      submit: this.deps.submit,
      ...(this.deps.warn ? { warn: this.deps.warn } : {}),
    });
  }

  private stopping(r: Running, forget: boolean): Promise<void> {
    return r.follower.stop(forget).catch((e: unknown) => this.deps.onError(e, `stopping ${r.name}`));
  }
}

/** `stream mqtt sensors/+/temp`, `stream nats SENSORS sensors.>`, `stream amqp readings`. */
export function labelOf(t: StreamTrigger): string {
  return ['stream', t.from, ...(t.stream === undefined ? [] : [t.stream]), t.subject].join(' ');
}

/**
 * The MQTT client id and JetStream durable name of a function's trigger: the same across restarts
 * and redeploys that keep what it consumes, so the broker's session or consumer carries on.
 */
export function brokerName(fn: string, t: StreamTrigger): string {
  const what = JSON.stringify([t.from, t.connection, t.stream ?? null, t.subject]);
  return `gust-${fn}-${createHash('sha256').update(what).digest('hex').slice(0, 12)}`;
}
