/**
 * What becomes of a verified webhook delivery, against a real SQLite database (the platform's
 * own schema, queue and table of delivery ids): once per delivery id, also when the process died
 * halfway through a previous attempt, and ids forgotten after 7 days or past the bound.
 */
import { createHmac } from 'node:crypto';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteQueue } from '../../src/backends/embedded/queue.js';
import { SqliteWebhookDeliveries } from '../../src/backends/embedded/webhook-deliveries.js';
import { queueOf } from '../../src/dispatch/deliveries.js';
import type { QueuedEvent } from '../../src/events/types.js';
import type { WebhookTrigger } from '../../src/manifest/types.js';
import {
  KEEP_IDS_MS,
  MAX_DELIVERY_ID,
  MAX_IDS_PER_FUNCTION,
  Webhooks,
} from '../../src/triggers/webhook/accept.js';
import { tempDir } from '../helpers/gust.js';

const SECRET = 'hook-secret';
const TRIGGER: WebhookTrigger = { type: 'webhook', path: '/hooks/x', verify: 'hmac-sha256', secret: 'S' };

let db: Db;
let queue: SqliteQueue;
let store: SqliteWebhookDeliveries;
let clock: number;
let secret: string | undefined;

function webhooks(): Webhooks {
  return new Webhooks({
    store,
    // the platform's submit, without a consumer: what is queued stays there to be looked at
    deliveries: {
      submit: (events: readonly QueuedEvent[]) =>
        queue.enqueue(
          events.map((e) => ({ queue: queueOf(e.function), id: e.invocationId, body: JSON.stringify(e) })),
        ),
    },
    secret: () => secret,
    onError: (e) => {
      throw e;
    },
    now: () => clock,
  });
}

function delivery(id: string | null, body = '{"n":1}', fn = 'fn') {
  return {
    function: fn,
    trigger: TRIGGER,
    pathname: '/hooks/x',
    headers: {
      'x-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
      ...(id === null ? {} : { 'x-delivery-id': id }),
    },
    body: Buffer.from(body),
  };
}

async function queued(fn = 'fn'): Promise<QueuedEvent[]> {
  const claimed = await queue.claim(queueOf(fn), 100);
  return claimed.map((m) => JSON.parse(m.body) as QueuedEvent);
}

beforeEach(async () => {
  db = openDatabase(path.join(await tempDir('gust-webhooks-'), 'gust.db'));
  queue = new SqliteQueue(db, { leaseMs: 60_000, maxDepth: 100 });
  store = new SqliteWebhookDeliveries(db);
  clock = Date.parse('2026-12-01T12:00:00Z');
  secret = SECRET;
});

afterEach(() => {
  queue.close();
  db.close();
});

describe('a verified webhook delivery', () => {
  it('is queued once per delivery id; the same id again is a duplicate of the first', async () => {
    const w = webhooks();
    const first = await w.receive(delivery('d-1'));
    expect(first).toEqual({ type: 'accepted', invocationId: expect.any(String) });
    const again = await w.receive(delivery('d-1'));
    expect(again).toEqual({
      type: 'duplicate',
      invocationId: (first as { invocationId: string }).invocationId,
    });
    const events = await queued();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      function: 'fn',
      trigger: 'webhook',
      source: { kind: 'webhook', path: '/hooks/x', deliveryId: 'd-1', payload: { n: 1 }, encoding: 'json' },
    });
    w.close();
  });

  it('sent twice at once is queued once: the second waits for the first and is its duplicate', async () => {
    const w = webhooks();
    const [a, b] = await Promise.all([w.receive(delivery('d-2')), w.receive(delivery('d-2'))]);
    expect([a!.type, b!.type]).toEqual(['accepted', 'duplicate']);
    expect((b as { invocationId: string }).invocationId).toBe((a as { invocationId: string }).invocationId);
    expect(await queued()).toHaveLength(1);
    w.close();
  });

  it('without a delivery id is queued every time', async () => {
    const w = webhooks();
    await w.receive(delivery(null));
    await w.receive(delivery(null));
    expect(await queued()).toHaveLength(2);
    w.close();
  });

  it('is refused without a secret set, and a refusal keeps no id', async () => {
    const w = webhooks();
    secret = undefined;
    expect(await w.receive(delivery('d-3'))).toMatchObject({ type: 'refused', reason: /no secret set/ });
    secret = SECRET;
    expect(await w.receive(delivery('d-3'))).toMatchObject({ type: 'accepted' });
    w.close();
  });

  it(`with an id over ${MAX_DELIVERY_ID} characters is refused as invalid`, async () => {
    const w = webhooks();
    expect(await w.receive(delivery('x'.repeat(MAX_DELIVERY_ID + 1)))).toMatchObject({ type: 'invalid' });
    expect(await queued()).toEqual([]);
    w.close();
  });

  it('that finds the queue full is not kept: the sender’s retry is queued once there is room', async () => {
    queue.close();
    queue = new SqliteQueue(db, { leaseMs: 60_000, maxDepth: 1 });
    const w = webhooks();
    expect((await w.receive(delivery('d-4'))).type).toBe('accepted');
    const full = await w.receive(delivery('d-5'));
    expect(full).toEqual({ type: 'full', depth: 1 });
    const [taken] = await queue.claim(queueOf('fn'), 1);
    await queue.ack([taken!.handle]);
    expect((await w.receive(delivery('d-5'))).type).toBe('accepted');
    w.close();
  });
});

