/**
 * observe/metrics: what `/_gust/metrics` shows, in Prometheus text (prom-client, a registry of
 * its own: no global). Each fact is counted where it is known, once:
 * - invocations, durations, init times, cold starts, GB-s and capacity throttles from the
 *   invocation record as the recorder takes it (`recorded`): every trigger's calls end there;
 * - retries and dead letters where deliveries decide them, full queues where a queue refuses;
 * - warm GB-s (`scale.min`) from the usage meter's own numbers, as it adds them;
 * - instances, stem cells, queues and budgets are read at scrape time (`Snapshot`), never counted
 *   here (calls refused for a budget are counted where they are refused, observe/budgets.ts).
 * Labels stay few: function, trigger, status, memory size; never an invocation id.
 * The hot path pays two map lookups and a few additions per invocation, into plain numbers that
 * prom-client reads at scrape time (tally.ts says why; bench/README.md, "Metrics").
 */
import client from 'prom-client';
import type { InvocationRecord } from '../backends/ports.js';
import type { BudgetStatus } from './budgets.js';
import { FunctionTally, TalliedHistogram, talliedCounter } from './tally.js';

/** Instances of one function now, over all its versions' pools. */
export interface InstanceCount {
  readonly function: string;
  /** Serving at least one call. */
  readonly running: number;
  readonly idle: number;
  readonly starting: number;
}

/** Counts of several pools, summed by function. */
export function byFunction(counts: Iterable<InstanceCount>): InstanceCount[] {
  const sums = new Map<string, InstanceCount>();
  for (const c of counts) {
    const s = sums.get(c.function);
    sums.set(
      c.function,
      s === undefined
        ? c
        : { ...s, running: s.running + c.running, idle: s.idle + c.idle, starting: s.starting + c.starting },
    );
  }
  return [...sums.values()];
}

/** Idle pre-started processes of one memory size. */
export interface StemCellCount {
  readonly memoryMb: number;
  readonly ready: number;
  readonly starting: number;
}

/** The durable queue of one function: messages in it (waiting, delayed or leased) and the oldest's age. */
export interface QueueCount {
  readonly function: string;
  readonly messages: number;
  readonly oldestMs: number;
}

/** What is read at scrape time: states, not events. */
export interface Snapshot {
  readonly instances: () => Iterable<InstanceCount>;
  readonly stemCells: () => Iterable<StemCellCount>;
  readonly queues: () => Promise<Iterable<QueueCount>>;
  /** Topic -> the functions subscribed to it: its messages wait in their queues. */
  readonly subscriptions: () => Iterable<{ readonly topic: string; readonly functions: Iterable<string> }>;
  /** Functions deployed now: an empty queue reads 0 rather than nothing. */
  readonly functions: () => Iterable<string>;
  /** The functions deployed now that have a budget, and what they used of it this month. */
  readonly budgets: () => Iterable<BudgetStatus>;
  /** Calls refused for their function's budget since the platform started, by function. */
  readonly budgetRejections: () => ReadonlyMap<string, number>;
}

