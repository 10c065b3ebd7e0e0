/**
 * Records kept for a time and a size (observe/retention over a real SQLite store): ok records go
 * after the retention, failed ones after theirs, the oldest go past the size bound, and usage does
 * not move when records go.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import type { InvocationRecord, InvocationStatus } from '../../src/backends/ports.js';
import { prunerLog } from '../../src/observe/prune-log.js';
import { RecordPruner } from '../../src/observe/retention.js';
import { tempDir } from '../helpers/gust.js';
import { aRecord } from '../helpers/records.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

const NOW = Date.parse('2026-11-30T12:00:00Z');
const DAY = 86_400_000;

function record(id: string, ageMs: number, status: InvocationStatus = 'ok', logs = ''): InvocationRecord {
  return aRecord({
    id,
    start: new Date(NOW - ageMs).toISOString(),
    durationMs: 10,
    billedMs: 10,
    gbSeconds: 0.00125,
    status,
    error: status === 'ok' ? null : 'boom',
    logs,
  });
}

async function open() {
  const db = openDatabase(path.join(await tempDir('gust-retention-'), 'gust.db'));
  closers.push(() => db.close());
  const store = new SqliteInvocations(db);
  const ids = async () => {
    const out: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ limit: 1000, ...(cursor ? { cursor } : {}) });
      out.push(...page.records.map((r) => r.id));
      cursor = page.cursor ?? undefined;
    } while (cursor);
    return out.sort();
  };
  /** What the pruner told, in order. */
  const told: unknown[] = [];
  const pruner = (settings: Partial<ConstructorParameters<typeof RecordPruner>[1]> = {}) => {
    const p = new RecordPruner(
      store,
      { retentionMs: 7 * DAY, failedRetentionMs: 30 * DAY, maxBytes: 1024 ** 3, ...settings },
      {
        onError: (e) => {
          throw e;
        },
        pruned: (counts) => told.push({ pruned: counts }),
        sizeReached: ({ records }) => told.push({ sizeReached: records }),
      },
      () => NOW,
    );
    closers.push(() => p.close());
    return p;
  };
  return { store, ids, pruner, told };
}

describe('record retention', () => {
  it('deletes ok records past the retention and failed ones past theirs, keeping the rest and usage', async () => {
    const { store, ids, pruner, told } = await open();
    // written in the order they ended: a long run ends after shorter ones that started later
    await store.add([
      record('timeout-31d', 31 * DAY, 'timeout'),
      record('ok-old', 8 * DAY),
      record('failed-8d', 8 * DAY, 'error'),
      record('ok-7d-less-1m', 7 * DAY - 60_000),
      record('ok-long-run', 7 * DAY + 60_000),
      record('ok-new', 1 * DAY),
      record('failed-new', 1 * DAY, 'crashed'),
    ]);
    const usageBefore = await store.usage({ since: NOW - 60 * DAY, until: NOW + DAY, by: 'function' });
    const p = pruner();
    expect(await p.prune()).toBe(3);
    expect(await ids()).toEqual(['failed-8d', 'failed-new', 'ok-7d-less-1m', 'ok-new']);
    expect(await p.prune()).toBe(0);
    // what each rule deleted is told; a pass that deleted nothing tells nothing
    expect(told).toEqual([{ pruned: { expired: 2, failedExpired: 1, overSize: 0 } }]);
    expect(await store.usage({ since: NOW - 60 * DAY, until: NOW + DAY, by: 'function' })).toEqual(
      usageBefore,
    );
    expect(usageBefore[0]).toMatchObject({ requests: 7, failed: 3 });
    expect((await store.size()).records).toBe(4);
  });

  it('gets through many kept failed records in front of old ok ones, a step at a time', async () => {
    const { store, ids, pruner } = await open();
    // more failed records than one step looks at, then ok records to delete
    const failed = Array.from({ length: 4500 }, (_, i) => record(`f${i}`, 9 * DAY, 'error'));
    const oks = Array.from({ length: 1200 }, (_, i) => record(`o${i}`, 8 * DAY));
    await store.add(failed);
    await store.add(oks);
    await store.add([record('recent', 1000)]);
    expect(await pruner().prune()).toBe(1200);
    expect(await ids()).toHaveLength(4501);
    expect((await store.size()).records).toBe(4501);
  });

  it('deletes the oldest records, ok ones first, past the size bound, down to 90% of it', async () => {
    const { store, ids, pruner, told } = await open();
    const logs = 'x'.repeat(900); // about 1 KB a record with its overhead
    await store.add([record('failed-oldest', 5 * DAY, 'error', logs)]);
    await store.add(
      Array.from({ length: 300 }, (_, i) =>
        record(`r${String(i).padStart(3, '0')}`, 4 * DAY - i, 'ok', logs),
      ),
    );
    const { bytesPerRecord } = await store.size();
    expect(bytesPerRecord).toBeGreaterThan(900);
    const maxBytes = 200 * bytesPerRecord;
    const p = pruner({ maxBytes });
    const deleted = await p.prune();
    const left = await ids();
    // the size bound is told once, when it first deletes, not at each pass that it deletes again
    expect(told).toEqual([
      { sizeReached: 301 },
      { pruned: { expired: 0, failedExpired: 0, overSize: deleted } },
    ]);
    await store.add(Array.from({ length: 60 }, (_, i) => record(`s${i}`, 1000, 'ok', logs)));
    const again = await p.prune();
    expect(again).toBeGreaterThan(0);
    expect(told.slice(2)).toEqual([{ pruned: { expired: 0, failedExpired: 0, overSize: again } }]);
    expect(left.length).toBe(301 - deleted);
    expect(left.length * bytesPerRecord).toBeLessThanOrEqual(maxBytes * 0.9 + bytesPerRecord);
    // the failed record, older than all, stays while ok ones can go; the newest ok ones stay
    expect(left).toContain('failed-oldest');
    expect(left).toContain('r299');
    expect(left).not.toContain('r000');
  });

  it('counts the records it finds at start, and follows what is added and deleted after', async () => {
    const { store } = await open();
    await store.add(Array.from({ length: 250 }, (_, i) => record(`a${i}`, 1000)));
    expect((await store.size()).records).toBe(250);
    await store.add([record('b', 1000), record('b', 1000)]); // the same record twice counts once
    expect((await store.size()).records).toBe(251);
  });
});

describe("the pruner's lines in the platform's log", () => {
  it('are a pass at debug, with its counts, and the size bound at info', () => {
    const lines: [string, unknown, string][] = [];
    const at = (level: string) => (fields: unknown, msg: string) => void lines.push([level, fields, msg]);
    const log = prunerLog({ debug: at('debug'), info: at('info'), error: at('error') } as never, {
      retentionMs: 7 * DAY,
      failedRetentionMs: 30 * DAY,
      maxBytes: 1024 ** 3,
    });
    log.pruned?.({ expired: 1200, failedExpired: 3, overSize: 0 });
    log.sizeReached?.({ records: 1_000_000, bytes: 1.1 * 1024 ** 3 });
    expect(lines).toEqual([
      [
        'debug',
        { expired: 1200, failedExpired: 3, overSize: 0 },
        'pruned 1203 invocation records: 1200 ok past 7d, 3 past 30d, 0 over 1GB',
      ],
      [
        'info',
        { records: 1_000_000, bytes: 1.1 * 1024 ** 3, maxBytes: 1024 ** 3 },
        'invocation records reached their size bound, 1GB (about 1.1GB in 1000000 records): the oldest are deleted from now on, ok ones first, down to 90% of it (gust up --max-records-size raises it)',
      ],
    ]);
  });
});
