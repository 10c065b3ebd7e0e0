/**
 * embedded/traces: the records of one trace, for the dashboard's waterfall. Records with a parent
 * span are indexed by trace (migration 18); those without one (a call from outside that brought no
 * traceparent, or an event published without one) are not, so most of the traffic pays nothing for
 * the index. Such a root is looked for among the records written near the trace's others: a trace
 * that started here ends close to where it started, in time and so in the table.
 */
import type { TraceQuery, TraceRecords } from '../ports.js';
import type { Db } from './database.js';
import { type Row, toRecord } from './record-row.js';

/** Rows looked at on each side of where a trace's records were written, for its parentless ones. */
const NEAR_ROWS = 50_000;

export function traceRecords(db: Db, { traceId, around, limit }: TraceQuery): TraceRecords {
  const linked = db
    .prepare(
      'SELECT * FROM invocations WHERE trace_id = ? AND parent_span_id IS NOT NULL ORDER BY seq LIMIT ?',
    )
    .all(traceId, limit + 1) as Row[];
  const known =
    around === undefined
      ? undefined
      : (db
          .prepare('SELECT seq FROM invocations WHERE id = ? AND trace_id = ? LIMIT 1')
          .get(around, traceId) as { seq: number } | undefined);
  // Where the trace began to be written, and the record the caller knows (a root itself, maybe).
  const near = new Set([...linked.slice(0, 1).map((r) => r.seq), ...(known ? [known.seq] : [])]);
  const look = db.prepare(
    'SELECT * FROM invocations WHERE seq BETWEEN ? AND ? AND trace_id = ? AND parent_span_id IS NULL LIMIT ?',
  );
  const roots = new Map<number, Row>();
  for (const seq of near) {
    for (const row of look.all(seq - NEAR_ROWS, seq + NEAR_ROWS, traceId, limit + 1) as Row[])
      roots.set(row.seq, row);
  }
  const rows = [...roots.values(), ...linked].sort((a, b) =>
    a.start < b.start ? -1 : a.start > b.start ? 1 : a.seq - b.seq,
  );
  return { records: rows.slice(0, limit).map(toRecord), complete: rows.length <= limit };
}
