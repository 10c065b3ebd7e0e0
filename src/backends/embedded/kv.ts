/**
 * embedded/kv: KV namespaces in one SQLite table (namespace, key) -> value, with an optional
 * expiry. Reads and lists compare `expires_at` with the clock, so an expired key is absent from the
 * moment it expires; `purgeExpired` deletes them later, in bounded batches. Each write is one
 * transaction that also queues the events of kv triggers (through `enqueue`, the queue's own
 * in-transaction insert), so a change and its events are durable together or not at all.
 */
import type { Enqueue, KvChange, KvEntry, KvPage, KvStore } from '../ports.js';
import type { Db } from './database.js';

export interface SqliteKvOptions {
  /**
   * Queues events inside the current transaction (embedded/queue.ts `enqueueWithin`), or throws to
   * roll it back (a full queue); what to call once the transaction has committed.
   */
  readonly enqueue: (items: readonly Enqueue[]) => () => void;
  readonly now?: () => number;
}

interface Row {
  key: string;
  value: string;
  expires_at: number | null;
}

export class SqliteKv implements KvStore {
  private readonly now: () => number;
  private readonly sql;

  constructor(
    private readonly db: Db,
    private readonly opts: SqliteKvOptions,
  ) {
    this.now = opts.now ?? Date.now;
    const live = '(expires_at IS NULL OR expires_at > ?)';
    this.sql = {
      get: db.prepare(`SELECT key, value, expires_at FROM kv WHERE namespace = ? AND key = ? AND ${live}`),
      put: db.prepare(
        'INSERT INTO kv (namespace, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?) ' +
          'ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at',
      ),
      delete: db.prepare(`DELETE FROM kv WHERE namespace = ? AND key = ? AND ${live}`),
      // an expired row is not there: it goes, so that cas(key, null, ...) may create the key again
      dropExpired: db.prepare('DELETE FROM kv WHERE namespace = ? AND key = ? AND expires_at <= ?'),
      list: db.prepare(
        `SELECT key, expires_at FROM kv WHERE namespace = ? AND key > ? AND key >= ? AND key < ? AND ${live} ORDER BY key LIMIT ?`,
      ),
      purge: db.prepare(
        'DELETE FROM kv WHERE (namespace, key) IN (SELECT namespace, key FROM kv WHERE expires_at <= ? LIMIT ?)',
      ),
    };
  }

  async get(ns: string, key: string): Promise<KvEntry | undefined> {
    const row = this.sql.get.get(ns, key, this.now()) as Row | undefined;
    return row && { key: row.key, value: row.value, expiresAt: row.expires_at };
  }

  async write(
    change: KvChange,
    events: (change: KvChange) => readonly Enqueue[],
  ): Promise<{ changed: boolean }> {
    const now = this.now();
    let committed: (() => void) | undefined;
    const changed = this.db.transaction((): boolean => {
      if (!this.apply(change, now)) return false;
      const queued = events(change);
      if (queued.length > 0) committed = this.opts.enqueue(queued);
      return true;
    })();
    committed?.();
    return { changed };
  }

  async list(ns: string, opts: { prefix?: string; cursor?: string; limit: number }): Promise<KvPage> {
    const prefix = opts.prefix ?? '';
    const after = opts.cursor === undefined ? '' : readCursor(opts.cursor);
    // keys with the prefix sort from the prefix up to the prefix followed by the highest code point
    const rows = this.sql.list.all(
      ns,
      after,
      prefix,
      `${prefix}\u{10FFFF}`,
      this.now(),
      opts.limit + 1,
    ) as Row[];
    const page = rows.slice(0, opts.limit);
    const last = page.at(-1);
    return {
      keys: page.map((r) => ({ key: r.key, expiresAt: r.expires_at })),
      cursor: rows.length > opts.limit && last ? Buffer.from(last.key).toString('base64url') : null,
    };
  }

  async purgeExpired(max: number): Promise<number> {
    return this.sql.purge.run(this.now(), max).changes;
  }

  /** One change, inside the transaction; whether it happened. */
  private apply(change: KvChange, now: number): boolean {
    const { ns, key } = change;
    switch (change.op) {
      case 'put':
        this.sql.put.run(ns, key, change.value, expiry(change.ttlMs, now), now);
        return true;
      case 'delete':
        return this.sql.delete.run(ns, key, now).changes === 1;
      case 'cas': {
        const current = this.sql.get.get(ns, key, now) as Row | undefined;
        if ((current?.value ?? null) !== change.expected) return false;
        if (!current) this.sql.dropExpired.run(ns, key, now);
        this.sql.put.run(ns, key, change.next, expiry(change.ttlMs, now), now);
        return true;
      }
    }
  }
}

const expiry = (ttlMs: number | undefined, now: number): number | null =>
  ttlMs === undefined ? null : now + ttlMs;

function readCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]{1,2800}$/.test(cursor)) throw new RangeError('not a cursor of this store');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
