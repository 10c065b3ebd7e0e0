/**
 * The inputs' worker (observe/kept-inputs, observe/input-worker over a real SQLite file, the built
 * worker in dist/): inputs handed over at the records' flush are found by the next read, once per
 * invocation id; close() writes what is still waiting and the file keeps it for the next start;
 * past the bound of what may wait, inputs are dropped and said, never kept in memory; a file it
 * cannot open is said, and reads say why they fail.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInputs } from '../../src/backends/embedded/inputs.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import { eventInvocation, type Invocation } from '../../src/dispatch/invocation.js';
import { replayInput } from '../../src/observe/inputs.js';
import { KeptInputs, type KeptInputsOptions } from '../../src/observe/kept-inputs.js';
import { Recorder } from '../../src/observe/records.js';
import { newTrace } from '../../src/observe/trace-context.js';
import { tempDir } from '../helpers/gust.js';
import { aRecord } from '../helpers/records.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const event = (data: unknown): Invocation & { kind: 'event' } =>
  eventInvocation({ function: 'f', trigger: 'topic', trace: newTrace(), event: data });

async function start(opts: Partial<KeptInputsOptions> = {}) {
  const file = opts.file ?? path.join(await tempDir('gust-kept-'), 'inputs.db');
  const errors: unknown[] = [];
  const inputs = KeptInputs.start({
    file,
    maxEventBytes: 1024,
    retentionMs: 86_400_000,
    maxBytes: 1024 ** 3,
    onError: (e) => errors.push(e),
    ...opts,
  });
  cleanup.push(() => inputs.close());
  return { inputs, file, errors };
}

describe('inputs kept by their worker', () => {
  it('are handed over at the records flush, found by the next read, once per invocation id', async () => {
    const { inputs, errors } = await start();
    const db = openDatabase(path.join(await tempDir('gust-kept-'), 'gust.db'));
    cleanup.push(() => db.close());
    const recorder = new Recorder(
      new SqliteInvocations(db),
      (e) => {
        throw e;
      },
      { inputs },
    );
    const inv = event({ n: 1 });
    recorder.record(aRecord({ id: inv.id, attempt: 1 }), inv);
    recorder.record(aRecord({ id: inv.id, attempt: 2 }), { ...inv, attempt: 2, event: { n: 2 } });
    expect(await inputs.get(inv.id)).toBeUndefined(); // not before the flush
    await recorder.flush();
    expect(replayInput((await inputs.get(inv.id))!)).toEqual({ kind: 'event', event: { n: 1 } });
    expect(await inputs.size()).toEqual({ inputs: 1, bytes: Buffer.byteLength('{"n":1}') + 160 });
    expect(errors).toEqual([]);
  });

  it('close() writes what is still waiting; the file keeps it for the next start', async () => {
    const { inputs, file } = await start();
    const list = Array.from({ length: 2000 }, (_, i) => event({ i }));
    inputs.keep(list); // handed over, not written yet
    await inputs.close();
    const again = await start({ file });
    expect(await again.inputs.size()).toEqual({ inputs: 2000, bytes: expect.any(Number) });
    expect(replayInput((await again.inputs.get(list[1999]!.id))!)).toEqual({
      kind: 'event',
      event: { i: 1999 },
    });
  });

  it('drops what is past the bound of inputs waiting for the worker, and says so', async () => {
    const { inputs, errors } = await start({ waiting: { count: 2, bytes: 1024 ** 2 } });
    const first = [event(1), event(2)];
    const late = event(3);
    inputs.keep(first);
    inputs.keep([late]); // before the worker said it wrote the first two
    expect(await inputs.get(first[1]!.id)).toBeDefined();
    expect(await inputs.get(late.id)).toBeUndefined();
    expect(errors.map(String)).toEqual([
      expect.stringContaining(
        '1 input(s) dropped, more than their writer kept up with (2 inputs or 1 MB waiting); those invocations cannot be replayed',
      ),
    ]);
    // once the worker caught up, inputs are kept again
    const after = event(4);
    inputs.keep([after]);
    expect(await inputs.get(after.id)).toBeDefined();
  });

  it('says so when its file was written by a newer Gust, and then keeps nothing and reads fail', async () => {
    const file = path.join(await tempDir('gust-kept-'), 'inputs.db');
    SqliteInputs.open(file).close();
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    const { inputs, errors } = await start({ file });
    const why = `the database ${file} was written by a newer Gust (schema 99, this one knows 1): upgrade Gust`;
    await expect(inputs.get('any')).rejects.toThrow(`the inputs kept for replay cannot be read: ${why}`);
    inputs.keep([event(1)]);
    expect(errors.map(String)).toEqual([`Error: ${why}`, expect.stringContaining('1 input(s) dropped')]);
  });
});
