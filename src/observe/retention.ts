/**
 * observe/retention: invocation records (and the logs in them) are kept for a time and a size.
 * Every PRUNE_EVERY_MS the pruner deletes, a short step at a time, resting between steps (it takes
 * at most a quarter of the event loop; the hot path never waits on a long delete):
 * 1. records that ended `ok` and started more than `retentionMs` ago;
 * 2. any record (failed ones are kept longer: they are what one debugs) older than `failedRetentionMs`;
 * 3. while the records take more than `maxBytes` (estimated from their count and the size of the
 *    newest ones), the oldest `ok` records, then the oldest of any kind.
 * Usage and cost do not depend on records: they are rolled up per minute as records are written.
 * The database file does not shrink (SQLite reuses the pages freed): it stops growing.
 */
import type { InvocationStore } from '../backends/ports.js';

export interface RetentionSettings {
  readonly retentionMs: number;
  readonly failedRetentionMs: number;
  readonly maxBytes: number;
}

export const PRUNE_EVERY_MS = 10_000;
const FIRST_PASS_MS = 2000;
/** Records deleted per step (a few milliseconds of SQLite work). */
const STEP = 500;
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

  constructor(
    private readonly store: Pick<InvocationStore, 'prune' | 'size'>,
    private readonly settings: RetentionSettings,
    onError: (e: unknown) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.timer = setInterval(() => void this.prune().catch(onError), PRUNE_EVERY_MS);
    this.timer.unref();
    // a first pass soon after start: a platform that was down a while has the most to drop
    this.first = setTimeout(() => void this.prune().catch(onError), FIRST_PASS_MS);
    this.first.unref();
  }

  /** One pass of the three rules; how many records it deleted. A pass already running is joined. */
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
    let deleted = await this.drain(iso(now - this.settings.retentionMs), true, Number.POSITIVE_INFINITY);
    deleted += await this.drain(iso(now - this.settings.failedRetentionMs), false, Number.POSITIVE_INFINITY);
    const { records, bytesPerRecord } = await this.store.size();
    if (records * bytesPerRecord > this.settings.maxBytes) {
      const excess = records - Math.floor((this.settings.maxBytes * LOW_WATER) / bytesPerRecord);
      const oks = await this.drain(iso(now), true, excess);
      deleted += oks + (await this.drain(iso(now), false, excess - oks));
    }
    return deleted;
  }

  /** Steps of `prune` until none is left to delete or `most` are gone. */
  private async drain(before: string, okOnly: boolean, most: number): Promise<number> {
    let total = 0;
    while (!this.closed && total < most) {
      const started = performance.now();
      const { deleted, done } = await this.store.prune({
        before,
        okOnly,
        limit: Math.min(STEP, most - total),
      });
      total += deleted;
      if (done) break;
      await rest((performance.now() - started) * REST_PER_WORK);
    }
    return total;
  }
}
