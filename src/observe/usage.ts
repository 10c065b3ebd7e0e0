/**
 * observe/usage: what functions used, and what it would cost. Invocations are rolled up per function
 * and minute as their records are written (embedded/invocations.ts), so usage stays exact once
 * records are pruned. Instances kept warm by `scale.min` are metered apart, as a cloud meters
 * provisioned concurrency: `scale.min` x memory for as long as the version is active, whether or
 * not calls come. The cost is under a price plan (default: AWS Lambda's public x86 list prices).
 * Beside it, what each function with a monthly budget used of it (observe/budgets.ts).
 */
import type { InvocationStore, UsageQuery, UsageRow } from '../backends/ports.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { BudgetStatus, Budgets } from './budgets.js';

export interface Prices {
  /** Dollars per million requests. */
  readonly perMillionRequests: number;
  /** Dollars per GB-second of running (billed duration x memory). */
  readonly perGbSecond: number;
  /** Dollars per GB-second of instances kept warm by scale.min (Lambda's provisioned concurrency). */
  readonly perWarmGbSecond: number;
}

/** AWS Lambda, x86, us-east-1, first tier (2026 list prices). */
export const LAMBDA_PRICES: Prices = {
  perMillionRequests: 0.2,
  perGbSecond: 0.0000166667,
  perWarmGbSecond: 0.0000041667,
};

export interface PricedRow extends UsageRow {
  /** Dollars: requests + GB-s + warm GB-s at the plan's prices. */
  readonly cost: number;
}

export interface UsageReport {
  readonly since: string;
  readonly until: string;
  readonly by: UsageQuery['by'];
  readonly rows: readonly PricedRow[];
  readonly total: PricedRow;
  /** The plan the costs are under, and whether it is Gust's default (AWS Lambda's) or the platform's own. */
  readonly prices: Prices & { readonly plan: 'aws-lambda-x86' | 'custom' };
  /** The functions deployed with a budget (of `query.function` only, when given): this month's use. */
  readonly budgets: readonly BudgetStatus[];
}

/** How often the warm meter adds what scale.min instances have cost since its last look. */
const WARM_EVERY_MS = 60_000;

/** A function's active version now, and since when it is active (epoch ms). */
export interface Active {
  readonly spec: FunctionSpec;
  readonly since: number;
}

export interface UsageDeps {
  readonly store: Pick<InvocationStore, 'addWarm' | 'usage'>;
  /** The active versions now. */
  readonly active: () => Promise<readonly Active[]>;
  readonly prices: Prices;
  readonly budgets: Pick<Budgets, 'statuses'>;
  readonly onError: (e: unknown) => void;
}

export class Usage {
  private last = Date.now();
  /** Functions seen warm at the last look: a function not among them is metered from its activation. */
  private seen = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly deps: UsageDeps) {
    this.timer = setInterval(() => void this.meterWarm().catch(deps.onError), WARM_EVERY_MS);
    this.timer.unref();
  }

  /**
   * Adds the warm GB-s since the last look (each minute, and before each report), at the scale.min
   * of the versions active now: a change of scale.min or memory counts from the next look.
   */
  async meterWarm(now = Date.now()): Promise<void> {
    const from = this.last;
    this.last = now;
    const warm = new Map<string, number>();
    const seen = new Set<string>();
    for (const { spec, since } of await this.deps.active()) {
      if (spec.scale.min === 0) continue;
      seen.add(spec.name);
      const start = this.seen.has(spec.name) ? from : Math.max(from, since);
      const seconds = Math.max(0, (now - start) / 1000);
      warm.set(spec.name, spec.scale.min * (spec.memoryMb / 1024) * seconds);
    }
    this.seen = seen;
    if (warm.size > 0) await this.deps.store.addWarm(now, warm);
  }

  /** Usage from `since` to now, per function or per day, priced. The warm meter is brought up to now first. */
  async report(query: Omit<UsageQuery, 'until'>): Promise<UsageReport> {
    await this.meterWarm();
    const until = Date.now();
    const rows = (await this.deps.store.usage({ ...query, until: until + 60_000 })).map((r) =>
      this.priced(r),
    );
    const sum = (pick: (r: UsageRow) => number) => rows.reduce((n, r) => n + pick(r), 0);
    const total = this.priced({
      key: 'total',
      requests: sum((r) => r.requests),
      failed: sum((r) => r.failed),
      coldStarts: sum((r) => r.coldStarts),
      billedMs: sum((r) => r.billedMs),
      gbSeconds: sum((r) => r.gbSeconds),
      warmGbSeconds: sum((r) => r.warmGbSeconds),
    });
    const specs = (await this.deps.active()).flatMap(({ spec }) =>
      query.function === undefined || spec.name === query.function ? [spec] : [],
    );
    return {
      since: new Date(query.since).toISOString(),
      until: new Date(until).toISOString(),
      by: query.by,
      rows,
      total,
      prices: { ...this.deps.prices, plan: planOf(this.deps.prices) },
      budgets: this.deps.budgets.statuses(specs),
    };
  }

  /** Whether a function ever used anything (removed since, its usage stays readable). */
  async used(fn: string): Promise<boolean> {
    const rows = await this.deps.store.usage({
      since: 0,
      until: Date.now() + 60_000,
      by: 'function',
      function: fn,
    });
    return rows.length > 0;
  }

  close(): void {
    clearInterval(this.timer);
  }

  private priced(r: UsageRow): PricedRow {
    const p = this.deps.prices;
    const cost =
      (r.requests / 1e6) * p.perMillionRequests +
      r.gbSeconds * p.perGbSecond +
      r.warmGbSeconds * p.perWarmGbSecond;
    return { ...r, cost };
  }
}

/** `aws-lambda-x86` when the prices are Lambda's (the default), else `custom` (GUST_PRICE_*). */
function planOf(p: Prices): 'aws-lambda-x86' | 'custom' {
  const lambda =
    p.perMillionRequests === LAMBDA_PRICES.perMillionRequests &&
    p.perGbSecond === LAMBDA_PRICES.perGbSecond &&
    p.perWarmGbSecond === LAMBDA_PRICES.perWarmGbSecond;
  return lambda ? 'aws-lambda-x86' : 'custom';
}
