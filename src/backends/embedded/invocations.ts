/** embedded/invocations: invocation records and their logs in SQLite. */
import type {
  InvocationPage,
  InvocationQuery,
  InvocationRecord,
  InvocationStatus,
  InvocationStore,
  LatencyQuery,
  LatencyStep,
  LogEntry,
  LogQuery,
  TraceQuery,
  TraceRecords,
  UsageQuery,
  UsageRow,
} from '../ports.js';
import type { Db } from './database.js';
import { type Row, toRecord } from './record-row.js';
import { traceRecords } from './traces.js';

/** Cursors are `s<seq>`: opaque to clients, checked here. */
function readCursor(cursor: string): number {
  const m = /^s([1-9]\d{0,15})$/.exec(cursor);
  if (!m) throw new RangeError('not a cursor of this store');
  return Number(m[1]);
}

/** A usage row of one function and minute, summed in memory before it is written. */
interface Minute {
  fn: string;
  minute: number;
  requests: number;
  failed: number;
  cold: number;
  billedMs: number;
  gbSeconds: number;
}

const MINUTE_MS = 60_000;

/** Rows looked at per prune step: a step holds the event loop for a few milliseconds at most. */
const PRUNE_SCAN = 2000;
/** How far out of their start's order records may be written: a run ends within this of its start. */
const OUT_OF_ORDER_MS = 3_600_000;
/** Rows of seq counted per step when the records are first counted. */
const COUNT_RANGE = 100_000;
/** What a row costs beyond its fields' bytes: the B-tree cells of the table and its two indexes. */
const ROW_OVERHEAD_BYTES = 120;

export class SqliteInvocations implements InvocationStore {
  private readonly insert;
  private readonly addUsage;
  private readonly addWarmUsage;
  private readonly sql;
  /** Records in the table: counted once when first asked, then kept up to date here. */
  private records: number | undefined;
  /** Records added while they are being counted (those come after the range counted). */
  private addedWhileCounting: number | undefined;
  /**
   * How far the prune steps have looked (seq): every `ok` record up to `okSeen`, and every record
   * up to `allSeen`, that they looked at is gone. They start at 0 after a restart (one pass over
   * what is kept), then move only forward, so a step never looks at the same kept record twice.
   */
  private okSeen = 0;
  private allSeen = 0;

