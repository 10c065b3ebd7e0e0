/**
 * observe/metrics: what `/_gust/metrics` shows, in Prometheus text (prom-client, a registry of
 * its own: no global). Each fact is counted where it is known, once:
 * - invocations, durations, init times, cold starts, GB-s and capacity throttles from the
 *   invocation record as the recorder takes it (`recorded`): every trigger's calls end there;
 * - retries and dead letters where deliveries decide them, full queues where a queue refuses;
 * - warm GB-s (`scale.min`) from the usage meter's own numbers, as it adds them;
 * - instances, stem cells and queues are read at scrape time (`Snapshot`), never counted.
 * Labels stay few: function, trigger, status, memory size; never an invocation id.
 * The hot path pays a map lookup and a few additions per invocation: each function's labelled
 * children are made once and kept (bench/README.md, "Metrics").
 */
import client from 'prom-client';
import type { InvocationRecord } from '../backends/ports.js';

/** Instances of one function now, over all its versions' pools. */
export interface InstanceCount {
  readonly function: string;
  /** Serving at least one call. */
  readonly running: number;
  readonly idle: number;
  readonly starting: number;
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
}

/** Seconds: from a hello's warm call (~1 ms) to a long timeout. */
const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300,
];
/** Seconds: a module load from a stem cell (~10 ms) to the 10 s init limit. */
const INIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The labelled children of one function, made at its first record. */
interface FunctionSeries {
  /** `trigger status` -> its counter. */
  readonly outcomes: Map<string, client.Counter.Internal>;
  readonly duration: client.Histogram.Internal<'function'>;
  readonly init: client.Histogram.Internal<'function'>;
  readonly coldStarts: client.Counter.Internal;
  readonly gbSeconds: client.Counter.Internal;
  readonly throttled: client.Counter.Internal;
}

export class Metrics {
  readonly contentType = client.Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly registry = new client.Registry();
  private readonly series = new Map<string, FunctionSeries>();
  private readonly invocations = this.counter(
    'gust_invocations_total',
    'Invocations, by function, trigger and status (ok, error, timeout, crashed, throttled, rejected); each retry counts.',
    ['function', 'trigger', 'status'],
  );
  private readonly duration = new client.Histogram({
    name: 'gust_invocation_duration_seconds',
    help: 'Run time of invocations that ran (from the call to its answer, waiting for an instance excluded).',
    labelNames: ['function'],
    buckets: DURATION_BUCKETS,
    registers: [this.registry],
  });
  private readonly init = new client.Histogram({
    name: 'gust_init_duration_seconds',
    help: 'Module load time of cold starts.',
    labelNames: ['function'],
    buckets: INIT_BUCKETS,
    registers: [this.registry],
  });
  private readonly coldStarts = this.counter(
    'gust_cold_starts_total',
    'Invocations that started a new instance.',
    ['function'],
  );
  private readonly gbSeconds = this.counter(
    'gust_gb_seconds_total',
    'GB-seconds billed to invocations (memory / 1024 x billed seconds).',
    ['function'],
  );
  private readonly warmGbSeconds = this.counter(
    'gust_warm_gb_seconds_total',
    'GB-seconds of instances kept warm by scale.min, metered apart (added each minute).',
    ['function'],
  );
  private readonly throttles = this.counter(
    'gust_throttles_total',
    'Calls refused for capacity: every instance busy at scale.max (capacity), or the function queue full (queue_full).',
    ['function', 'reason'],
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
  private readonly topicSubscriptions = this.gauge(
    'gust_topic_subscription',
    '1 for each function subscribed to a topic: its messages wait in that function queue (join on function).',
    ['topic', 'function'],
  );

  constructor(private readonly snapshot: Snapshot) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'gust_' });
  }

  /** An invocation record, as the recorder takes it: the one place every invocation passes. */
  recorded(r: InvocationRecord): void {
    const s = this.series.get(r.function) ?? this.add(r.function);
    const key = `${r.trigger} ${r.status}`;
    let outcome = s.outcomes.get(key);
    if (outcome === undefined) {
      outcome = this.invocations.labels(r.function, r.trigger, r.status);
      s.outcomes.set(key, outcome);
    }
    outcome.inc();
    if (r.billedMs > 0) {
      s.duration.observe(r.durationMs / 1000);
      s.gbSeconds.inc(r.gbSeconds);
    }
    if (r.cold) {
      s.coldStarts.inc();
      if (r.initMs > 0) s.init.observe(r.initMs / 1000);
    }
    if (r.status === 'throttled') s.throttled.inc();
  }

  /** A queue refused a function's events: full. */
  queueFull(fn: string, events = 1): void {
    this.throttles.labels(fn, 'queue_full').inc(events);
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
  }

  private add(fn: string): FunctionSeries {
    const s: FunctionSeries = {
      outcomes: new Map(),
      duration: this.duration.labels(fn),
      init: this.init.labels(fn),
      coldStarts: this.coldStarts.labels(fn),
      gbSeconds: this.gbSeconds.labels(fn),
      throttled: this.throttles.labels(fn, 'capacity'),
    };
    this.series.set(fn, s);
    return s;
  }

  private counter<T extends string>(name: string, help: string, labelNames: T[]): client.Counter<T> {
    return new client.Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<T extends string>(name: string, help: string, labelNames: T[]): client.Gauge<T> {
    return new client.Gauge({ name, help, labelNames, registers: [this.registry] });
  }
}
