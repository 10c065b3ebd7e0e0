/**
 * services/topics: publish/subscribe by name. A topic exists while some project declares it in
 * gust.yaml (`topics:`); topics are shared across projects, which is how functions of different
 * projects talk. Its subscribers are the functions whose active version has a `topic` trigger on it.
 * Publishing puts one queued event per subscriber on that function's durable queue, all in one
 * step: every subscriber gets the message, or (a full queue) none does and the publisher hears 429.
 * A topic nobody subscribes to takes the message and drops it, as SNS does.
 */
import type { RegistryStore } from '../backends/ports.js';
import type { Deliveries } from '../dispatch/deliveries.js';
import { newInvocationId } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import type { CloudEventJson, QueuedEvent } from '../events/types.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { TraceLink } from '../observe/trace-context.js';
import { Declared } from './declared.js';

export interface TopicInfo {
  readonly name: string;
  readonly projects: readonly string[];
  readonly subscribers: readonly string[];
}

export interface Published {
  /** The ids of the published events, in order. */
  readonly ids: readonly string[];
  /** How many functions each event went to. */
  readonly subscribers: number;
}

export class Topics {
  /** Topic -> the projects that declare it. */
  private readonly declared: Declared;
  /** Topic -> subscribing function -> nothing more yet (a set kept as a map for order). */
  private readonly subscriptions = new Map<string, Set<string>>();

  private constructor(
    registry: RegistryStore,
    private readonly deliveries: Deliveries,
  ) {
    this.declared = new Declared({
      list: () => registry.listTopics(),
      declare: (project, names) => registry.declareTopics(project, names),
    });
  }

  static async open(registry: RegistryStore, deliveries: Deliveries): Promise<Topics> {
    const topics = new Topics(registry, deliveries);
    await topics.declared.load();
    return topics;
  }

  /** The topics `project` declares from now on (a deploy's `topics:`). */
  async declare(project: string, names: readonly string[]): Promise<void> {
    await this.declared.declare(project, names);
  }

  /** The topics that would exist were `project` to declare `names`: to check a deploy before it is made. */
  namesWith(project: string, names: readonly string[]): Set<string> {
    return this.declared.namesWith(project, names);
  }

  /** The names that would cease to exist were `project` to declare `names`. */
  goneWith(project: string, names: readonly string[]): Set<string> {
    return this.declared.goneWith(project, names);
  }

  isDeclared(name: string): boolean {
    return this.declared.has(name);
  }

  /** Follows a function's active version: its topic triggers are its subscriptions. */
  serve(spec: FunctionSpec): void {
    this.forget(spec.name);
    for (const t of spec.triggers) {
      if (t.type !== 'topic') continue;
      const subs = this.subscriptions.get(t.name) ?? new Set<string>();
      subs.add(spec.name);
      this.subscriptions.set(t.name, subs);
    }
  }

  forget(fn: string): void {
    for (const subs of this.subscriptions.values()) subs.delete(fn);
  }

  list(): TopicInfo[] {
    return this.declared.entries().map(([name, projects]) => ({
      name,
      projects,
      subscribers: [...(this.subscriptions.get(name) ?? [])].sort(),
    }));
  }

  /** Durable for every subscriber once it resolves. */
  async publish(topic: string, events: readonly CloudEventJson[], trace: TraceLink): Promise<Published> {
    if (!this.declared.has(topic)) {
      throw new GustError(
        'NOT_FOUND',
        `no topic ${topic}: declare it under topics in a gust.yaml (gust ls shows the functions; GET /_gust/api/v1/topics the topics)`,
      );
    }
    const subscribers = [...(this.subscriptions.get(topic) ?? [])];
    const queued: QueuedEvent[] = [];
    for (const event of events) {
      for (const fn of subscribers) {
        queued.push({
          v: 1,
          function: fn,
          trigger: 'topic',
          invocationId: newInvocationId(),
          ...trace,
          source: { kind: 'topic', topic, event },
        });
      }
    }
    if (queued.length > 0) {
      const accepted = await this.deliveries.submit(queued);
      if (!accepted.ok) {
        throw new GustError(
          'THROTTLED',
          `topic ${topic}: the queue of subscriber ${accepted.full.replace(/^fn\./, '')} is full (${accepted.depth} events waiting); nothing was published: retry later`,
        );
      }
    }
    return { ids: events.map((e) => e.id), subscribers: subscribers.length };
  }
}