  constructor(private readonly db: Db) {
    this.insert = db.prepare(`INSERT OR IGNORE INTO invocations
      (id, attempt, function, version, trigger, instance, start, queued_ms, duration_ms, billed_ms, memory_mb, gb_seconds, cold, init_ms, status, error, stack, denied_calls, logs, trace_id, span_id, parent_span_id, replay_of)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.addUsage =
      db.prepare(`INSERT INTO usage_minutes (function, minute, requests, failed, cold_starts, billed_ms, gb_seconds)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (function, minute) DO UPDATE SET
      requests = requests + excluded.requests, failed = failed + excluded.failed,
      cold_starts = cold_starts + excluded.cold_starts, billed_ms = billed_ms + excluded.billed_ms,
      gb_seconds = gb_seconds + excluded.gb_seconds`);
    this.addWarmUsage =
      db.prepare(`INSERT INTO usage_minutes (function, minute, warm_gb_seconds) VALUES (?, ?, ?)
      ON CONFLICT (function, minute) DO UPDATE SET warm_gb_seconds = warm_gb_seconds + excluded.warm_gb_seconds`);
    this.sql = {
      scan: db.prepare('SELECT seq, start, status FROM invocations WHERE seq > ? ORDER BY seq LIMIT ?'),
      drop: db.prepare('DELETE FROM invocations WHERE seq = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM invocations WHERE seq > ? AND seq <= ?'),
      last: db.prepare('SELECT MAX(seq) AS seq FROM invocations'),
      sample: db.prepare(`SELECT AVG(length(id) + length(function) + length(trigger) + length(start)
        + ifnull(length(instance), 0) + ifnull(length(error), 0) + ifnull(length(stack), 0)
        + length(logs) + length(trace_id) + ifnull(length(span_id), 0) + ifnull(length(parent_span_id), 0)
        + 2 * length(function)) AS bytes
        FROM (SELECT * FROM invocations ORDER BY seq DESC LIMIT 500)`),
    };
  }

  async add(records: readonly InvocationRecord[]): Promise<void> {
    const run = this.db.transaction((list: readonly InvocationRecord[]) => {
      const minutes = new Map<string, Minute>();
      // Positional parameters: binding by name costs half as much again per row.
      for (const r of list) {
        const added = this.insert.run(
          r.id,
          r.attempt,
          r.function,
          r.version,
          r.trigger,
          r.instance,
          r.start,
          r.queuedMs,
          r.durationMs,
          r.billedMs,
          r.memoryMb,
          r.gbSeconds,
          r.cold ? 1 : 0,
          r.initMs,
          r.status,
          r.error,
          r.stack,
          r.deniedCalls,
          r.logs,
          r.traceId,
          r.spanId,
          r.parentSpanId,
          r.replayOf,
        );
        // A record written again (the same id and attempt) is counted once; a call that did not run is not billed.
        if (added.changes === 1) {
          if (this.records !== undefined) this.records++;
          else if (this.addedWhileCounting !== undefined) this.addedWhileCounting++;
        }
        if (added.changes === 1 && r.billedMs > 0) count(minutes, r);
      }
      for (const m of minutes.values()) {
        this.addUsage.run(m.fn, m.minute, m.requests, m.failed, m.cold, m.billedMs, m.gbSeconds);
      }
    });
    run(records);
  }

  async addWarm(at: number, gbSecondsByFunction: ReadonlyMap<string, number>): Promise<void> {
    const minute = Math.floor(at / MINUTE_MS);
    this.db.transaction(() => {
      for (const [fn, gbSeconds] of gbSecondsByFunction) this.addWarmUsage.run(fn, minute, gbSeconds);
    })();
  }

  async usage(query: UsageQuery): Promise<UsageRow[]> {
    const key = query.by === 'function' ? 'function' : "strftime('%Y-%m-%d', minute * 60, 'unixepoch')";
    const rows = this.db
      .prepare(
        `SELECT ${key} AS key, SUM(requests) AS requests, SUM(failed) AS failed, SUM(cold_starts) AS coldStarts,
           SUM(billed_ms) AS billedMs, SUM(gb_seconds) AS gbSeconds, SUM(warm_gb_seconds) AS warmGbSeconds
         FROM usage_minutes WHERE minute >= ? AND minute < ? ${query.function === undefined ? '' : 'AND function = ?'}
         GROUP BY 1 ORDER BY 1`,
      )
      .all(
        Math.floor(query.since / MINUTE_MS),
        Math.ceil(query.until / MINUTE_MS),
        ...(query.function === undefined ? [] : [query.function]),
      ) as UsageRow[];
    return rows;
  }

  async latency(query: LatencyQuery): Promise<{ steps: LatencyStep[]; looked: number; complete: boolean }> {
    // The newest maxRecords of the function (its index: function, seq), then those in the window,
    // ranked by latency within their step among the calls that ran (billed, as the usage rollup
    // counts them): a percentile is the first rank at or past p x count. Calls that never ran
    // (throttled, refused) are only counted apart: their few ms of latency would hide the real ones.
    const recent = `SELECT start, queued_ms + duration_ms AS ms, cold, status, billed_ms > 0 AS ran FROM invocations
      WHERE function = ? ORDER BY seq DESC LIMIT ?`;
    const looked = this.db
      .prepare(`SELECT COUNT(*) AS n FROM (${recent}) WHERE start >= ? AND start < ?`)
      .get(query.function, query.maxRecords, query.since, query.until) as { n: number };
    // The first record past the bound: the window is whole if there is none or it started before
    // the window (records are written in nearly the order they start).
    const next = this.db
      .prepare('SELECT start FROM invocations WHERE function = ? ORDER BY seq DESC LIMIT 1 OFFSET ?')
      .get(query.function, query.maxRecords) as { start: string } | undefined;
    const steps = this.db
      .prepare(
        `WITH windowed AS (
           SELECT CAST((julianday(start) - julianday(?)) * 86400000 / ? AS INTEGER) AS step, ms, cold, status, ran
           FROM (${recent}) WHERE start >= ? AND start < ?
         ), ranked AS (
           SELECT step, ms, cold, status, ran,
             ROW_NUMBER() OVER (PARTITION BY step, ran ORDER BY ms) AS rank,
             COUNT(*) OVER (PARTITION BY step, ran) AS n
           FROM windowed
         )
         SELECT step, SUM(ran) AS count, SUM(ran AND status != 'ok') AS errors, SUM(ran AND cold) AS cold,
           SUM(NOT ran) AS notRun,
           MIN(CASE WHEN ran AND rank >= 0.5 * n THEN ms END) AS p50,
           MIN(CASE WHEN ran AND rank >= 0.9 * n THEN ms END) AS p90,
           MIN(CASE WHEN ran AND rank >= 0.99 * n THEN ms END) AS p99
         FROM ranked GROUP BY step ORDER BY step`,
      )
      .all(
        query.since,
        query.stepMs,
        query.function,
        query.maxRecords,
        query.since,
        query.until,
      ) as LatencyStep[];
    return { steps, looked: looked.n, complete: next === undefined || next.start < query.since };
  }

  async get(id: string): Promise<InvocationRecord | undefined> {
    const row = this.db
      .prepare('SELECT * FROM invocations WHERE id = ? ORDER BY attempt DESC LIMIT 1')
      .get(id) as Row | undefined;
    return row && toRecord(row);
  }

  async trace(query: TraceQuery): Promise<TraceRecords> {
    return traceRecords(this.db, query);
  }

  async list(query: InvocationQuery): Promise<InvocationPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    const when = (clause: string, value: unknown) => {
      where.push(clause);
      args.push(value);
    };
    if (query.function !== undefined) when('function = ?', query.function);
    if (query.status === 'failed') where.push("status != 'ok'");
    else if (query.status !== undefined) when('status = ?', query.status);
    if (query.trigger !== undefined) when('trigger = ?', query.trigger);
    if (query.since !== undefined) when('start >= ?', query.since);
    if (query.until !== undefined) when('start < ?', query.until);
    if (query.cursor !== undefined) when('seq < ?', readCursor(query.cursor));
    // One more than asked: whether it comes tells if there is a next page.
    const sql = `SELECT * FROM invocations ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, query.limit + 1) as Row[];
    const more = rows.length > query.limit;
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { records: page.map(toRecord), cursor: more && last ? `s${last.seq}` : null };
  }

