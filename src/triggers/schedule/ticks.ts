/**
 * triggers/schedule/ticks: when a schedule trigger fires next, and which ticks a restart catches up.
 * Pure date arithmetic over croner; nothing here runs on a timer.
 *
 * A tick is the instant a schedule was due (a Date). Patterns mean what they mean to Vixie cron,
 * the cron of most Linux machines, since crontab is where users learned them:
 * - 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first.
 * - Day of month and day of week: when both are restricted, a day matching either one fires
 *   (`0 0 1 * MON`: the 1st, and every Monday); when either field starts with `*`, both must match
 *   (`0 0 *\/2 * MON`: Mondays with an odd date). Croner ORs unless a field is exactly `*`, so
 *   Vixie's rule (a leading `*`) is applied here per pattern.
 * - Daylight saving, as Vixie cron and croner do it, with croner's `no-wildcard` rule for what is a
 *   fixed-time job (no `*` and no step in seconds, minutes and hours: `30 2 * * *`, `0 9,17 * * *`):
 *   - a fixed-time job's time that does not exist (spring forward) fires at the first valid time
 *     after the gap, the same day: 02:30 in Europe/Paris fires at 03:00 CEST;
 *   - a fixed-time job's time that happens twice (fall back) fires once, at its first occurrence:
 *     never two ticks for one wall-clock time;
 *   - an interval job (`*\/15 * * * *`, `0 * * * *`) is about elapsed time: it fires on both passes
 *     through the repeated hour (distinct instants, each tick once), and skips times in the gap.
 */
import { Cron } from 'croner';
import type { ScheduleTrigger } from '../../manifest/types.js';

/**
 * The croner job for a pattern, with the semantics above. Paused: it is only asked about dates,
 * never scheduled. Throws on a pattern or time zone the manifest would have refused.
 */
export function scheduleCron(cron: string, timezone: string): Cron {
  const fields = cron.trim().split(/\s+/);
  // Croner reads `?` as `*`, and so does this.
  const starred = (field: string | undefined) => field !== undefined && /^[*?]/.test(field);
  return new Cron(cron, {
    paused: true,
    timezone,
    mode: '5-or-6-parts',
    // Counted from the end: day-of-month and day-of-week are the 3rd and 1st from the last field.
    domAndDow: starred(fields.at(-3)) || starred(fields.at(-1)),
    fixedTimeRule: 'no-wildcard',
  });
}

/** The first tick strictly after `after`; null for a pattern that never fires again. */
export function nextTick(trigger: ScheduleTrigger, after: Date): Date | null {
  return scheduleCron(trigger.cron, trigger.timezone).nextRun(after);
}

/**
 * The ticks due after `lastFired` and at or before `now`: the newest `catchUp` of them, oldest
 * first (the order they would have fired in). A schedule seen for the first time (`lastFired`
 * null) owes nothing; neither does one with `catchUp` 0.
 *
 * It walks back from now, one tick at a time, and stops at `catchUp` ticks or at `lastFired`:
 * at most `catchUp + 1` steps, however long Gust was down (a per-second schedule down for a month
 * has 2.6 million ticks, minutes of work for a walk forward from `lastFired`).
 */
export function missedTicks(trigger: ScheduleTrigger, lastFired: Date | null, now: Date): Date[] {
  if (lastFired === null || trigger.catchUp <= 0) return [];
  const job = scheduleCron(trigger.cron, trigger.timezone);
  const missed: Date[] = [];
  // previousRuns answers ticks strictly before its reference: 1 ms past now includes a tick due
  // exactly now (ticks fall on whole seconds).
  let before = new Date(now.getTime() + 1);
  while (missed.length < trigger.catchUp) {
    const [tick] = job.previousRuns(1, before);
    if (tick === undefined || tick.getTime() <= lastFired.getTime()) break;
    missed.push(tick);
    before = tick;
  }
  return missed.reverse();
}