describe('a process that died halfway through a delivery', () => {
  it('after claiming its id: the sender’s retry queues it under the claimed invocation id', async () => {
    await store.claim('fn', 'd-6', 'claimed-id', clock);
    const w = webhooks();
    expect(await w.receive(delivery('d-6'))).toEqual({ type: 'accepted', invocationId: 'claimed-id' });
    expect((await queued()).map((e) => e.invocationId)).toEqual(['claimed-id']);
    expect(await w.receive(delivery('d-6'))).toEqual({ type: 'duplicate', invocationId: 'claimed-id' });
    w.close();
  });

  it('after queueing its event: the retry does not queue a second one while the first waits', async () => {
    await store.claim('fn', 'd-7', 'claimed-id', clock);
    // the event as the dead process queued it, before it could mark the id queued
    await queue.enqueue([{ queue: queueOf('fn'), id: 'claimed-id', body: '{"v":1}' }]);
    const w = webhooks();
    expect(await w.receive(delivery('d-7'))).toEqual({ type: 'accepted', invocationId: 'claimed-id' });
    expect((await queue.claim(queueOf('fn'), 100)).map((m) => m.id)).toEqual(['claimed-id']);
    expect(await w.receive(delivery('d-7'))).toEqual({ type: 'duplicate', invocationId: 'claimed-id' });
    w.close();
  });
});

describe('delivery ids', () => {
  it('are forgotten after 7 days', async () => {
    const w = webhooks();
    await w.receive(delivery('old'));
    clock += KEEP_IDS_MS - 1000;
    await w.receive(delivery('newer'));
    clock += 2000;
    expect(await w.purge()).toBe(1);
    expect((await w.receive(delivery('old'))).type).toBe('accepted');
    expect((await w.receive(delivery('newer'))).type).toBe('duplicate');
    w.close();
  });

  it(`are kept ${MAX_IDS_PER_FUNCTION} at most per function, the oldest going first`, async () => {
    const insert = db.prepare(
      'INSERT INTO webhook_deliveries (function, delivery_id, invocation_id, received_at, queued) VALUES (?, ?, ?, ?, 1)',
    );
    db.transaction(() => {
      for (let i = 0; i < MAX_IDS_PER_FUNCTION + 5; i++) insert.run('busy', `id-${i}`, `inv-${i}`, clock + i);
      insert.run('quiet', 'id-0', 'inv-q', clock - 1);
    })();
    expect(await store.purge(clock - KEEP_IDS_MS, MAX_IDS_PER_FUNCTION)).toBe(5);
    const left = (fn: string) =>
      (db.prepare('SELECT COUNT(*) AS n FROM webhook_deliveries WHERE function = ?').get(fn) as { n: number })
        .n;
    expect(left('busy')).toBe(MAX_IDS_PER_FUNCTION);
    expect(left('quiet')).toBe(1);
    const oldest = db
      .prepare("SELECT MIN(received_at) AS at FROM webhook_deliveries WHERE function = 'busy'")
      .get() as { at: number };
    expect(oldest.at).toBe(clock + 5);
  });

  it('of a removed function are forgotten with it', async () => {
    const w = webhooks();
    await w.receive(delivery('d-8', '{"n":1}', 'gone'));
    await w.forget('gone');
    expect((await w.receive(delivery('d-8', '{"n":1}', 'gone'))).type).toBe('accepted');
    w.close();
  });
});
