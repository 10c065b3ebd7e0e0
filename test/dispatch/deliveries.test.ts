/**
 * Deliveries on a real SQLite queue, with a dispatcher that fails on the platform's side (it
 * throws, as a broken record write or a bug would): the message must come back after a backoff,
 * not stay leased until its lease ends, and nothing is lost.
 */
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteQueue } from '../../src/backends/embedded/queue.js';
import { Deliveries } from '../../src/dispatch/deliveries.js';
import type { DispatchResult } from '../../src/dispatch/dispatcher.js';
import type { Invocation } from '../../src/dispatch/invocation.js';
import { tempDir, WAIT } from '../helpers/gust.js';
import { testSpec } from '../helpers/spec.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

describe('a delivery that fails on the platform side', () => {
  it('is given back after a backoff, not held for its whole lease, and then delivered', async () => {
    const db = openDatabase(path.join(await tempDir('gust-deliveries-'), 'gust.db'));
    const queue = new SqliteQueue(db, { leaseMs: 60_000, maxDepth: 100 });
    const spec = testSpec('worker', { retries: { max: 2, backoffMs: 50, deadLetter: null } });
    const calls: Invocation[] = [];
    const errors: string[] = [];
    const deliveries = new Deliveries({
      queue,
      dispatcher: {
        invoke: async (inv: Invocation): Promise<DispatchResult> => {
          calls.push(inv);
          if (calls.length === 1) throw new Error('the record could not be made');
          return {
            outcome: { type: 'ok', json: undefined, logs: '' },
            record: { status: 'ok' },
          } as unknown as DispatchResult;
        },
        refuse: () => {
          throw new Error('no event of this test is refused');
        },
      },
      specOf: (name) => (name === 'worker' ? spec : undefined),
      shape: (delivered) => delivered.map((d) => d.event.invocationId),
      failed: () => undefined,
      deadLetter: async () => {},
      onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
      recorded: async () => {},
      leaseMs: 60_000,
    });
    cleanup.push(() => {
      db.close();
    });
    cleanup.push(() => queue.close());
    cleanup.push(() => deliveries.close());
    deliveries.serve('worker');

    const accepted = await deliveries.submit([
      {
        v: 1,
        function: 'worker',
        trigger: 'invoke',
        invocationId: 'inv-1',
        traceId: '0'.repeat(32),
        source: { kind: 'invoke', data: { n: 1 } },
      },
    ]);
    expect(accepted).toMatchObject({ ok: true, accepted: 1 });

    // Delivered twice (the second time as attempt 2), well within the 60 s lease, then acked.
    await vi.waitFor(async () => {
      expect(calls.map((c) => [c.id, c.attempt])).toEqual([
        ['inv-1', 1],
        ['inv-1', 2],
      ]);
      expect((await queue.depth('fn.worker')).waiting + (await queue.depth('fn.worker')).leased).toBe(0);
    }, WAIT);
    expect(errors).toEqual(['the record could not be made']);
  });
});