  async logs(query: LogQuery): Promise<{ entries: LogEntry[]; cursor: number }> {
    const byId = query.invocation !== undefined;
    const rows = (
      byId
        ? this.db
            .prepare(
              // after: its later attempts only (`gust logs --invocation ID --follow`)
              'SELECT seq, id, version, duration_ms, start, status, logs, error, stack FROM invocations WHERE function = ? AND id = ? AND seq > ? ORDER BY seq',
            )
            .all(query.function, query.invocation, query.after ?? 0)
        : query.after === undefined
          ? // The newest `limit`, shown oldest first.
            this.db
              .prepare(
                'SELECT * FROM (SELECT seq, id, version, duration_ms, start, status, logs, error, stack FROM invocations WHERE function = ? ORDER BY seq DESC LIMIT ?) ORDER BY seq',
              )
              .all(query.function, query.limit)
          : this.db
              .prepare(
                'SELECT seq, id, version, duration_ms, start, status, logs, error, stack FROM invocations WHERE function = ? AND seq > ? ORDER BY seq LIMIT ?',
              )
              .all(query.function, query.after, query.limit)
    ) as Pick<
      Row,
      'seq' | 'id' | 'version' | 'duration_ms' | 'start' | 'status' | 'logs' | 'error' | 'stack'
    >[];
    const last = rows.at(-1)?.seq ?? query.after ?? 0;
    return {
      entries: rows.map((r) => ({
        invocation: r.id,
        version: r.version,
        durationMs: r.duration_ms,
        start: r.start,
        status: r.status as InvocationStatus,
        logs: r.logs,
        error: r.error,
        stack: r.stack,
      })),
      cursor: last,
    };
  }

