/** embedded/schedules: the last tick each schedule fired, in SQLite (epoch ms). */
import type { ScheduleState } from '../ports.js';
import type { Db } from './database.js';

export class SqliteScheduleState implements ScheduleState {
  private readonly sql;

  constructor(db: Db) {
    this.sql = {
      get: db.prepare('SELECT last_tick AS at FROM schedule_state WHERE function = ? AND schedule = ?'),
      claim: db.prepare(
        'UPDATE schedule_state SET last_tick = ? WHERE function = ? AND schedule = ? AND last_tick < ?',
      ),
      forget: db.prepare('DELETE FROM schedule_state WHERE function = ?'),
      start: db.prepare(
        'INSERT INTO schedule_state (function, schedule, last_tick) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
      ),
    };
  }

  lastTick(fn: string, schedule: string): Date | null {
    const row = this.sql.get.get(fn, schedule) as { at: number } | undefined;
    return row ? new Date(row.at) : null;
  }

  claim(fn: string, schedule: string, tick: Date): boolean {
    const at = tick.getTime();
    return this.sql.claim.run(at, fn, schedule, at).changes === 1;
  }

  forget(fn: string): void {
    this.sql.forget.run(fn);
  }

  start(fn: string, schedule: string, at: Date): void {
    this.sql.start.run(fn, schedule, at.getTime());
  }
}
