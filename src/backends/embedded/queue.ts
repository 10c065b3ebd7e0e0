/**
 * embedded/queue: DurableQueue on SQLite. One table for every queue; a message is a row until it
 * is acked. `ready_at` says when a row may be claimed: now, after a delay (a retry's backoff), or
 * when the lease of its delivery ends (the consumer died: it comes back with its attempt counted).
 * A committed enqueue survives the process being killed (WAL; a power loss may lose the last
 * transactions, as `synchronous = NORMAL` does not sync each commit).
 */
import type {
  DurableQueue,
  Enqueue,
  EnqueueResult,
  QueueDepth,
  QueuedMessage,
  QueueStats,
} from '../ports.js';
import type { Db } from './database.js';

export interface SqliteQueueOptions {
  /** How long a delivery is leased before it is given again. */
  readonly leaseMs: number;
  /** The most messages one queue holds (waiting or leased); past it, enqueue refuses. */
  readonly maxDepth: number;
  /** Epoch ms now (tests may move time). */
  readonly now?: () => number;
}

interface Row {
  seq: number;
  id: string;
  queue: string;
  body: string;
  attempt: number;
  enqueued_at: number;
}

export class SqliteQueue implements DurableQueue {
  private readonly now: () => number;
  /** Rows per queue, counted once from the table, then kept here (one platform per data folder). */
  private readonly sizes = new Map<string, number>();
  private readonly listeners = new Set<(queue: string) => void>();
  /** One timer per queue, for the earliest moment a delayed or leased message becomes ready. */
  private readonly wakeups = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly sql;

