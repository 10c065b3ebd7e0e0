/**
 * tally: what each invocation adds to the metrics, kept as plain numbers per function and handed
 * to prom-client only when scraped. A prom-client labelled child hashes and checks its labels at
 * every `inc` and `observe` (its `labels()` child only binds them): about 2.6 µs a record for the
 * four series an invocation moves, on this loaded machine, against some 50 ns here
 * (bench/README.md, "Metrics").
 */
import client from 'prom-client';

/** A histogram's counts: per bucket (not cumulative), sum and count. */
export class Buckets {
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++; // `le` is inclusive
    if (i < b.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** One function's invocations since the platform started. */
export class FunctionTally {
  /** `trigger status` -> invocations. */
  readonly outcomes = new Map<string, { readonly trigger: string; readonly status: string; n: number }>();
  readonly duration: Buckets;
  readonly init: Buckets;
  coldStarts = 0;
  gbSeconds = 0;
  throttled = 0;

  constructor(durationBounds: readonly number[], initBounds: readonly number[]) {
    this.duration = new Buckets(durationBounds);
    this.init = new Buckets(initBounds);
  }
}

/** A prom-client counter whose values are read from tallies at each scrape. */
export function talliedCounter<T extends string>(opts: {
  name: string;
  help: string;
  labelNames: T[];
  registry: client.Registry;
  read: () => Iterable<readonly [Partial<Record<T, string>>, number]>;
}): client.Counter<T> {
  const { read } = opts;
  return new client.Counter({
    name: opts.name,
    help: opts.help,
    labelNames: opts.labelNames,
    registers: [opts.registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

type HistogramValues = Awaited<ReturnType<client.Histogram['get']>>;

/** A prom-client histogram, labelled by function, whose buckets are read from tallies at each scrape. */
export class TalliedHistogram extends client.Histogram<'function'> {
  constructor(
    private readonly opts: { name: string; help: string; registry: client.Registry },
    private readonly read: () => Iterable<readonly [string, Buckets]>,
  ) {
    super({ name: opts.name, help: opts.help, labelNames: ['function'], registers: [opts.registry] });
  }

  override get(): Promise<HistogramValues> {
    return this.getForPromString();
  }

  /** What the registry calls to write the text (prom-client's histogram has it; its types do not). */
  async getForPromString(): Promise<HistogramValues> {
    const values: HistogramValues['values'] = [];
    const bucket = `${this.opts.name}_bucket`;
    for (const [fn, b] of this.read()) {
      let cumulative = 0;
      b.bounds.forEach((le, i) => {
        cumulative += b.counts[i]!;
        values.push({ metricName: bucket, labels: { le, function: fn } as never, value: cumulative });
      });
      values.push({ metricName: bucket, labels: { le: '+Inf', function: fn } as never, value: b.count });
      values.push({ metricName: `${this.opts.name}_sum`, labels: { function: fn }, value: b.sum });
      values.push({ metricName: `${this.opts.name}_count`, labels: { function: fn }, value: b.count });
    }
    // prom-client's types name the type by an enum its code does not have: the text needs 'histogram'
    const head = { name: this.opts.name, help: this.opts.help, type: 'histogram', aggregator: 'sum' };
    return { ...head, values } as unknown as HistogramValues;
  }
}
