/**
 * observe/budgets: each function's GB-s this calendar month (UTC), kept in memory, so that the
 * dispatcher refuses a call past its function's `budget` with a map read, never a query.
 * - Seeded once at start, before any call, from the store's usage rollup (exact once records are
 *   pruned); then added to as each record is made (the Recorder's hook: every invocation's one way
 *   out), by the month of its `start`, as the rollup counts it; at 0 again when the month turns.
 * - Every function is tallied, with a budget or not: a budget added by a deploy, or a function
 *   removed and deployed again, counts what the name used this month.
 * - Invocations' billed GB-s only: instances kept warm by `scale.min` are metered apart.
 * What it does not hold: a call is checked before it runs and its GB-s are known when it ends, so
 * calls in flight when the budget is crossed finish and count; a month can end over its budget by
 * those. The tally is this platform's: nodes of a cluster would each need the others' records.
 */
import type { InvocationRecord, InvocationStore } from '../backends/ports.js';
import type { Budget, FunctionSpec } from '../manifest/types.js';

export interface BudgetStatus {
  readonly function: string;
  /** The cap: GB-s a calendar month. */
  readonly gbSeconds: number;
  /** GB-s its invocations used since `since`. */
  readonly used: number;
  /** The first instant of this month, UTC (ISO). */
  readonly since: string;
  /** When the tally starts again at 0: the first instant of next month (ISO). */
  readonly resetsAt: string;
  /** `used` has reached `gbSeconds`: calls are rejected. */
  readonly exceeded: boolean;
}

/**
 * What making another version active (a deploy, a rollback) did to a function's budget: the budget
 * of the active version applies to every call, so a rollback can bring back a smaller one.
 */
export interface BudgetChange {
  /** GB-s a month of the version active before, and of the one active now; null: no budget. */
  readonly from: number | null;
  readonly to: number | null;
  /** The version active before; null when none was (a first deploy). */
  readonly fromVersion: number | null;
  /** GB-s the function's calls used this month. */
  readonly used: number;
  /** `used` has reached `to`: its calls are refused from now on, until `resetsAt`. */
  readonly refused: boolean;
  /** The first instant of next month, UTC (ISO), when the tally starts again at 0. */
  readonly resetsAt: string;
}

/** A call refused for its budget: the status then, and the line its record and caller get. */
export interface BudgetRefusal extends BudgetStatus {
  readonly reason: string;
}

export class Budgets {
  /** Function -> its GB-s this month, in a cell added to in place (one map read a record). */
  private used = new Map<string, { gbSeconds: number }>();
  /** Calls refused since the platform started, by function (a metric's counter). */
  private readonly refused = new Map<string, number>();
  private start = 0;
  private next = 0;
  private startIso = '';
  private nextIso = '';

  constructor(private readonly now: () => number = Date.now) {
    this.turn(now());
  }

  /** Adds what the store's records of this month used: once, before the first call. */
  async seed(store: Pick<InvocationStore, 'usage'>): Promise<void> {
    this.current();
    const rows = await store.usage({ since: this.start, until: this.next, by: 'function' });
    for (const row of rows) this.add(row.key, row.gbSeconds);
  }

  /** A record as it is made. */
  recorded(r: InvocationRecord): void {
    if (r.gbSeconds === 0) return;
    // ISO times of one format compare as text: no Date made per record
    if (r.start >= this.nextIso) this.turn(Date.parse(r.start));
    else if (r.start < this.startIso) return; // a call of last month that ended in this one
    this.add(r.function, r.gbSeconds);
  }

  /** Why a call to `fn` may not run now; undefined when it has no budget or some is left. */
  check(fn: string, budget: Budget | undefined): BudgetRefusal | undefined {
    if (budget === undefined) return undefined;
    // The hot path: a map read. Under the budget, the clock need not be read: had the month turned,
    // its tally (0, or what records of the new month added) would be under it too.
    if ((this.used.get(fn)?.gbSeconds ?? 0) < budget.gbSeconds) return undefined;
    const status = this.status(fn, budget);
    if (!status.exceeded) return undefined; // the month turned
    this.refused.set(fn, (this.refused.get(fn) ?? 0) + 1);
    const reason =
      `${fn} has used its monthly budget of ${budget.gbSeconds} GB-s (${formatGbs(status.used)} GB-s since ${status.since.slice(0, 10)}); ` +
      `raise budget.gbSeconds in gust.yaml or wait until ${status.resetsAt.slice(0, 10)}`;
    return { ...status, reason };
  }