  constructor(
    private readonly db: Db,
    private readonly opts: SqliteQueueOptions,
  ) {
    this.now = opts.now ?? Date.now;
    // One platform per data folder: what was leased when it opened was leased by a process that is
    // gone (killed, or stopped mid-delivery). Those messages are ready again at once, not after their lease.
    db.prepare('UPDATE queue SET leased = 0, ready_at = ? WHERE leased = 1').run(this.now());
    this.sql = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO queue (id, queue, body, attempt, enqueued_at, ready_at) VALUES (?, ?, ?, 0, ?, ?)',
      ),
      ready: db.prepare(
        'SELECT seq, id, queue, body, attempt, enqueued_at FROM queue WHERE queue = ? AND ready_at <= ? ORDER BY ready_at, seq LIMIT ?',
      ),
      lease: db.prepare('UPDATE queue SET attempt = attempt + 1, ready_at = ?, leased = 1 WHERE seq = ?'),
      ack: db.prepare('DELETE FROM queue WHERE seq = ? AND attempt = ? RETURNING queue'),
      nack: db.prepare(
        'UPDATE queue SET ready_at = ?, leased = 0 WHERE seq = ? AND attempt = ? AND leased = 1',
      ),
      extend: db.prepare('UPDATE queue SET ready_at = ? WHERE seq = ? AND attempt = ? AND leased = 1'),
      queueOf: db.prepare('SELECT queue FROM queue WHERE seq = ?'),
      next: db.prepare('SELECT MIN(ready_at) AS at FROM queue WHERE queue = ? AND ready_at > ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM queue WHERE queue = ?'),
      // The covering index (queue, ready_at, seq): no row is read but the oldest's, whatever the
      // bodies; seq grows with enqueue order, retries keep theirs. About 10 ms per 100,000 messages.
      stats: db.prepare(
        'SELECT queue, COUNT(*) AS n, MIN(seq) AS first FROM queue INDEXED BY queue_ready GROUP BY queue',
      ),
      enqueuedAt: db.prepare('SELECT enqueued_at AS at FROM queue WHERE seq = ?'),
      depth: db.prepare(
        'SELECT SUM(leased = 0 OR ready_at <= ?) AS waiting, MIN(enqueued_at) AS oldest, COUNT(*) AS n FROM queue WHERE queue = ?',
      ),
    };
  }

  async enqueue(items: readonly Enqueue[]): Promise<EnqueueResult> {
    const full = this.fullFor(items);
    if (full) return full;
    const inserted = this.db.transaction(() => this.insert(items))();
    inserted.committed();
    return { ok: true, accepted: items.length - inserted.duplicates.length, duplicates: inserted.duplicates };
  }

  /**
   * `enqueue` for a caller inside its own transaction on this database, so that a change and the
   * events it causes commit together (a KV write and its kv triggers): the rows are inserted now;
   * the caller calls `committed` once its transaction has committed, which counts them and wakes
   * the consumers. A rolled-back transaction takes the rows with it and never calls `committed`.
   */
  enqueueWithin(
    items: readonly Enqueue[],
  ): { ok: true; committed: () => void } | { ok: false; full: string; depth: number } {
    if (!this.db.inTransaction) throw new Error('enqueueWithin needs a transaction of its caller');
    return this.fullFor(items) ?? { ok: true, committed: this.insert(items).committed };
  }

  /** The queue `items` would overfill, if any. */
  private fullFor(items: readonly Enqueue[]): { ok: false; full: string; depth: number } | undefined {
    const added = new Map<string, number>();
    for (const item of items) added.set(item.queue, (added.get(item.queue) ?? 0) + 1);
    for (const [queue, n] of added) {
      const size = this.size(queue);
      if (size + n > this.opts.maxDepth) return { ok: false, full: queue, depth: size };
    }
    return undefined;
  }

  /** Inserts inside the current transaction; what to do once it has committed. */
  private insert(items: readonly Enqueue[]): { duplicates: string[]; committed: () => void } {
    const now = this.now();
    const added = new Map<string, number>();
    const duplicates: string[] = [];
    for (const item of items) {
      const delay = Math.max(0, item.delayMs ?? 0);
      if (this.sql.insert.run(item.id, item.queue, item.body, now, now + delay).changes === 0) {
        duplicates.push(item.id);
      } else added.set(item.queue, (added.get(item.queue) ?? 0) + 1);
    }
    const committed = () => {
      for (const [queue, n] of added) this.sizes.set(queue, this.size(queue) + n);
      for (const item of items) {
        const delay = item.delayMs ?? 0;
        if (delay > 0) this.wakeAt(item.queue, now + delay);
      }
      for (const queue of added.keys()) this.notify(queue);
    };
    return { duplicates, committed };
  }

  async claim(queue: string, max: number): Promise<QueuedMessage[]> {
    if (max <= 0) return [];
    const now = this.now();
    const until = now + this.opts.leaseMs;
    const rows = this.db.transaction(() => {
      const found = this.sql.ready.all(queue, now, max) as Row[];
      for (const r of found) this.sql.lease.run(until, r.seq);
      return found;
    })();
    if (rows.length > 0) this.wakeAt(queue, until);
    return rows.map((r) => ({
      id: r.id,
      queue: r.queue,
      body: r.body,
      attempt: r.attempt + 1,
      enqueuedAt: r.enqueued_at,
      handle: `${r.seq}.${r.attempt + 1}`,
    }));
  }

  async ack(handles: readonly string[]): Promise<void> {
    const gone: string[] = [];
    this.db.transaction(() => {
      for (const handle of handles) {
        const h = readHandle(handle);
        if (!h) continue;
        const row = this.sql.ack.get(h.seq, h.attempt) as { queue: string } | undefined;
        if (row) gone.push(row.queue);
      }
    })();
    for (const queue of gone) this.sizes.set(queue, Math.max(0, this.size(queue) - 1));
  }

  async nack(handle: string, delayMs: number): Promise<void> {
    const h = readHandle(handle);
    if (!h) return;
    const at = this.now() + Math.max(0, delayMs);
    if (this.sql.nack.run(at, h.seq, h.attempt).changes === 0) return;
    const queue = (this.sql.queueOf.get(h.seq) as { queue: string }).queue;
    if (delayMs > 0) this.wakeAt(queue, at);
    else this.notify(queue);
  }

  async extend(handle: string): Promise<void> {
    const h = readHandle(handle);
    if (!h) return;
    this.sql.extend.run(this.now() + this.opts.leaseMs, h.seq, h.attempt);
  }

  async depth(queue: string): Promise<QueueDepth> {
    const now = this.now();
    const r = this.sql.depth.get(now, queue) as { waiting: number | null; oldest: number | null; n: number };
    const waiting = r.waiting ?? 0;
    return { waiting, leased: r.n - waiting, oldestMs: r.oldest === null ? 0 : Math.max(0, now - r.oldest) };
  }

  async stats(): Promise<QueueStats[]> {
    const now = this.now();
    const rows = this.sql.stats.all() as { queue: string; n: number; first: number }[];
    return rows.map((r) => {
      const at = (this.sql.enqueuedAt.get(r.first) as { at: number } | undefined)?.at ?? now;
      return { queue: r.queue, messages: r.n, oldestMs: Math.max(0, now - at) };
    });
  }

  async purge(queue: string): Promise<number> {
    const n = this.db.prepare('DELETE FROM queue WHERE queue = ?').run(queue).changes;
    this.sizes.set(queue, 0);
    return n;
  }

  watch(listener: (queue: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Stops the wake-up timers (the queue's data stays in the database). */
  close(): void {
    for (const { timer } of this.wakeups.values()) clearTimeout(timer);
    this.wakeups.clear();
    this.listeners.clear();
  }

  private size(queue: string): number {
    let n = this.sizes.get(queue);
    if (n === undefined) {
      n = (this.sql.count.get(queue) as { n: number }).n;
      this.sizes.set(queue, n);
    }
    return n;
  }

  private notify(queue: string): void {
    for (const listener of this.listeners) listener(queue);
  }

  /** Tells the listeners about `queue` at `at` (or earlier, if a wake-up is already set before). */
  private wakeAt(queue: string, at: number): void {
    const current = this.wakeups.get(queue);
    if (current && current.at <= at) return;
    if (current) clearTimeout(current.timer);
    const timer = setTimeout(
      () => {
        this.wakeups.delete(queue);
        this.notify(queue);
        // Other delays and leases may end later: wake for the next of them too.
        const next = (this.sql.next.get(queue, this.now()) as { at: number | null }).at;
        if (next !== null) this.wakeAt(queue, next);
      },
      Math.max(0, at - this.now()),
    );
    timer.unref();
    this.wakeups.set(queue, { at, timer });
  }
}

function readHandle(handle: string): { seq: number; attempt: number } | undefined {
  const m = /^(\d{1,15})\.(\d{1,9})$/.exec(handle);
  return m ? { seq: Number(m[1]), attempt: Number(m[2]) } : undefined;
}
