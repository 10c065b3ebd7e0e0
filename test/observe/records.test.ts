/** The Recorder over a real SQLite store: when `written` resolves, and what a failed write keeps. */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import type { InvocationRecord, InvocationStore } from '../../src/backends/ports.js';
import { Recorder } from '../../src/observe/records.js';
import { tempDir } from '../helpers/gust.js';
import { aRecord } from '../helpers/records.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

function record(id: string): InvocationRecord {
  return aRecord({ id, trigger: 'topic', gbSeconds: 0 });
}

/** A real store whose next `failures` writes fail first (a full disk, a busy database). */
async function store(failures: number): Promise<{ store: InvocationStore; ids: () => Promise<string[]> }> {
  const db = openDatabase(path.join(await tempDir('gust-records-'), 'gust.db'));
  closers.push(() => db.close());
  const real = new SqliteInvocations(db);
  let left = failures;
  const failing: InvocationStore = Object.create(real) as InvocationStore;
  failing.add = async (records) => {
    if (left-- > 0) throw new Error('disk full');
    return real.add(records);
  };
  const ids = async () => (await real.list({ limit: 100 })).records.map((r) => r.id).sort();
  return { store: failing, ids };
}

describe('Recorder.written', () => {
  it('resolves once the records made before it are in the store, and not before', async () => {
    const { store: s, ids } = await store(0);
    const recorder = new Recorder(s, () => {});
    recorder.record(record('a'));
    let done = false;
    const written = recorder.written().then(() => {
      done = true;
    });
    expect(done).toBe(false);
    await written;
    expect(await ids()).toEqual(['a']);
  });

  it('waits for a batch being written when the buffer is empty', async () => {
    const { store: s, ids } = await store(0);
    const recorder = new Recorder(s, () => {});
    recorder.record(record('a'));
    const flushing = recorder.flush();
    const written = recorder.written();
    await written;
    expect(await ids()).toEqual(['a']);
    await flushing;
  });

  it('keeps its waiters when a write fails, until a later write has the records', async () => {
    const { store: s, ids } = await store(1);
    const errors: unknown[] = [];
    const recorder = new Recorder(s, (e) => errors.push(e));
    recorder.record(record('a'));
    let done = false;
    const written = recorder.written().then(() => {
      done = true;
    });
    await recorder.flush(); // fails: the record goes back, its waiter stays
    expect(errors).toHaveLength(1);
    expect(done).toBe(false);
    expect(await ids()).toEqual([]);
    recorder.record(record('b'));
    await recorder.flush();
    await written;
    expect(await ids()).toEqual(['a', 'b']);
  });

  it('holds back the waiters of a later batch while the records of a failed one are not written', async () => {
    const { store: s, ids } = await store(1);
    const recorder = new Recorder(s, () => {});
    recorder.record(record('a'));
    const first = recorder.flush(); // will fail
    recorder.record(record('b'));
    let done = false;
    const written = recorder.written().then(() => {
      done = true;
    });
    const second = recorder.flush(); // written, but 'a' is not yet
    await first;
    await second;
    expect(await ids()).toEqual(['b']);
    expect(done).toBe(false);
    await recorder.flush(); // writes 'a' again
    await written;
    expect(await ids()).toEqual(['a', 'b']);
  });
});
