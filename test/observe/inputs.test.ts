/**
 * Inputs kept for replay (observe/inputs, observe/records, observe/retention over a real SQLite
 * store): what is kept of an event and of a request (Gust keys masked, bytes exact), what is not
 * (over the limit: its size only), one copy per invocation id, written with the records, and
 * pruned by the record pruner for their own time and size.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInputs } from '../../src/backends/embedded/inputs.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import type { KeptInput } from '../../src/backends/ports.js';
import { eventInvocation, httpInvocation, type Invocation } from '../../src/dispatch/invocation.js';
import { keepInput, replayInput } from '../../src/observe/inputs.js';
import { Recorder } from '../../src/observe/records.js';
import { RecordPruner } from '../../src/observe/retention.js';
import { newTrace } from '../../src/observe/trace-context.js';
import { tempDir } from '../helpers/gust.js';
import { aRecord } from '../helpers/records.js';

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

const KEY = `gust_ABCDEFGHIJKLMNOP_${'s'.repeat(43)}`;
const NOW = Date.parse('2026-11-30T12:00:00Z');

function request(body: Uint8Array | null, headers: [string, string][] = []): Invocation & { kind: 'http' } {
  return httpInvocation({
    function: 'f',
    trigger: 'http',
    trace: newTrace(),
    route: { params: { id: '7' }, routeKey: 'POST /items/{id}' },
    method: 'POST',
    url: `/items/7?x=1&key=${KEY}`,
    headers,
    body,
    sourceIp: '127.0.0.1',
  });
}

async function open() {
  const db = openDatabase(path.join(await tempDir('gust-inputs-'), 'gust.db'));
  closers.push(() => db.close());
  const inputs = new SqliteInputs(db);
  return { db, inputs, invocations: new SqliteInvocations(db, inputs) };
}

describe('what is kept of an invocation', () => {
  it('keeps a request exactly, bytes and repeated headers too, but masks a Gust key wherever it is', () => {
    const bytes = new Uint8Array([0, 255, 1, 128]);
    const inv = request(bytes, [
      ['authorization', `Bearer ${KEY}`],
      ['cookie', 'session=abc'],
      ['x-many', 'one'],
      ['x-many', 'two'],
    ]);
    const kept = keepInput(inv, 1024, NOW);
    expect(kept.input).not.toContain(KEY);
    expect(kept).toMatchObject({ id: inv.id, function: 'f', kind: 'http', keptAt: NOW });
    expect(kept.bytes).toBe(Buffer.byteLength(kept.input!));
    const back = replayInput(kept);
    expect(back).toEqual({
      kind: 'http',
      masked: ['authorization'],
      request: {
        ...inv.request,
        url: '/items/7?x=1&key=gust_ABCDEFGHIJKLMNOP_***',
        headers: [
          ['authorization', 'Bearer gust_ABCDEFGHIJKLMNOP_***'],
          ['cookie', 'session=abc'],
          ['x-many', 'one'],
          ['x-many', 'two'],
        ],
        body: Buffer.from(bytes),
      },
    });
  });

  it('keeps an event as its JSON, and only the size of one over the limit', () => {
    const event = { order: 42, lines: ['a', 'b'] };
    const small = eventInvocation({ function: 'f', trigger: 'topic', trace: newTrace(), event });
    expect(replayInput(keepInput(small, 1024, NOW))).toEqual({ kind: 'event', event });
    const big = eventInvocation({
      function: 'f',
      trigger: 'invoke',
      trace: newTrace(),
      event: 'x'.repeat(2000),
    });
    expect(keepInput(big, 1024, NOW)).toMatchObject({ bytes: 2002, input: null });
    expect(replayInput(keepInput(big, 1024, NOW))).toBeUndefined();
    // a body over the limit is not even encoded: its own size is what is said
    expect(keepInput(request(new Uint8Array(5000)), 1024, NOW)).toMatchObject({ bytes: 5000, input: null });
  });
});

describe('inputs written with the records', () => {
  it('go in the records batch, once per invocation id however many attempts', async () => {
    const { inputs, invocations } = await open();
    const recorder = new Recorder(
      invocations,
      (e) => {
        throw e;
      },
      { inputs: { maxBytes: 1024 } },
    );
    const inv = eventInvocation({ function: 'f', trigger: 'topic', trace: newTrace(), event: { n: 1 } });
    recorder.record(aRecord({ id: inv.id, attempt: 1 }), inv);
    recorder.record(aRecord({ id: inv.id, attempt: 2 }), { ...inv, attempt: 2, event: { n: 2 } });
    expect(await inputs.get(inv.id)).toBeUndefined(); // not before the flush
    await recorder.flush();
    expect(replayInput((await inputs.get(inv.id))!)).toEqual({ kind: 'event', event: { n: 1 } });
    expect(await inputs.size()).toEqual({ inputs: 1, bytes: Buffer.byteLength('{"n":1}') + 160 });
  });

  it('are not kept by a recorder without inputs', async () => {
    const { inputs, invocations } = await open();
    const recorder = new Recorder(invocations, (e) => {
      throw e;
    });
    const inv = eventInvocation({ function: 'f', trigger: 'invoke', trace: newTrace(), event: 1 });
    recorder.record(aRecord({ id: inv.id }), inv);
    await recorder.flush();
    expect(await invocations.get(inv.id)).toBeDefined();
    expect(await inputs.get(inv.id)).toBeUndefined();
  });
});

describe('inputs kept for a time and a size', () => {
  const HOUR = 3_600_000;
  const kept = (id: string, ageMs: number, bytes = 100): KeptInput => ({
    id,
    function: 'f',
    kind: 'event',
    keptAt: NOW - ageMs,
    bytes,
    input: JSON.stringify('x'.repeat(bytes - 2)),
  });
  const pruner = (
    store: SqliteInputs,
    invocations: SqliteInvocations,
    retentionMs: number,
    maxBytes: number,
  ) => {
    const p = new RecordPruner(
      invocations,
      {
        retentionMs: 7 * 24 * HOUR,
        failedRetentionMs: 30 * 24 * HOUR,
        maxBytes: 1024 ** 3,
        inputs: { store, retentionMs, maxBytes },
      },
      {
        onError: (e) => {
          throw e;
        },
      },
      () => NOW,
    );
    closers.push(() => p.close());
    return p;
  };

  it('go past their retention, records staying', async () => {
    const { inputs, invocations } = await open();
    await invocations.add(
      [aRecord({ id: 'old', start: new Date(NOW - 30 * HOUR).toISOString() })],
      [kept('old', 30 * HOUR), kept('day', 23 * HOUR), kept('new', HOUR)],
    );
    expect(await pruner(inputs, invocations, 24 * HOUR, 1024 ** 3).prune()).toBe(1);
    expect(await inputs.get('old')).toBeUndefined();
    expect(await inputs.get('day')).toBeDefined();
    expect(await inputs.get('new')).toBeDefined();
    expect(await invocations.get('old')).toBeDefined();
  });

  it('go oldest first past their size bound, down to 90% of it', async () => {
    const { inputs, invocations } = await open();
    const list = Array.from({ length: 300 }, (_, i) => kept(`e${String(i).padStart(3, '0')}`, 300 - i, 1000));
    await invocations.add([aRecord()], list);
    expect(await inputs.size()).toEqual({ inputs: 300, bytes: 300 * (1000 + 160) });
    const bound = 100 * (1000 + 160);
    expect(await pruner(inputs, invocations, 24 * HOUR, bound).prune()).toBe(300 - 90);
    expect(await inputs.size()).toEqual({ inputs: 90, bytes: 90 * (1000 + 160) });
    expect(await inputs.get('e209')).toBeUndefined();
    expect(await inputs.get('e210')).toBeDefined();
  });

  it('all go when the platform keeps none any more (retention 0)', async () => {
    const { inputs, invocations } = await open();
    await invocations.add([aRecord()], [kept('a', HOUR), kept('b', 1)]);
    expect(await pruner(inputs, invocations, 0, 1024 ** 3).prune()).toBe(2);
    expect(await inputs.size()).toEqual({ inputs: 0, bytes: 0 });
  });
});
