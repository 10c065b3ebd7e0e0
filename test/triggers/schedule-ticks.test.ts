import { describe, expect, it } from 'vitest';
import type { ScheduleTrigger } from '../../src/manifest/types.js';
import { missedTicks, nextTick } from '../../src/triggers/schedule/ticks.js';

function schedule(cron: string, timezone = 'UTC', catchUp = 1): ScheduleTrigger {
  return { type: 'schedule', cron, timezone, catchUp };
}

const at = (iso: string) => new Date(iso);
const isos = (dates: readonly Date[]) => dates.map((d) => d.toISOString());

/** The first `count` ticks after `from`, each found from the one before. */
function ticksAfter(trigger: ScheduleTrigger, from: Date, count: number): string[] {
  const ticks: Date[] = [];
  let after = from;
  while (ticks.length < count) {
    const tick = nextTick(trigger, after);
    if (tick === null) break;
    ticks.push(tick);
    after = tick;
  }
  return isos(ticks);
}

/** A tick as a wall clock in `timezone` shows it. */
function wallClock(tick: Date, timezone: string): string {
  return tick.toLocaleString('sv-SE', { timeZone: timezone });
}

describe('nextTick', () => {
  it('gives the next tick of a 5-field pattern', () => {
    expect(nextTick(schedule('0 3 * * *'), at('2025-01-01T12:00:00Z'))).toEqual(at('2025-01-02T03:00:00Z'));
  });

  it('is strictly after the time given, so a tick leads to the one after it', () => {
    expect(nextTick(schedule('0 3 * * *'), at('2025-01-02T03:00:00Z'))).toEqual(at('2025-01-03T03:00:00Z'));
    expect(nextTick(schedule('0 3 * * *'), at('2025-01-02T02:59:59.999Z'))).toEqual(
      at('2025-01-02T03:00:00Z'),
    );
  });

  it('reads 6 fields with seconds first: */10 * * * * * ticks 10 s apart', () => {
    expect(ticksAfter(schedule('*/10 * * * * *'), at('2025-01-01T12:00:03.250Z'), 4)).toEqual([
      '2025-01-01T12:00:10.000Z',
      '2025-01-01T12:00:20.000Z',
      '2025-01-01T12:00:30.000Z',
      '2025-01-01T12:00:40.000Z',
    ]);
  });

  it("fires at the wall-clock time of the trigger's time zone, summer and winter", () => {
    const nineInNewYork = schedule('0 9 * * *', 'America/New_York');
    expect(nextTick(nineInNewYork, at('2025-01-15T00:00:00Z'))).toEqual(at('2025-01-15T14:00:00Z'));
    expect(nextTick(nineInNewYork, at('2025-07-15T00:00:00Z'))).toEqual(at('2025-07-15T13:00:00Z'));
    expect(nextTick(schedule('0 9 * * *', 'Asia/Kolkata'), at('2025-01-15T00:00:00Z'))).toEqual(
      at('2025-01-15T03:30:00Z'),
    );
  });

  it('ORs a restricted day of month with a restricted day of week, as Vixie cron does', () => {
    // 2025-01-01 is a Wednesday: the Mondays of January, then the 1st of February.
    expect(ticksAfter(schedule('0 0 1 * MON'), at('2025-01-01T12:00:00Z'), 5)).toEqual([
      '2025-01-06T00:00:00.000Z',
      '2025-01-13T00:00:00.000Z',
      '2025-01-20T00:00:00.000Z',
      '2025-01-27T00:00:00.000Z',
      '2025-02-01T00:00:00.000Z',
    ]);
  });

  it('ANDs them when one starts with *, as Vixie cron does: */2 and MON are Mondays with an odd date', () => {
    expect(ticksAfter(schedule('0 0 */2 * MON'), at('2025-01-01T12:00:00Z'), 3)).toEqual([
      '2025-01-13T00:00:00.000Z',
      '2025-01-27T00:00:00.000Z',
      '2025-02-03T00:00:00.000Z',
    ]);
  });
});

