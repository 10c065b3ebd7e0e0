/**
 * observe/retention: invocation records (and the logs in them) are kept for a time and a size.
 * Every PRUNE_EVERY_MS the pruner deletes, a short step at a time, resting between steps (it takes
 * at most a quarter of the event loop; the hot path never waits on a long delete):
 * 1. records that ended `ok` and started more than `retentionMs` ago;
 * 2. any record (failed ones are kept longer: they are what one debugs) older than `failedRetentionMs`;
 * 3. while the records take more than `maxBytes` (estimated from their count and the size of the
 *    newest ones), the oldest `ok` records, then the oldest of any kind.
 * The inputs kept for replay (observe/inputs.ts) have a pruner of their own, the same steps on the
 * same schedule, run by the thread that writes them (observe/input-worker.ts): those kept more than
 * their `retentionMs` ago, then the oldest while they take more than their `maxBytes`.
 * Usage and cost do not depend on records: they are rolled up per minute as records are written.
 * The database file does not shrink (SQLite reuses the pages freed): it stops growing.
 */
import type { InputStore, InvocationStore } from '../backends/ports.js';

export interface RetentionSettings {
  readonly retentionMs: number;
  readonly failedRetentionMs: number;
  readonly maxBytes: number;
}

/** The inputs kept for replay: kept for a time and a size of their own. */
export interface InputRetention {
  readonly retentionMs: number;
  readonly maxBytes: number;
}

/** What a pass deleted, by rule. */
export interface Pruned {
  /** `ok` records past `retentionMs`. */
  readonly expired: number;
  /** Any record past `failedRetentionMs`. */
  readonly failedExpired: number;
  /** The oldest records, past `maxBytes`. */
  readonly overSize: number;
}

/** What the pruner tells: the platform logs a pass at debug, the size bound's first use at info. */
export interface PrunerLog {
  readonly onError: (e: unknown) => void;
  /** A pass that deleted records. */
  readonly pruned?: (counts: Pruned) => void;
  /** The records outgrew `maxBytes`, and the oldest go from now on: told once a run, not each pass. */
  readonly sizeReached?: (at: { readonly records: number; readonly bytes: number }) => void;
}

export const PRUNE_EVERY_MS = 10_000;
const FIRST_PASS_MS = 2000;
/** Records deleted per step (a few milliseconds of SQLite work). */
const STEP = 500;
/** Inputs deleted per step: up to 256 KiB each, so fewer a step than records. */
const INPUT_STEP = 100;
/** Past the size bound, records go until they are this share of it, not one step over it each time. */
const LOW_WATER = 0.9;

/**
 * Between steps the pruner rests three times as long as the step took: it takes at most a quarter
 * of the event loop, so a large backlog (a platform started on millions of records) is worked off
 * over minutes rather than halving what the platform serves meanwhile (the input worker: rather
 * than leaving the batches handed over to wait past their bound).
 */
const REST_PER_WORK = 3;
const rest = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, ms)).unref());

/** A pass of the rules every PRUNE_EVERY_MS (the first soon after start), a short step at a time. */
abstract class Pruner<Store, Settings, Log extends { readonly onError: (e: unknown) => void }> {
  private readonly timer: NodeJS.Timeout;
  private readonly first: NodeJS.Timeout;
  private running: Promise<number> | undefined;
  private closed = false;

  constructor(
    protected readonly store: Store,
    protected readonly settings: Settings,
    protected readonly log: Log,
    protected readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.prune().catch(log.onError), PRUNE_EVERY_MS);
    this.timer.unref();
    // a first pass soon after start: a platform that was down a while has the most to drop
    this.first = setTimeout(() => void this.prune().catch(log.onError), FIRST_PASS_MS);
    this.first.unref();
  }

  /** One pass of the rules; how many it deleted. A pass already running is joined. */
  prune(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /** No pass starts after this, and the one under way stops after its step. */
  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.first);
  }

  /** Once the pass under way, if any, has ended (its store may be closed then). */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  protected abstract pass(): Promise<number>;

  /** Steps of `prune` until none is left to delete or `most` are gone. */
  protected async drain(
    prune: (limit: number) => Promise<{ deleted: number; done: boolean }>,
    step: number,
    most: number,
  ): Promise<number> {
    let total = 0;
    while (!this.closed && total < most) {
      const started = performance.now();
      const { deleted, done } = await prune(Math.min(step, most - total));
      total += deleted;
      if (done) break;
      await rest((performance.now() - started) * REST_PER_WORK);
    }
    return total;
  }
}

export class RecordPruner extends Pruner<
  Pick<InvocationStore, 'prune' | 'size'>,
  RetentionSettings,
  PrunerLog
> {
  private sizeSaid = false;

  protected async pass(): Promise<number> {
    const now = this.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const expired = await this.drainRecords(
      iso(now - this.settings.retentionMs),
      true,
      Number.POSITIVE_INFINITY,
    );
    const failedExpired = await this.drainRecords(
      iso(now - this.settings.failedRetentionMs),
      false,
      Number.POSITIVE_INFINITY,
    );
    let overSize = 0;
    const { records, bytesPerRecord } = await this.store.size();
    if (records * bytesPerRecord > this.settings.maxBytes) {
      if (!this.sizeSaid) this.log.sizeReached?.({ records, bytes: records * bytesPerRecord });
      this.sizeSaid = true;
      const excess = records - Math.floor((this.settings.maxBytes * LOW_WATER) / bytesPerRecord);
      const oks = await this.drainRecords(iso(now), true, excess);
      overSize = oks + (await this.drainRecords(iso(now), false, excess - oks));
    }
    const deleted = expired + failedExpired + overSize;
    if (deleted > 0) this.log.pruned?.({ expired, failedExpired, overSize });
    return deleted;
  }

  private drainRecords(before: string, okOnly: boolean, most: number): Promise<number> {
    return this.drain((limit) => this.store.prune({ before, okOnly, limit }), STEP, most);
  }
}

/** What a pass of the input pruner deleted: inputs past their time, then the oldest over their size. */
export interface InputsPruned {
  readonly expired: number;
  readonly overSize: number;
}

/** What the input pruner tells (its thread passes it on to the platform's log). */
export interface InputPrunerLog {
  readonly onError: (e: unknown) => void;
  /** A pass that deleted inputs. */
  readonly pruned?: (counts: InputsPruned) => void;
}

/** The inputs kept for replay: by age, then the oldest while they take more than their bound (down to 90% of it). */
export class InputPruner extends Pruner<Pick<InputStore, 'prune' | 'size'>, InputRetention, InputPrunerLog> {
  protected async pass(): Promise<number> {
    const { store, settings } = this;
    const before = this.now() - settings.retentionMs;
    const expired = await this.drain(
      (limit) => store.prune({ before, limit }),
      INPUT_STEP,
      Number.POSITIVE_INFINITY,
    );
    // past the bound: as many of the oldest as bring them to 90% of it, at their mean size
    const { inputs: count, bytes } = await store.size();
    let overSize = 0;
    if (bytes > settings.maxBytes) {
      const excess = count - Math.floor((settings.maxBytes * LOW_WATER) / (bytes / count));
      overSize = await this.drain((limit) => store.prune({ limit }), INPUT_STEP, excess);
    }
    if (expired + overSize > 0) this.log.pruned?.({ expired, overSize });
    return expired + overSize;
  }
}