  status(fn: string, budget: Budget): BudgetStatus {
    const month = this.month(fn);
    return { function: fn, gbSeconds: budget.gbSeconds, ...month, exceeded: month.used >= budget.gbSeconds };
  }

  /** What `fn`'s calls used this month (with a budget or not), and the month's bounds. */
  month(fn: string): Pick<BudgetStatus, 'used' | 'since' | 'resetsAt'> {
    this.current();
    return { used: this.used.get(fn)?.gbSeconds ?? 0, since: this.startIso, resetsAt: this.nextIso };
  }

  /**
   * The change of making a version with budget `to` active in place of `before` (undefined: no
   * version was active); undefined when the budget stays the same.
   */
  change(
    fn: string,
    before: { version: number; budget: Budget | undefined } | undefined,
    to: Budget | undefined,
  ): BudgetChange | undefined {
    const from = before?.budget?.gbSeconds ?? null;
    const next = to?.gbSeconds ?? null;
    if (from === next) return undefined;
    const { used, resetsAt } = this.month(fn);
    return {
      from,
      to: next,
      fromVersion: before?.version ?? null,
      used,
      refused: next !== null && used >= next,
      resetsAt,
    };
  }

  /** The status of each of these functions that has a budget. */
  statuses(specs: Iterable<FunctionSpec>): BudgetStatus[] {
    const out: BudgetStatus[] = [];
    for (const spec of specs) if (spec.budget) out.push(this.status(spec.name, spec.budget));
    return out;
  }

  /** Calls refused since the platform started, by function. */
  rejections(): ReadonlyMap<string, number> {
    return this.refused;
  }

  private add(fn: string, gbSeconds: number): void {
    const cell = this.used.get(fn);
    if (cell === undefined) this.used.set(fn, { gbSeconds });
    else cell.gbSeconds += gbSeconds;
  }

  /** The month turned since the last look: the tally starts again. */
  private current(): void {
    const now = this.now();
    if (now >= this.next) this.turn(now);
  }

  private turn(at: number): void {
    const d = new Date(at);
    this.start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
    this.next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
    this.startIso = new Date(this.start).toISOString();
    this.nextIso = new Date(this.next).toISOString();
    this.used = new Map();
  }
}

/** GB-s as messages show them: a tenth past 100, four significant digits below. */
export function formatGbs(n: number): string {
  return n >= 100 ? n.toFixed(1) : String(Number(n.toPrecision(4)));
}

/**
 * The warning a deploy or a rollback that leaves `fn` refusing its calls is said with (`gust deploy`,
 * `gust rollback`); undefined when its calls still run. Rolling back is offered when the version
 * before had room left.
 */
export function budgetWarning(fn: string, version: number, c: BudgetChange): string | undefined {
  if (!c.refused || c.to === null) return undefined;
  const back =
    c.fromVersion !== null && (c.from === null || c.used < c.from)
      ? ` or roll back to v${c.fromVersion} (gust rollback ${fn} ${c.fromVersion})`
      : '';
  return (
    `warning: ${fn} v${version}'s budget is ${c.to} GB-s and ${formatGbs(c.used)} GB-s were used this month: ` +
    `its calls will be refused until ${c.resetsAt.slice(0, 10)}; deploy a higher budget.gbSeconds${back}`
  );
}

/** `412.3/1000 GB-s` (`(used up)` after it once calls are rejected): as `gust ls` and `gust usage` show it. */
export function budgetText(b: Pick<BudgetStatus, 'used' | 'gbSeconds' | 'exceeded'>): string {
  return `${formatGbs(b.used)}/${b.gbSeconds} GB-s${b.exceeded ? ' (used up)' : ''}`;
}
