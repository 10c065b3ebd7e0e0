/**
 * observe/retention: invocation records (and the logs in them) are kept for a time and a size.
 * Every PRUNE_EVERY_MS the pruner deletes, a short step at a time, resting between steps (it takes
 * at most a quarter of the event loop; the hot path never waits on a long delete):
 * 1. records that ended `ok` and started more than `retentionMs` ago;
 * 2. any record (failed ones are kept longer: they are what one debugs) older than `failedRetentionMs`;
 * 3. while the records take more than `maxBytes` (estimated from their count and the size of the
 *    newest ones), the oldest `ok` records, then the oldest of any kind;
 * 4. the inputs kept for replay (observe/inputs.ts), when they are: those kept more than their own
 *    `retentionMs` ago, then the oldest while they take more than their `maxBytes`.
 * Usage and cost do not depend on records: they are rolled up per minute as records are written.
 * The database file does not shrink (SQLite reuses the pages freed): it stops growing.
 */
import type { Logger } from 'pino';
import type { InputStore, InvocationStore } from '../backends/ports.js';
import { formatSize } from '../config/config.js';
import { formatDuration } from '../manifest/duration.js';

export interface RetentionSettings {
  readonly retentionMs: number;
  readonly failedRetentionMs: number;
  readonly maxBytes: number;
  /** The inputs kept for replay, kept for a time and a size of their own. */
  readonly inputs?: {
    readonly store: Pick<InputStore, 'prune' | 'size'>;
    readonly retentionMs: number;
    readonly maxBytes: number;
  };
}

/** What a pass deleted, by rule. */
export interface Pruned {
  /** `ok` records past `retentionMs`. */
  readonly expired: number;
  /** Any record past `failedRetentionMs`. */
  readonly failedExpired: number;
  /** The oldest records, past `maxBytes`. */
  readonly overSize: number;
  /** Inputs kept for replay, past their time or size. */
  readonly inputs: number;
}

/** What the pruner tells: the platform logs a pass at debug, the size bound's first use at info. */
export interface PrunerLog {
  readonly onError: (e: unknown) => void;
  /** A pass that deleted records or inputs. */
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
 * over minutes rather than halving what the platform serves meanwhile.
 */
const REST_PER_WORK = 3;
const rest = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(1, ms)).unref());

export class RecordPruner {
  private readonly timer: NodeJS.Timeout;
  private readonly first: NodeJS.Timeout;
  private running: Promise<number> | undefined;
  private closed = false;
  private sizeSaid = false;

  constructor(
    private readonly store: Pick<InvocationStore, 'prune' | 'size'>,
    private readonly settings: RetentionSettings,
    private readonly log: PrunerLog,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.prune().catch(log.onError), PRUNE_EVERY_MS);
    this.timer.unref();
    // a first pass soon after start: a platform that was down a while has the most to drop
    this.first = setTimeout(() => void this.prune().catch(log.onError), FIRST_PASS_MS);
    this.first.unref();
  }

  /** One pass of the rules; how many records and inputs it deleted. A pass already running is joined. */
  prune(): Promise<number> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
    clearTimeout(this.first);
  }

  private async pass(): Promise<number> {
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
    const inputs = await this.pruneInputs(now);
    const deleted = expired + failedExpired + overSize + inputs;
    if (deleted > 0) this.log.pruned?.({ expired, failedExpired, overSize, inputs });
    return deleted;
  }

  private drainRecords(before: string, okOnly: boolean, most: number): Promise<number> {
    return this.drain((limit) => this.store.prune({ before, okOnly, limit }), STEP, most);
  }

  /** By age, then the oldest while they take more than their bound (down to 90% of it). */
  private async pruneInputs(now: number): Promise<number> {
    const inputs = this.settings.inputs;
    if (inputs === undefined) return 0;
    const { store } = inputs;
    const before = now - inputs.retentionMs;
    const deleted = await this.drain(
      (limit) => store.prune({ before, limit }),
      INPUT_STEP,
      Number.POSITIVE_INFINITY,
    );
    // past the bound: as many of the oldest as bring them to 90% of it, at their mean size
    const { inputs: count, bytes } = await store.size();
    if (bytes <= inputs.maxBytes) return deleted;
    const excess = count - Math.floor((inputs.maxBytes * LOW_WATER) / (bytes / count));
    return deleted + (await this.drain((limit) => store.prune({ limit }), INPUT_STEP, excess));
  }

  /** Steps of `prune` until none is left to delete or `most` are gone. */
  private async drain(
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

/** The pruner's passes to the platform's log at debug; the size bound at info, the first time it deletes. */
export function prunerLog(
  log: Pick<Logger, 'debug' | 'info' | 'error'>,
  settings: RetentionSettings,
): PrunerLog {
  const size = formatSize(settings.maxBytes);
  return {
    onError: (e) => log.error({ err: e }, 'pruning invocation records'),
    pruned: (counts) =>
      log.debug(
        counts,
        `pruned ${counts.expired + counts.failedExpired + counts.overSize} invocation records: ` +
          `${counts.expired} ok past ${formatDuration(settings.retentionMs)}, ` +
          `${counts.failedExpired} past ${formatDuration(settings.failedRetentionMs)}, ${counts.overSize} over ${size}` +
          (counts.inputs > 0 ? `; ${counts.inputs} inputs kept for replay` : ''),
      ),
    sizeReached: ({ records, bytes }) =>
      log.info(
        { records, bytes, maxBytes: settings.maxBytes },
        `invocation records reached their size bound, ${size} (about ${formatSize(bytes)} in ${records} records): ` +
          'the oldest are deleted from now on, ok ones first, down to 90% of it (gust up --max-records-size raises it)',
      ),
  };
}