describe('daylight saving, a daily 30 2 * * * in Europe/Paris', () => {
  const paris = schedule('30 2 * * *', 'Europe/Paris');

  it('fires at 03:00 on the spring-forward day, when 02:30 does not exist, then at 02:30 again', () => {
    const ticks = ticksAfter(paris, at('2025-03-29T12:00:00Z'), 2).map((t) =>
      wallClock(at(t), 'Europe/Paris'),
    );
    expect(ticks).toEqual(['2025-03-30 03:00:00', '2025-03-31 02:30:00']);
  });

  it('fires once on the fall-back day, at the first of the two 02:30s (summer time)', () => {
    expect(ticksAfter(paris, at('2025-10-25T12:00:00Z'), 3)).toEqual([
      '2025-10-26T00:30:00.000Z', // 02:30 CEST; 02:30 CET (01:30Z) is not a tick
      '2025-10-27T01:30:00.000Z',
      '2025-10-28T01:30:00.000Z',
    ]);
  });

  it('catches up the fall-back day once too', () => {
    const ticks = missedTicks(
      { ...paris, catchUp: 5 },
      at('2025-10-25T00:30:00Z'),
      at('2025-10-27T12:00:00Z'),
    );
    expect(isos(ticks)).toEqual(['2025-10-26T00:30:00.000Z', '2025-10-27T01:30:00.000Z']);
  });

  it('fires a list of fixed times once on fall-back as well (30 2,14 * * *)', () => {
    const ticks = ticksAfter(schedule('30 2,14 * * *', 'Europe/Paris'), at('2025-10-25T20:00:00Z'), 3);
    expect(ticks.map((t) => wallClock(at(t), 'Europe/Paris'))).toEqual([
      '2025-10-26 02:30:00',
      '2025-10-26 14:30:00',
      '2025-10-27 02:30:00',
    ]);
  });

  it('lets an hourly schedule fire on both passes through the repeated hour: an hour apart, each instant once', () => {
    expect(ticksAfter(schedule('0 * * * *', 'Europe/Paris'), at('2025-10-25T23:30:00Z'), 4)).toEqual([
      '2025-10-26T00:00:00.000Z', // 02:00 CEST
      '2025-10-26T01:00:00.000Z', // 02:00 CET
      '2025-10-26T02:00:00.000Z', // 03:00 CET
      '2025-10-26T03:00:00.000Z',
    ]);
  });

  it('catches up exactly the ticks a walk forward finds, across both changes of the year', () => {
    for (const [from, to] of [
      ['2025-03-29T22:00:00Z', '2025-03-30T04:00:00Z'],
      ['2025-10-25T22:00:00Z', '2025-10-26T04:00:00Z'],
    ] as const) {
      const everyQuarter = schedule('*/15 * * * *', 'Europe/Paris', 100);
      const forward = ticksAfter(everyQuarter, at(from), 100).filter((t) => at(t) <= at(to));
      expect(isos(missedTicks(everyQuarter, at(from), at(to)))).toEqual(forward);
    }
  });
});

describe('missedTicks', () => {
  const hourly = (catchUp: number) => schedule('0 * * * *', 'UTC', catchUp);
  const lastFired = at('2025-01-01T00:00:00Z');
  const now = at('2025-01-01T05:30:00Z');

  it('catches up nothing with catchUp 0', () => {
    expect(missedTicks(hourly(0), lastFired, now)).toEqual([]);
  });

  it('catches up the newest missed tick with catchUp 1', () => {
    expect(isos(missedTicks(hourly(1), lastFired, now))).toEqual(['2025-01-01T05:00:00.000Z']);
  });

  it('catches up the newest 3 missed ticks with catchUp 3, oldest first', () => {
    expect(isos(missedTicks(hourly(3), lastFired, now))).toEqual([
      '2025-01-01T03:00:00.000Z',
      '2025-01-01T04:00:00.000Z',
      '2025-01-01T05:00:00.000Z',
    ]);
  });

  it('catches up every missed tick when fewer were missed than catchUp allows', () => {
    expect(missedTicks(hourly(10), lastFired, now)).toHaveLength(5);
  });

  it('counts a tick due exactly now, and not the tick that last fired', () => {
    expect(isos(missedTicks(hourly(10), lastFired, at('2025-01-01T02:00:00Z')))).toEqual([
      '2025-01-01T01:00:00.000Z',
      '2025-01-01T02:00:00.000Z',
    ]);
  });

  it('catches up nothing for a schedule seen for the first time', () => {
    expect(missedTicks(hourly(3), null, now)).toEqual([]);
  });

  it('catches up nothing when no tick was due since the last one fired', () => {
    expect(missedTicks(hourly(3), at('2025-01-01T05:00:00Z'), now)).toEqual([]);
  });

  it('answers at once for a per-second schedule last fired 30 days ago', () => {
    const everySecond = schedule('* * * * * *', 'UTC', 100);
    const started = performance.now();
    const ticks = missedTicks(everySecond, at('2025-01-01T00:00:00Z'), at('2025-01-31T00:00:00.500Z'));
    // A walk forward through its 2.6 million ticks takes minutes (~150 µs a tick); the walk back, milliseconds.
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(ticks).toHaveLength(100);
    expect(ticks[0]).toEqual(at('2025-01-30T23:58:21Z'));
    expect(ticks[99]).toEqual(at('2025-01-31T00:00:00Z'));
  });
});
