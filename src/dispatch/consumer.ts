/**
 * consumer: the consumer of one function's queue, for deliveries.ts: claims what the function's
 * capacity can run, shapes and runs each delivery through the dispatcher, then acks it, retries it
 * with backoff, or gives it up to the dead-letter topic; ordered events (postgres triggers) wait for
 * the one before them.
 */
import type { QueuedMessage } from '../backends/ports.js';
import { compileInput } from '../manifest/input.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { Acks } from './acks.js';
import type { DeadLetter, DeliveriesDeps } from './delivery-deps.js';
import type { DispatchResult } from './dispatcher.js';
import {
  batchOf,
  type Claimed,
  dataOf,
  type Group,
  NO_DATA,
  orderKeyOf,
  pick,
  read,
  topicOf,
} from './groups.js';
import { type Invocation, spanIn } from './invocation.js';
import { OrderKeys } from './order.js';

/** The most messages claimed at once, whatever the capacity. */
const MAX_CLAIM = 1000;
/**
 * The most messages a consumer holds leased: claimed and waiting to start, running, or ran and
 * waiting for their record to be written before the ack. Past it, it claims no more until acks free
 * some (records are written every 50 ms, so this is far above what that many ms of work leaves).
 */
const MAX_LEASED = 10_000;
/** The longest a retry waits, whatever the backoff says. */
const MAX_BACKOFF_MS = 15 * 60_000;
/** Non-retriable errors are thrown by name (`import { NonRetriableError } from 'gust'`). */
const NON_RETRIABLE = 'NonRetriableError';

export const queueOf = (fn: string): string => `fn.${fn}`;

/**
 * The consumer of one function. A capacity slot (scale.max x concurrency) is held while the
 * invocation runs, not while its record is written and its messages acked: those wait apart (up
 * to MAX_LEASED), so a slot serves the next delivery at once. It claims only what its free slots
 * can start now (x batch for topic triggers): a message claimed and given back unstarted would
 * have its attempt counted, a retry lost. The slots that free while a claim is made are filled by
 * the next one, so a busy consumer still claims many messages a transaction (an instance answers
 * several calls at once).
 */
