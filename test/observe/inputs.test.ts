/**
 * Inputs kept for replay (observe/inputs, observe/input-batch, observe/retention over a real SQLite
 * file): what is kept of an event and of a request (Gust keys masked, bytes exact), what is not
 * (over the limit: its size only), a batch handed to the worker kept as in one thread, and the
 * inputs pruned for their own time and size. The worker itself: kept-inputs.test.ts.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteInputs } from '../../src/backends/embedded/inputs.js';
import type { KeptInput } from '../../src/backends/ports.js';
import { eventInvocation, httpInvocation, type Invocation } from '../../src/dispatch/invocation.js';
import { packInputs, unpackInputs } from '../../src/observe/input-batch.js';
import { keepInput, replayInput } from '../../src/observe/inputs.js';
import { inputsPrunedLog } from '../../src/observe/prune-log.js';
import { InputPruner, type InputsPruned } from '../../src/observe/retention.js';
import { newTrace } from '../../src/observe/trace-context.js';
import { tempDir } from '../helpers/gust.js';

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
  const inputs = SqliteInputs.open(path.join(await tempDir('gust-inputs-'), 'inputs.db'));
  closers.push(() => inputs.close());
  return inputs;
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

describe('a batch handed to the input worker', () => {
  it('is kept as in one thread: requests made JSON from their fields, events and oversized bodies as they came', () => {
    const list: Invocation[] = [
      request(new Uint8Array([0, 255, 1]), [
        ['authorization', `Bearer ${KEY}`],
        ['x-many', 'one'],
        ['x-many', 'two'],
      ]),
      eventInvocation({
        function: 'g',
        trigger: 'topic',
        trace: newTrace(),
        event: { n: 1, at: new Date(NOW) },
      }),
      request(null),
      request(new Uint8Array(5000)),
      eventInvocation({ function: 'g', trigger: 'invoke', trace: newTrace(), event: 'x'.repeat(2000) }),
    ];
    const batch = packInputs(list, 1024, (e) => {
      throw e;
    });
    expect(batch.count).toBe(5);
    // what waits for the worker: the kept texts, the bodies and requests' urls and headers
    expect(batch.bytes).toBeGreaterThan(3 + 2 * `/items/7?x=1&key=${KEY}`.length);
    expect(batch.bytes).toBeLessThan(1024);
    const cloned = structuredClone(batch); // as postMessage hands it over
    expect(unpackInputs(cloned, 1024)).toEqual(list.map((inv) => keepInput(inv, 1024, batch.keptAt)));
  });

  it('leaves out an event that cannot be made JSON, and says why', () => {
    const circular: { self?: unknown } = {};
    circular.self = circular;
    const errors: unknown[] = [];
    const batch = packInputs(
      [
        eventInvocation({ function: 'f', trigger: 'invoke', trace: newTrace(), event: circular }),
        eventInvocation({ function: 'f', trigger: 'invoke', trace: newTrace(), event: 1 }),
      ],
      1024,
      (e) => errors.push(e),
    );
    expect(batch.count).toBe(1);
    expect(unpackInputs(batch, 1024).map((k) => k.input)).toEqual(['1']);
    expect(String(errors[0])).toMatch(/circular/i);
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
  const told: InputsPruned[] = [];
  const pruner = (store: SqliteInputs, retentionMs: number, maxBytes: number) => {
    told.length = 0;
    const p = new InputPruner(
      store,
      { retentionMs, maxBytes },
      {
        onError: (e) => {
          throw e;
        },
        pruned: (counts) => told.push(counts),
      },
      () => NOW,
    );
    closers.push(() => p.close());
    return p;
  };

  it('go past their retention', async () => {
    const inputs = await open();
    inputs.insert([kept('old', 30 * HOUR), kept('day', 23 * HOUR), kept('new', HOUR)]);
    expect(await pruner(inputs, 24 * HOUR, 1024 ** 3).prune()).toBe(1);
    expect(told).toEqual([{ expired: 1, overSize: 0 }]);
    expect(await inputs.get('old')).toBeUndefined();
    expect(await inputs.get('day')).toBeDefined();
    expect(await inputs.get('new')).toBeDefined();
  });

  it('go oldest first past their size bound, down to 90% of it', async () => {
    const inputs = await open();
    const list = Array.from({ length: 300 }, (_, i) => kept(`e${String(i).padStart(3, '0')}`, 300 - i, 1000));
    inputs.insert(list);
    expect(await inputs.size()).toEqual({ inputs: 300, bytes: 300 * (1000 + 160) });
    const bound = 100 * (1000 + 160);
    expect(await pruner(inputs, 24 * HOUR, bound).prune()).toBe(300 - 90);
    expect(told).toEqual([{ expired: 0, overSize: 300 - 90 }]);
    expect(await inputs.size()).toEqual({ inputs: 90, bytes: 90 * (1000 + 160) });
    expect(await inputs.get('e209')).toBeUndefined();
    expect(await inputs.get('e210')).toBeDefined();
  });

  it('are kept once per invocation id, the first copy (the retries of an event share its id)', async () => {
    const inputs = await open();
    inputs.insert([kept('a', HOUR, 10)]);
    inputs.insert([kept('a', 1, 50), kept('b', 1, 20)]);
    expect(await inputs.get('a')).toMatchObject({ bytes: 10, keptAt: NOW - HOUR });
    expect(await inputs.size()).toEqual({ inputs: 2, bytes: 10 + 20 + 2 * 160 });
  });

  it('all go with a retention of 0', async () => {
    const inputs = await open();
    inputs.insert([kept('a', HOUR), kept('b', 1)]);
    expect(await pruner(inputs, 0, 1024 ** 3).prune()).toBe(2);
    expect(await inputs.size()).toEqual({ inputs: 0, bytes: 0 });
  });
});

describe("the input pruner's line in the platform's log", () => {
  it('is a pass at debug with its counts, as the records pruner says its own', () => {
    const lines: [unknown, string][] = [];
    const say = inputsPrunedLog(
      { debug: (fields: unknown, msg: string) => lines.push([fields, msg]) } as never,
      {
        retentionMs: 86_400_000,
        maxBytes: 256 * 1024 ** 2,
      },
    );
    say({ expired: 120, overSize: 3 });
    expect(lines).toEqual([
      [{ expired: 120, overSize: 3 }, 'pruned 123 inputs kept for replay: 120 past 1d, 3 over 256MB'],
    ]);
  });
});