/** Seconds: from a hello's warm call (~1 ms) to a long timeout. */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
/** Seconds: a module load from a stem cell (~10 ms) to the 10 s init limit. */
const INIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly registry = new client.Registry();
  /** What the hot path adds to: plain numbers, read by the tallied series at each scrape. */
  private readonly tallies = new Map<string, FunctionTally>();
  /** Function -> events a full queue refused. */
  private readonly refused = new Map<string, number>();
  private readonly warmGbSeconds = this.counter(
    'gust_warm_gb_seconds_total',
    'GB-seconds of instances kept warm by scale.min, metered apart (added each minute).',
    ['function'],
  );
  private readonly retries = this.counter(
    'gust_retries_total',
    'Queued events given back for another attempt after a failed one.',
    ['function'],
  );
  private readonly deadLetters = this.counter(
    'gust_dead_letters_total',
    'Queued events given up after their last attempt: sent to the dead-letter topic (sent="true") or dropped, none being set.',
    ['function', 'sent'],
  );
  private readonly instances = this.gauge(
    'gust_instances',
    'Instances now, by state: running (serving a call), idle, starting.',
    ['function', 'state'],
  );
  private readonly stemCells = this.gauge(
    'gust_stem_cells',
    'Idle pre-started processes, by memory size and state (ready, starting).',
    ['memory_mb', 'state'],
  );
  private readonly queueMessages = this.gauge(
    'gust_queue_messages',
    'Events in the durable queue of a function (waiting, delayed for a retry, or being delivered).',
    ['function'],
  );
  private readonly queueAge = this.gauge(
    'gust_queue_oldest_message_age_seconds',
    'Age of the oldest event in the queue of a function; 0 when empty.',
    ['function'],
  );
  private readonly budgetLimit = this.gauge(
    'gust_budget_gb_seconds',
    'The monthly budget of a function that has one (budget.gbSeconds): GB-s of invocations a calendar month (UTC).',
    ['function'],
  );
  private readonly budgetUsed = this.gauge(
    'gust_budget_used_gb_seconds',
    'GB-s the invocations of a function with a budget used this calendar month (UTC); past gust_budget_gb_seconds, calls are rejected.',
    ['function'],
  );
  private readonly topicSubscriptions = this.gauge(
    'gust_topic_subscription',
    '1 for each function subscribed to a topic: its messages wait in that function queue (join on function).',
    ['topic', 'function'],
  );

  constructor(private readonly snapshot: Snapshot) {
    this.talliedSeries();
    client.collectDefaultMetrics({ register: this.registry, prefix: 'gust_' });
  }

  /** An invocation record, as the recorder takes it: the one place every invocation passes. */
  recorded(r: InvocationRecord): void {
    let t = this.tallies.get(r.function);
    if (t === undefined) {
      t = new FunctionTally(DURATION_BUCKETS, INIT_BUCKETS);
      this.tallies.set(r.function, t);
    }
    const key = `${r.trigger} ${r.status}`;
    const outcome = t.outcomes.get(key);
    if (outcome === undefined) t.outcomes.set(key, { trigger: r.trigger, status: r.status, n: 1 });
    else outcome.n++;
    if (r.billedMs > 0) {
      t.duration.observe(r.durationMs / 1000);
      t.gbSeconds += r.gbSeconds;
    }
    if (r.cold) {
      t.coldStarts++;
      if (r.initMs > 0) t.init.observe(r.initMs / 1000);
    }
    if (r.status === 'throttled') t.throttled++;
  }

  /** A queue refused a function's events: full. */
  queueFull(fn: string, events = 1): void {
    this.refused.set(fn, (this.refused.get(fn) ?? 0) + events);
  }

  retried(fn: string): void {
    this.retries.labels(fn).inc();
  }

  gaveUp(fn: string, sent: boolean): void {
    this.deadLetters.labels(fn, String(sent)).inc();
  }

  /** What the usage meter added for scale.min instances: function -> GB-s. */
  warmMetered(warm: ReadonlyMap<string, number>): void {
    for (const [fn, gbs] of warm) this.warmGbSeconds.labels(fn).inc(gbs);
  }

  /** The exposition text, the scrape-time states read first. */
  async text(): Promise<string> {
    await this.readStates();
    const text = await this.registry.metrics();
    // prom-client writes `Nan` for the event-loop lag gauges when nothing was measured since the
    // last scrape (two scrapes within its 10 ms resolution); parsers differ on that spelling, and
    // nothing measured is said best by no sample.
    return text.includes(' Nan\n') ? text.replace(/^.* Nan\n/gm, '') : text;
  }

  private async readStates(): Promise<void> {
    const snap = this.snapshot;
    const queues = await snap.queues();
    this.instances.reset();
    for (const i of snap.instances()) {
      this.instances.labels(i.function, 'running').set(i.running);
      this.instances.labels(i.function, 'idle').set(i.idle);
      this.instances.labels(i.function, 'starting').set(i.starting);
    }
    this.stemCells.reset();
    for (const c of snap.stemCells()) {
      this.stemCells.labels(String(c.memoryMb), 'ready').set(c.ready);
      this.stemCells.labels(String(c.memoryMb), 'starting').set(c.starting);
    }
    this.queueMessages.reset();
    this.queueAge.reset();
    for (const fn of snap.functions()) {
      this.queueMessages.labels(fn).set(0);
      this.queueAge.labels(fn).set(0);
    }
    for (const q of queues) {
      this.queueMessages.labels(q.function).set(q.messages);
      this.queueAge.labels(q.function).set(q.oldestMs / 1000);
    }
    this.topicSubscriptions.reset();
    for (const t of snap.subscriptions()) {
      for (const fn of t.functions) this.topicSubscriptions.labels(t.topic, fn).set(1);
    }
    this.budgetLimit.reset();
    this.budgetUsed.reset();
    for (const b of snap.budgets()) {
      this.budgetLimit.labels(b.function).set(b.gbSeconds);
      this.budgetUsed.labels(b.function).set(b.used);
    }
  }

  /** The series of what invocations add, read from the tallies at each scrape. */
  private talliedSeries(): void {
    talliedCounter({
      name: 'gust_invocations_total',
      help: 'Invocations, by function, trigger and status (ok, error, timeout, crashed, throttled, rejected); each retry counts.',
      labelNames: ['function', 'trigger', 'status'],
      registry: this.registry,
      read: () =>
        this.each((fn, t) =>
          [...t.outcomes.values()].map(
            (o) => [{ function: fn, trigger: o.trigger, status: o.status }, o.n] as const,
          ),
        ),
    });
    new TalliedHistogram(
      {
        name: 'gust_invocation_duration_seconds',
        help: 'Run time of invocations that ran (from the call to its answer, waiting for an instance excluded).',
        registry: this.registry,
      },
      () => this.each((fn, t) => [[fn, t.duration] as const]),
    );
    new TalliedHistogram(
      {
        name: 'gust_init_duration_seconds',
        help: 'Module load time of cold starts.',
        registry: this.registry,
      },
      () => this.each((fn, t) => [[fn, t.init] as const]),
    );
    talliedCounter({
      name: 'gust_cold_starts_total',
      help: 'Invocations that started a new instance.',
      labelNames: ['function'],
      registry: this.registry,
      read: () => this.each((fn, t) => [[{ function: fn }, t.coldStarts] as const]),
    });
    talliedCounter({
      name: 'gust_gb_seconds_total',
      help: 'GB-seconds billed to invocations (memory / 1024 x billed seconds).',
      labelNames: ['function'],
      registry: this.registry,
      read: () => this.each((fn, t) => [[{ function: fn }, t.gbSeconds] as const]),
    });
    talliedCounter({
      name: 'gust_throttles_total',
      help: 'Calls refused for capacity: every instance busy at scale.max (capacity), or the function queue full (queue_full).',
      labelNames: ['function', 'reason'],
      registry: this.registry,
      read: () => [
        ...this.each((fn, t) =>
          t.throttled > 0 ? [[{ function: fn, reason: 'capacity' }, t.throttled] as const] : [],
        ),
        ...[...this.refused].map(([fn, n]) => [{ function: fn, reason: 'queue_full' }, n] as const),
      ],
    });
    talliedCounter({
      name: 'gust_budget_rejections_total',
      help: 'Calls rejected because their function had used its monthly budget (also in gust_invocations_total, status rejected).',
      labelNames: ['function'],
      registry: this.registry,
      read: () => [...this.snapshot.budgetRejections()].map(([fn, n]) => [{ function: fn }, n] as const),
    });
  }

  private each<T>(pick: (fn: string, t: FunctionTally) => Iterable<T>): T[] {
    return [...this.tallies].flatMap(([fn, t]) => [...pick(fn, t)]);
  }

  private counter<T extends string>(name: string, help: string, labelNames: T[]): client.Counter<T> {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<T extends string>(name: string, help: string, labelNames: T[]): client.Gauge<T> {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
