/**
 * embedded/webhook-deliveries: WebhookDeliveryStore on SQLite. One row per (function, delivery
 * id), claimed by an INSERT that does nothing when the row exists (so of two claims, one wins);
 * `queued` says the delivery made it onto the function's queue.
 */
import type { DeliveryClaim, WebhookDeliveryStore } from '../ports.js';
import type { Db } from './database.js';

export class SqliteWebhookDeliveries implements WebhookDeliveryStore {
  private readonly sql;

  constructor(private readonly db: Db) {
    this.sql = {
      claim: db.prepare(
        'INSERT INTO webhook_deliveries (function, delivery_id, invocation_id, received_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING',
      ),
      get: db.prepare(
        'SELECT invocation_id AS id, queued FROM webhook_deliveries WHERE function = ? AND delivery_id = ?',
      ),
      queued: db.prepare('UPDATE webhook_deliveries SET queued = 1 WHERE function = ? AND delivery_id = ?'),
      release: db.prepare(
        'DELETE FROM webhook_deliveries WHERE function = ? AND delivery_id = ? AND queued = 0',
      ),
      forget: db.prepare('DELETE FROM webhook_deliveries WHERE function = ?'),
      functions: db.prepare('SELECT DISTINCT function FROM webhook_deliveries'),
      expire: db.prepare('DELETE FROM webhook_deliveries WHERE function = ? AND received_at < ?'),
      // the received_at of the newest row past the bound: it and everything older go
      bound: db.prepare(
        'SELECT received_at AS at FROM webhook_deliveries WHERE function = ? ORDER BY received_at DESC LIMIT 1 OFFSET ?',
      ),
    };
  }

  async claim(fn: string, deliveryId: string, invocationId: string, at: number): Promise<DeliveryClaim> {
    if (this.sql.claim.run(fn, deliveryId, invocationId, at).changes === 1) return { type: 'new' };
    const row = this.sql.get.get(fn, deliveryId) as { id: string; queued: number } | undefined;
    // released between the two statements: cannot happen in one process, but claim again rather than guess
    if (!row) return this.claim(fn, deliveryId, invocationId, at);
    return { type: row.queued === 1 ? 'queued' : 'pending', invocationId: row.id };
  }

  async queued(fn: string, deliveryId: string): Promise<void> {
    this.sql.queued.run(fn, deliveryId);
  }

  async release(fn: string, deliveryId: string): Promise<void> {
    this.sql.release.run(fn, deliveryId);
  }

  async forget(fn: string): Promise<number> {
    return this.sql.forget.run(fn).changes;
  }

  async purge(before: number, maxPerFunction: number): Promise<number> {
    return this.db.transaction(() => {
      let dropped = 0;
      for (const { function: fn } of this.sql.functions.all() as { function: string }[]) {
        dropped += this.sql.expire.run(fn, before).changes;
        const past = this.sql.bound.get(fn, maxPerFunction) as { at: number } | undefined;
        if (past) dropped += this.sql.expire.run(fn, past.at + 1).changes;
      }
      return dropped;
    })();
  }
}
