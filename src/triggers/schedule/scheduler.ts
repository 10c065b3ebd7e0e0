/**
 * scheduler: fires `schedule` triggers. Each trigger of an active version has a timer for its next
 * tick; a tick becomes a queued event (trigger `schedule`) on its function's queue, like any other
 * event, so it is retried and dead-lettered alike. The last tick fired is kept per function and
 * schedule (cron and time zone): a tick is claimed in the database before it is queued, so it never
 * fires twice, even across a restart; ticks missed while Gust was down run once at start, the newest
 * `catchUp` of them. An instance is warmed just before each tick, so scheduled runs are warm.
 * What a crash can lose: a tick claimed but not yet queued (never one fired twice).
 */
import type { ScheduleState } from '../../backends/ports.js';
import type { Deliveries } from '../../dispatch/deliveries.js';
import { newInvocationId } from '../../dispatch/invocation.js';
import type { FunctionSpec, ScheduleTrigger } from '../../manifest/types.js';
import { newTrace } from '../../observe/trace-context.js';
import { missedTicks, nextTick } from './ticks.js';

export interface SchedulerDeps {
  readonly state: ScheduleState;
  readonly deliveries: Pick<Deliveries, 'submit'>;
  /** Starts an instance of the function if none is free, so that the coming tick runs warm. */
  readonly prewarm: (fn: string) => void;
  readonly onError: (e: unknown, what: string) => void;
  readonly now?: () => number;
}

/** How long before a tick its instance is warmed (a cold start is a module load: well under this). */
const WARM_LEAD_MS = 2000;
/** setTimeout holds at most about 24.8 days; a later tick re-arms on the way. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** At most this many ticks run at once when the process was late (a stall), newest kept. */
const LATE_TICKS = 10;

interface Armed {
  readonly trigger: ScheduleTrigger;
  readonly key: string;
  timer: NodeJS.Timeout | undefined;
  warm: NodeJS.Timeout | undefined;
  next: Date | null;
}

export const scheduleKey = (t: ScheduleTrigger): string => `${t.cron}|${t.timezone}`;

export class Scheduler {
  private readonly armed = new Map<string, Armed[]>();
  private readonly now: () => number;
  private closed = false;

  constructor(private readonly deps: SchedulerDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** Follows a function's active version: its schedule triggers, with what they owe. */
  serve(spec: FunctionSpec): void {
    this.forget(spec.name);
    if (this.closed) return;
    const list: Armed[] = [];
    for (const trigger of spec.triggers) {
      if (trigger.type !== 'schedule') continue;
      const key = scheduleKey(trigger);
      if (list.some((a) => a.key === key)) continue; // the same schedule twice fires once
      const now = new Date(this.now());
      const last = this.deps.state.lastTick(spec.name, key);
      if (last === null) this.deps.state.start(spec.name, key, now);
      else for (const tick of missedTicks(trigger, last, now)) this.fire(spec.name, trigger, key, tick);
      const armed: Armed = { trigger, key, timer: undefined, warm: undefined, next: null };
      list.push(armed);
      this.arm(spec.name, armed);
    }
    if (list.length > 0) this.armed.set(spec.name, list);
  }

  forget(fn: string): void {
    for (const a of this.armed.get(fn) ?? []) {
      clearTimeout(a.timer);
      clearTimeout(a.warm);
    }
    this.armed.delete(fn);
  }

  /** The next time the function's schedules fire, or null when it has none. */
  nextRun(fn: string): string | null {
    const next = (this.armed.get(fn) ?? [])
      .map((a) => a.next?.getTime())
      .filter((t): t is number => t !== undefined);
    return next.length === 0 ? null : new Date(Math.min(...next)).toISOString();
  }

  close(): void {
    this.closed = true;
    for (const fn of [...this.armed.keys()]) this.forget(fn);
  }

  private arm(fn: string, a: Armed): void {
    const now = this.now();
    a.next = nextTick(a.trigger, new Date(now));
    if (a.next === null) return;
    const delay = a.next.getTime() - now;
    a.timer = setTimeout(
      () => (delay > MAX_TIMER_MS ? this.arm(fn, a) : this.tick(fn, a)),
      Math.min(delay, MAX_TIMER_MS),
    );
    a.timer.unref();
    const warmIn = delay - Math.min(WARM_LEAD_MS, delay / 2);
    if (warmIn <= MAX_TIMER_MS) {
      a.warm = setTimeout(() => this.deps.prewarm(fn), Math.max(0, warmIn));
      a.warm.unref();
    }
  }

  /** The timer is due: every tick due since the last one fired (one, unless the process stalled). */
  private tick(fn: string, a: Armed): void {
    const last = this.deps.state.lastTick(fn, a.key);
    const due = missedTicks({ ...a.trigger, catchUp: LATE_TICKS }, last, new Date(this.now()));
    for (const tick of due) this.fire(fn, a.trigger, a.key, tick);
    if (!this.closed && this.armed.get(fn)?.includes(a)) this.arm(fn, a);
  }

  private fire(fn: string, trigger: ScheduleTrigger, key: string, tick: Date): void {
    if (!this.deps.state.claim(fn, key, tick)) return;
    this.deps.deliveries
      .submit([
        {
          v: 1,
          function: fn,
          trigger: 'schedule',
          invocationId: newInvocationId(),
          ...newTrace(),
          source: {
            kind: 'schedule',
            cron: trigger.cron,
            timezone: trigger.timezone,
            tick: tick.toISOString(),
          },
        },
      ])
      .then((accepted) => {
        if (!accepted.ok)
          throw new Error(`the queue of ${fn} is full: the tick of ${tick.toISOString()} is skipped`);
      })
      .catch((e: unknown) => this.deps.onError(e, `schedule of ${fn}`));
  }
}
