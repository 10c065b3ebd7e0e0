/**
 * embedded/inputs: the inputs kept for replay, in a SQLite file of their own (`<data>/inputs.db`,
 * WAL), opened by the one thread that writes it (observe/input-worker.ts): their inserts and
 * fsyncs never hold gust.db's writer. Rows go in in the order they are written: the oldest are the
 * first by seq, so pruning takes them from the front. The text is the row's last column: the size
 * bound reads `stored`, never the text's overflow pages.
 */
import type { InputStore, KeptInput } from '../ports.js';
import { type Db, openDatabase } from './database.js';

/**
 * The file's own schema, numbered as gust.db's is. 1: the rows (input NULL: over the per-event
 * limit, only its size kept; stored: the bytes of input, read by the size bound without the text).
 * seq is the rowid, not AUTOINCREMENT: the next is the highest + 1, so rows stay in the order they
 * were written, without the write to sqlite_sequence each insert paid (0.35 µs of some 3).
 */
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE invocation_inputs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  function TEXT NOT NULL,
  kind TEXT NOT NULL,
  kept_at INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  stored INTEGER NOT NULL,
  input TEXT
);
`,
];

/** What a row costs beside its text: the id twice (the table and its unique index), the other fields. */
const ROW_OVERHEAD_BYTES = 160;
/** Rows of seq summed per step when the size is first asked for. */
const SUM_RANGE = 100_000;
/** The most an SQLite integer column holds: `before` left out is "any time". */
const ANY_TIME = Number.MAX_SAFE_INTEGER;

interface Row {
  id: string;
  function: string;
  kind: string;
  kept_at: number;
  bytes: number;
  input: string | null;
}

export class SqliteInputs implements InputStore {
  private readonly sql;
  private readonly insertAll;
  /** Rows and the bytes they take: summed once when first asked, then kept up to date here. */
  private kept: { inputs: number; bytes: number } | undefined;
  /** What was added while they were being summed (those rows come after the range summed). */
  private addedWhileSumming: { inputs: number; bytes: number } | undefined;

  /** Opens (or makes) the file, its schema brought up to date. */
  static open(file: string): SqliteInputs {
    return new SqliteInputs(openDatabase(file, MIGRATIONS));
  }

  private constructor(private readonly db: Db) {
    this.sql = {
      insert:
        db.prepare(`INSERT OR IGNORE INTO invocation_inputs (id, function, kind, kept_at, bytes, stored, input)
        VALUES (?, ?, ?, ?, ?, ?, ?)`),
      get: db.prepare('SELECT id, function, kind, kept_at, bytes, input FROM invocation_inputs WHERE id = ?'),
      // the oldest `limit` rows by seq, those kept before the time: written in time order, a prefix
      prune: db.prepare(`DELETE FROM invocation_inputs
        WHERE seq IN (SELECT seq FROM invocation_inputs ORDER BY seq LIMIT ?) AND kept_at < ? RETURNING stored`),
      sum: db.prepare(
        'SELECT COUNT(*) AS n, SUM(stored) AS stored FROM invocation_inputs WHERE seq > ? AND seq <= ?',
      ),
      last: db.prepare('SELECT MAX(seq) AS seq FROM invocation_inputs'),
    };
    this.insertAll = db.transaction((inputs: readonly KeptInput[]) => {
      for (const i of inputs) {
        const stored = i.input === null ? 0 : i.bytes;
        const added = this.sql.insert.run(i.id, i.function, i.kind, i.keptAt, i.bytes, stored, i.input);
        if (added.changes === 1) this.grew(stored + ROW_OVERHEAD_BYTES);
      }
    });
  }

  /** One transaction; an id already kept stays as it was (the retries of an event share its id). */
  insert(inputs: readonly KeptInput[]): void {
    this.insertAll(inputs);
  }

  async get(id: string): Promise<KeptInput | undefined> {
    const row = this.sql.get.get(id) as Row | undefined;
    return (
      row && {
        id: row.id,
        function: row.function,
        kind: row.kind === 'http' ? 'http' : 'event',
        keptAt: row.kept_at,
        bytes: row.bytes,
        input: row.input,
      }
    );
  }

  async prune({
    before,
    limit,
  }: {
    before?: number;
    limit: number;
  }): Promise<{ deleted: number; done: boolean }> {
    const gone = this.sql.prune.all(limit, before ?? ANY_TIME) as { stored: number }[];
    if (this.kept !== undefined) {
      const freed = gone.reduce((n, r) => n + r.stored + ROW_OVERHEAD_BYTES, 0);
      this.kept = {
        inputs: Math.max(0, this.kept.inputs - gone.length),
        bytes: Math.max(0, this.kept.bytes - freed),
      };
    }
    return { deleted: gone.length, done: gone.length < limit };
  }

  async size(): Promise<{ inputs: number; bytes: number }> {
    this.kept ??= await this.sum();
    return { ...this.kept };
  }

  close(): void {
    this.db.close();
  }

  private grew(bytes: number): void {
    const counted = this.kept ?? this.addedWhileSumming;
    if (counted === undefined) return;
    counted.inputs++;
    counted.bytes += bytes;
  }

  /** SUM a range of seq at a time, the event loop free between ranges (batches go in meanwhile). */
  private async sum(): Promise<{ inputs: number; bytes: number }> {
    const last = (this.sql.last.get() as { seq: number | null }).seq ?? 0;
    const total = { inputs: 0, bytes: 0 };
    this.addedWhileSumming = { inputs: 0, bytes: 0 };
    for (let from = 0; from < last; from += SUM_RANGE) {
      const r = this.sql.sum.get(from, Math.min(last, from + SUM_RANGE)) as {
        n: number;
        stored: number | null;
      };
      total.inputs += r.n;
      total.bytes += (r.stored ?? 0) + r.n * ROW_OVERHEAD_BYTES;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    total.inputs += this.addedWhileSumming.inputs;
    total.bytes += this.addedWhileSumming.bytes;
    this.addedWhileSumming = undefined;
    return total;
  }
}
