/**
 * Ordered events (QueuedEvent.orderKey, a postgres trigger's table) on a real SQLite queue: one at a
 * time per key, in queue order, a failing one retried before any later one of its key, while other
 * keys and unordered events run beside them.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteQueue } from '../../src/backends/embedded/queue.js';
import { Deliveries } from '../../src/dispatch/deliveries.js';
import type { DispatchResult } from '../../src/dispatch/dispatcher.js';
import type { Invocation } from '../../src/dispatch/invocation.js';
import type { QueuedEvent } from '../../src/events/types.js';
import { tempDir, WAIT } from '../helpers/gust.js';
import { testSpec } from '../helpers/spec.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const ok = { outcome: { type: 'ok', json: undefined, logs: '' }, record: { status: 'ok' } };
const failed = {
  outcome: { type: 'error', error: { name: 'Error', message: 'no' }, logs: '' },
  record: { status: 'error', error: 'no' },
};

function event(id: string, orderKey?: string): QueuedEvent {
  return {
    v: 1,
    function: 'worker',
    trigger: 'postgres',
    invocationId: id,
    traceId: '0'.repeat(32),
    source: { kind: 'invoke', data: id },
    ...(orderKey === undefined ? {} : { orderKey }),
  };
}

describe('ordered events', () => {
  it('run one at a time per key, in order, a failing one retried before the next of its key', async () => {
    const db = openDatabase(path.join(await tempDir('gust-order-'), 'gust.db'));
    const queue = new SqliteQueue(db, { leaseMs: 60_000, maxDepth: 100 });
    // 10 at once: only the order keys keep them apart
    const spec = testSpec('worker', {
      scale: { min: 0, max: 10, idleMs: 60_000 },
      retries: { max: 3, backoffMs: 100, deadLetter: null },
    });
    const started: string[] = [];
    const running = new Map<string, number>();
    let overlap = false;
    let failures = 0;
    const deliveries = new Deliveries({
      queue,
      dispatcher: {
        invoke: async (inv: Invocation): Promise<DispatchResult> => {
          const id = inv.id;
          const key = id.split('-')[0]!;
          started.push(id);
          if ((running.get(key) ?? 0) > 0 && key !== 'free') overlap = true;
          running.set(key, (running.get(key) ?? 0) + 1);
          // a few turns of the event loop while it runs: room for the consumer to start another
          for (let turn = 0; turn < 5; turn++) await new Promise((r) => setImmediate(r));
          running.set(key, running.get(key)! - 1);
          if (id === 'a-1' && failures < 2) {
            failures++;
            return failed as unknown as DispatchResult;
          }
          return ok as unknown as DispatchResult;
        },
        refuse: () => {
          throw new Error('no event of this test is refused');
        },
      },
      specOf: (name) => (name === 'worker' ? spec : undefined),
      shape: (delivered) => delivered.map((d) => d.event.invocationId),
      failed: () => undefined,
      deadLetter: async () => {},
      onError: (e) => {
        throw e;
      },
      recorded: async () => {},
      leaseMs: 60_000,
    });
    cleanup.push(() => {
      db.close();
    });
    cleanup.push(() => queue.close());
    cleanup.push(() => deliveries.close());

    await deliveries.submit([
      event('a-1', 'a'),
      event('a-2', 'a'),
      event('b-1', 'b'),
      event('a-3', 'a'),
      event('b-2', 'b'),
      event('free-1'),
      event('free-2'),
    ]);
    deliveries.serve('worker');
    await vi.waitFor(async () => {
      expect(started.filter((id) => id.startsWith('a-'))).toEqual(['a-1', 'a-1', 'a-1', 'a-2', 'a-3']);
      expect((await queue.depth('fn.worker')).waiting + (await queue.depth('fn.worker')).leased).toBe(0);
    }, WAIT);
    expect(started.filter((id) => id.startsWith('b-'))).toEqual(['b-1', 'b-2']);
    expect(overlap).toBe(false);
    // the other key and the unordered events did not wait for a-1's retries
    expect(started.indexOf('b-2')).toBeLessThan(started.lastIndexOf('a-1'));
    expect(started.indexOf('free-2')).toBeLessThan(started.lastIndexOf('a-1'));
  });
});