export class Consumer {
  private inflight = 0;
  private pumping = false;
  private again = false;
  private stopped = false;
  /** Claimed, not started yet, oldest first: started by the same fill, unless it stopped meanwhile. */
  private claimed: Claimed[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly handles = new Set<string>();
  /** Groups of ordered events (QueuedEvent.orderKey) waiting for the one before them. */
  private readonly order = new OrderKeys<Group>();
  /** Messages nacked for a retry by the delivery under way: their order key stays owned. */
  private readonly retrying = new Set<string>();

  constructor(
    private readonly name: string,
    private readonly deps: DeliveriesDeps,
    private readonly acks: Acks,
  ) {}

  leased(): Iterable<string> {
    return this.handles;
  }

  /** Stops starting deliveries; what a claim in progress brings is given back to the queue at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.giveBack();
    await Promise.all([...this.running]);
  }

  private async giveBack(): Promise<void> {
    const unstarted = [
      ...this.claimed.map((c) => c.message),
      ...this.order.drain().flatMap((g) => g.messages),
    ];
    this.claimed = [];
    for (const message of unstarted) {
      this.handles.delete(message.handle);
      await this.deps.queue
        .nack(message.handle, 0)
        .catch((e: unknown) => this.deps.onError(e, `giving back a message of ${this.name}`));
    }
  }

  /** Claims and starts what the function's capacity allows; called again whenever that changes. */
  pump(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    void this.fill()
      .catch((e: unknown) => this.deps.onError(e, `delivering events to ${this.name}`))
      .finally(() => {
        this.pumping = false;
        if (this.again) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async fill(): Promise<void> {
    for (;;) {
      const spec = this.deps.specOf(this.name);
      if (!spec || this.stopped) return;
      const capacity = spec.scale.max * spec.concurrency;
      // All that was claimed starts (past the capacity too when batches were cut short: those wait
      // in the dispatcher, patient), so nothing claimed waits here.
      while (this.claimed.length > 0) {
        const group = this.nextGroup(spec);
        const key = orderKeyOf(group);
        if (key === undefined || this.order.admit(key, group.messages[0]!.id, group)) this.start(group);
      }
      if (this.inflight >= capacity) return;
      const perInvocation = Math.max(1, ...spec.triggers.map((t) => (t.type === 'topic' ? t.batch : 1)));
      // Only what can start now: a message claimed and not started would have its attempt counted
      // if it were given back (a shutdown), a retry lost without a run.
      const room = capacity - this.inflight;
      const max = Math.min(MAX_CLAIM, room * perInvocation, MAX_LEASED - this.handles.size);
      if (max <= 0) return;
      const claimed = await this.deps.queue.claim(queueOf(this.name), max);
      if (claimed.length === 0) return;
      for (const m of claimed) {
        this.handles.add(m.handle);
        this.claimed.push({ message: m, delivered: read(m) });
      }
      if (this.stopped) return this.giveBack(); // stopped while claiming
    }
  }

  /**
   * The next invocation's messages: consecutive messages of one topic whose trigger has a batch
   * over 1 go together, up to that batch; any other message goes alone.
   */
  private nextGroup(spec: FunctionSpec): Group {
    const first = this.claimed.shift()!;
    const topic = topicOf(first.delivered);
    const size = topic === undefined ? 1 : batchOf(spec, topic);
    const group: Group = {
      messages: [first.message],
      delivered: first.delivered ? [first.delivered] : [],
      batch: size,
    };
    while (group.messages.length < size && this.claimed.length > 0) {
      const next = this.claimed[0]!;
      if (!next.delivered || topicOf(next.delivered) !== topic) break;
      this.claimed.shift();
      group.messages.push(next.message);
      group.delivered.push(next.delivered);
    }
    return group;
  }

  private start(group: Group): void {
    this.inflight++;
    let slotHeld = true;
    const freeSlot = () => {
      if (!slotHeld) return;
      slotHeld = false;
      this.inflight--;
      this.pump();
    };
    const run = this.deliver(group, freeSlot)
      .catch((e: unknown) => this.giveBackFailed(group, e))
      .finally(() => {
        freeSlot();
        for (const m of group.messages) this.handles.delete(m.handle);
        this.running.delete(run);
        this.startNextInOrder(group);
        this.pump();
      });
    this.running.add(run);
  }

  /** An ordered event settled (not left for a retry): the next of its key starts. */
  private startNextInOrder(group: Group): void {
    const key = orderKeyOf(group);
    const id = group.messages[0]!.id;
    if (this.retrying.delete(id) || key === undefined || this.stopped) return;
    const next = this.order.release(key, id);
    if (next !== undefined) this.start(next);
  }

  /**
   * The delivery failed on the platform's side (not the function's): its messages come back after
   * a backoff, as a failed attempt would, rather than waiting out their lease.
   */
  private async giveBackFailed(group: Group, e: unknown): Promise<void> {
    this.deps.onError(e, `delivering events to ${this.name}`);
    const backoffMs = this.deps.specOf(this.name)?.retries.backoffMs ?? 1000;
    for (const m of group.messages) {
      this.retrying.add(m.id);
      await this.deps.queue
        .nack(m.handle, backoffMs)
        .catch((err: unknown) => this.deps.onError(err, `giving back a message of ${this.name}`));
    }
  }

  /** `ran` is called once the invocation has run: its capacity slot is free for the next. */
  private async deliver(claimed: Group, ran: () => void): Promise<void> {
    let group = claimed;
    const spec = this.deps.specOf(this.name);
    const unreadable = group.delivered.length < group.messages.length;
    if (!spec) return; // removed meanwhile: its queue is purged
    if (unreadable) group = await this.dropUnreadable(group);
    group = await this.dropInvalid(group, spec);
    if (group.delivered.length === 0) return;
    const result = await this.deps.dispatcher.invoke(this.invocation(group, spec));
    ran();
    const { outcome } = result;
    const failed =
      outcome.type === 'ok'
        ? new Set(
            this.deps.failed(
              outcome.json === undefined ? undefined : (JSON.parse(outcome.json) as unknown),
              group.delivered,
              spec,
            ) ?? [],
          )
        : undefined;
    // An ordered event that succeeded lets the next of its key start now, not after its record and ack.
    if (failed?.size === 0) this.startNextInOrder(claimed);
    await this.deps.recorded();
    if (failed !== undefined) {
      await this.settle(
        pick(
          group,
          group.messages.filter((m) => !failed.has(m.id)),
        ),
      );
      const retry = group.messages.filter((m) => failed.has(m.id));
      const partial = { status: 'error', message: 'the handler reported it in batchItemFailures' };
      if (retry.length > 0) await this.retryOrGiveUp(pick(group, retry), spec, result, partial);
      return;
    }
    if (outcome.type === 'rejected' && outcome.budget) {
      // Would be refused again until the budget is raised or the month turns: no retry is burnt on it.
      const error = { status: 'rejected', message: outcome.reason };
      await this.giveUp(group, spec, error, result.record.spanId);
      return;
    }
    if (outcome.type === 'rejected') {
      await this.settle(group); // the function was removed
      return;
    }
    await this.retryOrGiveUp(group, spec, result);
  }

  /** The invocation of a group: its first event's id, trigger, trace and attempt. */
  private invocation(group: Group, spec: FunctionSpec): Invocation {
    const first = group.delivered[0]!;
    return {
      id: first.event.invocationId,
      function: this.name,
      trigger: first.event.trigger,
      // Each attempt is a span of its own, a child of what produced the event.
      ...spanIn({ traceId: first.event.traceId, parentSpanId: first.event.parentSpanId ?? null }),
      // A first attempt waited from its acceptance; a retry from the end of its backoff.
      received: first.attempt === 1 ? first.enqueuedAt : Date.now(),
      attempt: first.attempt,
      patient: true,
      kind: 'event',
      event: this.deps.shape(group.delivered, spec, group.batch),
    };
  }

  private async retryOrGiveUp(
    group: Group,
    spec: FunctionSpec,
    result: DispatchResult,
    reason?: DeadLetter['error'],
  ): Promise<void> {
    const { record, outcome } = result;
    const error = reason ?? { status: record.status, message: record.error ?? record.status };
    const fatal = outcome.type === 'error' && outcome.error.name === NON_RETRIABLE;
    const random = this.deps.random ?? Math.random;
    for (let i = 0; i < group.messages.length; i++) {
      const m = group.messages[i]!;
      if (fatal || m.attempt > spec.retries.max) {
        await this.giveUp(pick(group, [m]), spec, error, record.spanId);
        continue;
      }
      // Exponential, with jitter so that a burst of failures does not come back as one burst.
      const base = Math.min(MAX_BACKOFF_MS, spec.retries.backoffMs * 2 ** (m.attempt - 1));
      this.retrying.add(m.id);
      await this.deps.queue.nack(m.handle, Math.round(base * (0.5 + random())));
      this.deps.observe?.retried(this.name);
    }
  }

  /**
   * Off the queue for good: to the dead-letter topic when the function names one. `after`: the span
   * of the attempt it gives up after, the parent of the dead letter's deliveries.
   */
  private async giveUp(
    group: Group,
    spec: FunctionSpec,
    error: DeadLetter['error'],
    after: string | null,
  ): Promise<void> {
    const topic = spec.retries.deadLetter;
    if (topic !== null) {
      for (const d of group.delivered) {
        await this.deps.deadLetter(
          topic,
          {
            function: this.name,
            invocationId: d.event.invocationId,
            attempts: d.attempt,
            error,
            source: d.event.source,
          },
          { traceId: d.event.traceId, parentSpanId: after },
        );
      }
    }
    await this.settle(group);
    for (const _ of group.messages) this.deps.observe?.gaveUp(this.name, topic !== null);
  }

  /** Acks a group's messages, then says so to `settled`. */
  private async settle(group: Group): Promise<void> {
    if (group.messages.length === 0) return;
    await this.acks.ack(group.messages.map((m) => m.handle));
    if (group.delivered.length > 0) this.deps.settled?.(group.delivered);
  }

  /** A message whose body is not a queued event cannot be delivered, ever: it is dropped, said in the log. */
  private async dropUnreadable(group: Group): Promise<Group> {
    const readable = new Set(group.delivered.map((d) => d.messageId));
    const bad = group.messages.filter((m) => !readable.has(m.id));
    this.deps.onError(new Error(`${bad.length} unreadable message(s) dropped`), `queue of ${this.name}`);
    await this.acks.ack(bad.map((m) => m.handle));
    return pick(
      group,
      group.messages.filter((m) => readable.has(m.id)),
    );
  }

  /**
   * Events refused by their source, or that do not match `input`, go to the dead letter at once,
   * never retried: they would fail again.
   */
  private async dropInvalid(group: Group, spec: FunctionSpec): Promise<Group> {
    const refused = group.delivered.some((d) => d.event.refused !== undefined);
    if (spec.input === null && !refused) return group;
    const compiled = spec.input === null ? undefined : compileInput(spec.input);
    const keep: QueuedMessage[] = [];
    for (const m of group.messages) {
      const d = group.delivered.find((x) => x.messageId === m.id)!;
      const data = dataOf(d.event.source);
      const errors =
        compiled === undefined
          ? []
          : !compiled.ok
            ? [compiled.error]
            : data === NO_DATA
              ? []
              : compiled.validate(data);
      if (d.event.refused === undefined && errors.length === 0) keep.push(m);
      else {
        const message = d.event.refused ?? `the event does not match input: ${errors.join('; ')}`;
        const refused = pick(group, [m]);
        // Its record says why it never ran, before it leaves the queue.
        const { record } = this.deps.dispatcher.refuse(this.invocation(refused, spec), message);
        await this.deps.recorded();
        await this.giveUp(refused, spec, { status: 'rejected', message }, record.spanId);
      }
    }
    return keep.length === group.messages.length ? group : pick(group, keep);
  }
}