  async prune({
    before,
    okOnly,
    limit,
  }: {
    before: string;
    okOnly: boolean;
    limit: number;
  }): Promise<{ deleted: number; done: boolean }> {
    const from = okOnly ? Math.max(this.okSeen, this.allSeen) : this.allSeen;
    const rows = this.sql.scan.all(from, PRUNE_SCAN) as { seq: number; start: string; status: string }[];
    const doomed: number[] = [];
    let seen = from;
    let frozen = false;
    let tooNew = false;
    const past = new Date(Date.parse(before) + OUT_OF_ORDER_MS).toISOString();
    for (const r of rows) {
      if (doomed.length >= limit) break;
      // records are in the order they ended, nearly that of their start (a long run ends after
      // shorter ones that started later): one a little too new is passed over (the next pass
      // starts again before it), one far too new ends the step
      if (r.start >= past) {
        tooNew = true;
        break;
      }
      const kept = r.start >= before;
      frozen ||= kept;
      if (!frozen) seen = r.seq;
      if (!kept && (!okOnly || r.status === 'ok')) doomed.push(r.seq);
    }
    // more to do: the limit stopped it, or it looked at a whole scan of old records; else the end
    // of the table, or records too new (a step after one passed over would look at the same ones)
    const done = !(doomed.length >= limit || (!frozen && !tooNew && rows.length === PRUNE_SCAN));
    if (doomed.length > 0) {
      this.db.transaction(() => {
        for (const seq of doomed) this.sql.drop.run(seq);
      })();
      if (this.records !== undefined) this.records = Math.max(0, this.records - doomed.length);
    }
    if (okOnly) this.okSeen = Math.max(this.okSeen, seen);
    else this.allSeen = seen;
    return { deleted: doomed.length, done };
  }

  async size(): Promise<{ records: number; bytesPerRecord: number }> {
    this.records ??= await this.count();
    const sampled = (this.sql.sample.get() as { bytes: number | null }).bytes ?? 0;
    return { records: this.records, bytesPerRecord: Math.round(sampled) + ROW_OVERHEAD_BYTES };
  }

  /** COUNT(*) a range of seq at a time, the event loop free between ranges (millions take a while). */
  private async count(): Promise<number> {
    const last = (this.sql.last.get() as { seq: number | null }).seq ?? 0;
    this.addedWhileCounting = 0;
    let n = 0;
    for (let from = 0; from < last; from += COUNT_RANGE) {
      n += (this.sql.count.get(from, Math.min(last, from + COUNT_RANGE)) as { n: number }).n;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    n += this.addedWhileCounting;
    this.addedWhileCounting = undefined;
    return n;
  }
}

function count(minutes: Map<string, Minute>, r: InvocationRecord): void {
  const minute = Math.floor(Date.parse(r.start) / MINUTE_MS);
  const k = `${r.function}\u0000${minute}`;
  let m = minutes.get(k);
  if (!m) {
    m = { fn: r.function, minute, requests: 0, failed: 0, cold: 0, billedMs: 0, gbSeconds: 0 };
    minutes.set(k, m);
  }
  m.requests++;
  if (r.status !== 'ok') m.failed++;
  if (r.cold) m.cold++;
  m.billedMs += r.billedMs;
  m.gbSeconds += r.gbSeconds;
}
