/**
 * Latency over time from the records: percentiles, cold starts and errors per step, in SQL, over
 * the calls that ran; those that never ran (throttled, refused) are counted apart.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import type { InvocationRecord } from '../../src/backends/ports.js';
import { tempDir } from '../helpers/gust.js';
import { aRecord } from '../helpers/records.js';

const T0 = Date.parse('2026-11-30T12:00:00.000Z');
const MINUTE = 60_000;

function record(n: number, over: Partial<InvocationRecord>): InvocationRecord {
  return aRecord({ id: `inv-${n}`, instance: 'i-1', start: new Date(T0).toISOString(), ...over });
}

let store: SqliteInvocations;
let close: () => void;

beforeAll(async () => {
  const db = openDatabase(path.join(await tempDir(), 'gust.db'));
  close = () => db.close();
  store = new SqliteInvocations(db);
  const list: InvocationRecord[] = [];
  // minute 0: latencies 1..100 ms (queued 1 + run 0..99), the first cold, every tenth failed
  for (let i = 0; i < 100; i++) {
    list.push(
      record(i, {
        start: new Date(T0 + i * 100).toISOString(),
        queuedMs: 1,
        durationMs: i,
        cold: i === 0,
        status: i % 10 === 9 ? 'error' : 'ok',
      }),
    );
  }
  // minute 2: one call of 500 ms; another function's calls and one before the window do not count
  list.push(record(100, { start: new Date(T0 + 2 * MINUTE + 5).toISOString(), durationMs: 500, cold: true }));
  list.push(record(101, { function: 'g', durationMs: 9999 }));
  list.push(record(102, { start: new Date(T0 - 1).toISOString(), durationMs: 7777 }));
  // calls that never ran: refused by a budget in minute 0 (no wait, no run), throttled in minute 1
  // after a long wait; none is billed, and none counts in a percentile or the cold ratio
  const never = { instance: null, durationMs: 0, billedMs: 0, gbSeconds: 0 };
  for (let i = 0; i < 20; i++) {
    list.push(record(200 + i, { ...never, start: new Date(T0 + 50 * i).toISOString(), status: 'rejected' }));
  }
  list.push(
    record(300, {
      ...never,
      start: new Date(T0 + MINUTE + 5).toISOString(),
      queuedMs: 30_000,
      status: 'throttled',
    }),
  );
  await store.add(list);
});

afterAll(() => close?.());

const query = (maxRecords = 10_000) =>
  store.latency({
    function: 'f',
    since: new Date(T0).toISOString(),
    until: new Date(T0 + 3 * MINUTE).toISOString(),
    stepMs: MINUTE,
    maxRecords,
  });

describe('latency series', () => {
  it('gives nearest-rank percentiles of queued + run per step, with cold starts and errors', async () => {
    const { steps, looked, complete } = await query();
    expect(steps).toEqual([
      { step: 0, count: 100, errors: 10, cold: 1, notRun: 20, p50: 50, p90: 90, p99: 99 },
      { step: 1, count: 0, errors: 0, cold: 0, notRun: 1, p50: null, p90: null, p99: null },
      { step: 2, count: 1, errors: 0, cold: 1, notRun: 0, p50: 500, p90: 500, p99: 500 },
    ]);
    expect(looked).toBe(122);
    expect(complete).toBe(true);
  });

  it('reads only the newest records when told a bound, and says the series is not complete', async () => {
    // f's newest 32: the throttled call, the 20 refused, the one before the window, the one of
    // minute 2, and the last 9 of minute 0
    const { steps, looked, complete } = await query(32);
    expect(looked).toBe(31);
    expect(complete).toBe(false);
    expect(steps.map((s) => [s.step, s.count, s.notRun])).toEqual([
      [0, 9, 20],
      [1, 0, 1],
      [2, 1, 0],
    ]);
  });
});
