/**
 * Pool against real instances: a NodeSandboxFactory (real child processes, the built sandbox runtime
 * from dist/, so `npm run build` first) over tiny bundles written to a temp folder.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Lease, Pool, type PoolLimits, type Slot } from '../../src/dispatch/pool.js';
import { NodeSandboxFactory } from '../../src/runtime/node/factory.js';
import type { InvokeOutcome, LoadSpec, SandboxFactory, StartOutcome } from '../../src/runtime/types.js';
import { livePids, ROOT, tempDir, WAIT } from '../helpers/gust.js';

/** Sleeps `sleepMs`, or exits the process on `exit`; answers with how many calls ran at once at most. */
const WORKER = `
let running = 0;
let peak = 0;
export const handler = async (event) => {
  running++;
  peak = Math.max(peak, running);
  try {
    if (event.exit) setTimeout(() => process.exit(3), 50);
    await new Promise((r) => setTimeout(r, event.sleepMs ?? 0));
    return { peak };
  } finally {
    running--;
  }
};
`;
const THROWS_AT_LOAD = `throw new Error('no database url'); export const handler = async () => 1;`;
/** Loads, then exits 20 ms later, call or no call. */
const EXITS_SOON = `setTimeout(() => process.exit(1), 20); export const handler = async () => 1;`;
/** Takes 5 s to load. */
const SLOW_INIT = `await new Promise((r) => setTimeout(r, 5000)); export const handler = async () => 1;`;

let factory: NodeSandboxFactory;
let dir: string;
let versions = 0;
const pools: Pool[] = [];

beforeAll(async () => {
  factory = await NodeSandboxFactory.create({
    runtimeSource: path.join(ROOT, 'dist', 'runtime', 'sandbox'),
    stemCellsPerSize: 1,
    sandboxUid: 65534,
  });
  factory.prepare([128]);
  dir = await tempDir('gust-pool-');
  await writeFile(path.join(dir, 'worker.mjs'), WORKER);
  await writeFile(path.join(dir, 'throws.mjs'), THROWS_AT_LOAD);
  await writeFile(path.join(dir, 'exits.mjs'), EXITS_SOON);
  await writeFile(path.join(dir, 'slow.mjs'), SLOW_INIT);
});

afterEach(() => {
  for (const p of pools.splice(0)) p.close();
});

afterAll(async () => {
  await factory?.close();
});

/** A pool of a new version (each test its own), closed after the test. */
function pool(
  limits: Partial<PoolLimits>,
  opts: { bundle?: string; onEmpty?: () => void; via?: SandboxFactory } = {},
) {
  const spec: LoadSpec = {
    fn: {
      name: 'unit',
      version: ++versions,
      memoryMb: 128,
      timeoutMs: 10_000,
      concurrency: limits.concurrency ?? 1,
    },
    bundlePath: path.join(dir, opts.bundle ?? 'worker.mjs'),
    exportName: undefined,
    env: {},
  };
  const all: PoolLimits = { concurrency: 1, min: 0, max: 10, idleMs: 60_000, queue: 100, ...limits };
  const p = new Pool(opts.via ?? factory, spec, all, opts.onEmpty);
  pools.push(p);
  return p;
}

const soon = (ms = 10_000) => Date.now() + ms;

function ok(lease: Lease): Extract<Lease, { type: 'ok' }> {
  if (lease.type !== 'ok') throw new Error(`expected a lease, got ${JSON.stringify(lease)}`);
  return lease;
}

let ids = 0;
function run(slot: Slot, event: { sleepMs?: number; exit?: boolean } = {}): Promise<InvokeOutcome> {
  return slot.sandbox.invoke({
    id: `inv-${++ids}`,
    deadline: soon(),
    attempt: 1,
    traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
    kind: 'event',
    event,
  });
}

/**
 * The real factory, counting the instances it is asked to start, and the starts that finished
 * (with when each began and ended, by Date.now()).
 */
function counting(inner: SandboxFactory): SandboxFactory & {
  starts: number;
  finished: number;
  startedAt: number[];
  finishedAt: number[];
} {
  return {
    starts: 0,
    finished: 0,
    startedAt: [],
    finishedAt: [],
    async start(spec) {
      this.starts++;
      this.startedAt.push(Date.now());
      const outcome = await inner.start(spec);
      this.finished++;
      this.finishedAt.push(Date.now());
      return outcome;
    },
    prepare: (sizes) => inner.prepare(sizes),
    close: () => inner.close(),
  };
}

/** A timer may fire a millisecond early as Date.now() sees it. */
const TIMER_SLACK_MS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The promise's state without waiting for it. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  const marker = Symbol('pending');
  return (await Promise.race([p, new Promise((r) => setTimeout(() => r(marker), 50))])) !== marker;
}

describe('Pool with real instances', () => {
  it('starts an instance for the first caller, whose lease is cold, then serves the next warm on it', async () => {
    const p = pool({});
    const first = ok(await p.acquire(soon()));
    expect(first.cold).toBe(true);
    expect(first.initMs).toBeGreaterThan(0);
    expect((await run(first.slot)).type).toBe('ok');
    p.release(first.slot);

    const second = ok(await p.acquire(soon()));
    expect(second.cold).toBe(false);
    expect(second.initMs).toBe(0);
    expect(second.slot.sandbox.id).toBe(first.slot.sandbox.id);
    expect(p.size).toBe(1);
    p.release(second.slot);
  });

  it('serves up to `concurrency` calls at once on one instance before starting another', async () => {
    const p = pool({ concurrency: 3 });
    const leases = (await Promise.all([1, 2, 3].map(() => p.acquire(soon())))).map(ok);
    expect(new Set(leases.map((l) => l.slot.sandbox.id)).size).toBe(1);
    const outcomes = await Promise.all(leases.map((l) => run(l.slot, { sleepMs: 200 })));
    expect(outcomes.map((o) => o.type === 'ok' && JSON.parse(o.json!).peak)).toContain(3);

    const fourth = ok(await p.acquire(soon()));
    expect(fourth.slot.sandbox.id).not.toBe(leases[0]!.slot.sandbox.id);
    expect(p.size).toBe(2);
    for (const l of [...leases, fourth]) p.release(l.slot);
  });

  it('starts no more than `max` instances; the callers past them wait for a release', async () => {
    const p = pool({ max: 2 });
    const acquired = [1, 2, 3, 4, 5].map(() => p.acquire(soon()));
    const [a, b] = (await Promise.all(acquired.slice(0, 2))).map(ok);
    expect(a!.slot).not.toBe(b!.slot);
    expect(await settled(acquired[2]!)).toBe(false);
    expect(p.size).toBe(2);

    p.release(a!.slot);
    const c = ok(await acquired[2]!);
    expect(c.slot).toBe(a!.slot);
    expect(c.cold).toBe(false);
    p.release(b!.slot);
    p.release(c.slot);
    for (const l of (await Promise.all(acquired.slice(3))).map(ok)) p.release(l.slot);
    expect(p.size).toBe(2);
  });

  it('throttles a caller at once when the wait queue is full', async () => {
    const p = pool({ max: 1, queue: 1 });
    const held = ok(await p.acquire(soon()));
    const waiting = p.acquire(soon());
    expect(await p.acquire(soon())).toMatchObject({
      type: 'throttled',
      reason: expect.stringMatching(/queue is full/),
    });
    p.release(held.slot);
    p.release(ok(await waiting).slot);
  });

  it('starts as many instances as the waiting callers need, and throttles only past max x concurrency + queue', async () => {
    const p = pool({ concurrency: 10, max: 6, queue: 20 });
    const acquired = Array.from({ length: 81 }, () => p.acquire(soon()));
    expect(await acquired[80]).toMatchObject({
      type: 'throttled',
      reason: expect.stringMatching(/queue is full/),
    });
    const first = (await Promise.all(acquired.slice(0, 60))).map(ok);
    expect(new Set(first.map((l) => l.slot)).size).toBe(6);
    expect(p.size).toBe(6);
    expect(await settled(acquired[60]!)).toBe(false);
    for (const l of first) p.release(l.slot);
    for (const l of (await Promise.all(acquired.slice(60, 80))).map(ok)) p.release(l.slot);
    expect(p.size).toBe(6);
  });

  it('ends a waiter as timeout, not throttled, when the instance started for it is not ready by its deadline', async () => {
    const p = pool({ max: 1 }, { bundle: 'slow.mjs' });
    const started = Date.now();
    expect(await p.acquire(Date.now() + 300)).toMatchObject({
      type: 'timeout',
      reason: expect.stringMatching(/start/),
    });
    // At its deadline, long before the slow module could have loaded (a margin for a loaded machine).
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('throttles a waiter whose deadline passes before an instance is free', async () => {
    const p = pool({ max: 1 });
    const held = ok(await p.acquire(soon()));
    const lease = await p.acquire(Date.now() + 200);
    expect(lease).toMatchObject({ type: 'throttled', reason: expect.stringMatching(/before the timeout/) });
    // The expired waiter left the queue: the next caller gets the instance as soon as it is free.
    p.release(held.slot);
    const next = ok(await p.acquire(soon()));
    expect(next.slot).toBe(held.slot);
    p.release(next.slot);
  });

  it('stops an instance idle for `idleMs` (scale to zero); the next caller gets a new, cold one', async () => {
    const p = pool({ idleMs: 150 });
    const first = ok(await p.acquire(soon()));
    p.release(first.slot);
    await first.slot.sandbox.exited;
    expect(p.size).toBe(0);
    expect(await livePids(first.slot.sandbox.id)).toEqual([]);

    const second = ok(await p.acquire(soon()));
    expect(second.cold).toBe(true);
    expect(second.slot.sandbox.id).not.toBe(first.slot.sandbox.id);
    p.release(second.slot);
  });

  it('keeps `min` instances started ahead of any call, warm, and does not stop them when idle', async () => {
    const p = pool({ min: 1, idleMs: 100 });
    await vi.waitFor(() => expect(p.size).toBe(1), WAIT);
    const lease = ok(await p.acquire(soon()));
    expect(lease.cold).toBe(false);
    p.release(lease.slot);
    // Shows something does not happen: four idle timeouts pass and the instance is still there.
    await new Promise((r) => setTimeout(r, 400));
    expect(p.size).toBe(1);
    expect(await settled(lease.slot.sandbox.exited)).toBe(false);
  });

  it('goes back down to `min` when the extra instances are idle', async () => {
    const p = pool({ min: 1, idleMs: 100 });
    const leases = (await Promise.all([1, 2, 3].map(() => p.acquire(soon())))).map(ok);
    expect(p.size).toBe(3);
    for (const l of leases) p.release(l.slot);
    await vi.waitFor(() => expect(p.size).toBe(1), WAIT);
    // ...and stays there: three idle timeouts later, still `min`.
    await new Promise((r) => setTimeout(r, 300));
    expect(p.size).toBe(1);
  });

  it('starts warm instances when told to keep more (a version that becomes active)', async () => {
    const p = pool({ min: 0 });
    expect(p.size).toBe(0);
    p.keepWarm(2);
    await vi.waitFor(() => expect(p.size).toBe(2), WAIT);
    const lease = ok(await p.acquire(soon()));
    expect(lease.cold).toBe(false);
    p.release(lease.slot);
  });

  it('replaces at once a `min` instance that dies after it lasted', async () => {
    // A replacement counted as a failed start would come only after firstMs, past any wait here.
    const restarts = { earlyExitMs: 200, firstMs: 60_000, maxMs: 60_000, tries: 3 };
    const p = pool({ min: 1, restarts });
    await vi.waitFor(() => expect(p.size).toBe(1), WAIT);
    await sleep(300); // the instance lasts past earlyExitMs: time is what this test is about
    const lease = ok(await p.acquire(soon()));
    expect((await run(lease.slot, { exit: true, sleepMs: 5000 })).type).toBe('crashed');
    p.release(lease.slot);
    await vi.waitFor(() => expect(p.size).toBe(1), WAIT);
    const next = ok(await p.acquire(soon()));
    expect(next.slot.sandbox.id).not.toBe(lease.slot.sandbox.id);
    expect(next.cold).toBe(false);
    p.release(next.slot);
  });

  it('restarts a `min` instance that keeps dying soon after its start later each time, not at once', async () => {
    const via = counting(factory);
    pool({ min: 1 }, { bundle: 'exits.mjs', via });
    // Each instance dies 20 ms after it loaded; the next start comes 1 s, then 2 s after that death
    // (RESTARTS), without a backoff at once. Measured from each start's end, which precedes the death.
    await vi.waitFor(() => expect(via.startedAt).toHaveLength(3), WAIT);
    expect(via.startedAt[1]! - via.finishedAt[0]!).toBeGreaterThanOrEqual(1000 - TIMER_SLACK_MS);
    expect(via.startedAt[2]! - via.finishedAt[1]!).toBeGreaterThanOrEqual(2000 - TIMER_SLACK_MS);
  });

  it('stops restarting `min` instances after `tries` early deaths in a row; a call still starts one', async () => {
    const via = counting(factory);
    const p = pool(
      { min: 1, restarts: { earlyExitMs: 5000, firstMs: 50, maxMs: 100, tries: 3 } },
      { bundle: 'exits.mjs', via },
    );
    // Once at first, then `tries` times, each dying soon after it loaded; then no more.
    await vi.waitFor(() => expect(via.finished).toBe(4), WAIT);
    await vi.waitFor(() => expect(p.size).toBe(0), WAIT);
    await sleep(1200); // shows that no start follows: past any restart delay (100 ms at most here)
    expect(via.starts).toBe(4);
    const lease = ok(await p.acquire(soon()));
    expect(lease.cold).toBe(true);
    expect(via.starts).toBe(5);
    p.release(lease.slot);
  });

  it('retries a `min` instance whose module throws at load a bounded number of times', async () => {
    const via = counting(factory);
    const p = pool(
      { min: 1, restarts: { earlyExitMs: 5000, firstMs: 50, maxMs: 100, tries: 3 } },
      { bundle: 'throws.mjs', via },
    );
    await vi.waitFor(() => expect(via.finished).toBe(4), WAIT);
    await sleep(1200); // shows that no start follows: past any restart delay (100 ms at most here)
    expect(via.starts).toBe(4);
    expect(await p.acquire(soon())).toMatchObject({
      type: 'initError',
      error: { message: 'no database url' },
    });
    expect(via.starts).toBe(5);
  });

  it('hands the callers waiting for an instance that dies to a new instance', async () => {
    const p = pool({ max: 1 });
    const dying = ok(await p.acquire(soon()));
    const waiting = [p.acquire(soon()), p.acquire(soon())];
    const outcome = await run(dying.slot, { exit: true, sleepMs: 5000 });
    expect(outcome).toMatchObject({ type: 'crashed', reason: expect.stringMatching(/exited with code 3/) });
    p.release(dying.slot);

    const next = ok(await waiting[0]!);
    expect(next.slot.sandbox.id).not.toBe(dying.slot.sandbox.id);
    expect((await run(next.slot)).type).toBe('ok');
    p.release(next.slot);
    const last = ok(await waiting[1]!);
    expect(last.slot).toBe(next.slot);
    p.release(last.slot);
  });

  it('on drain, lets in-flight calls finish, then stops the instances and reports empty', async () => {
    const onEmpty = vi.fn();
    const p = pool({}, { onEmpty });
    const busy = ok(await p.acquire(soon()));
    const idle = ok(await p.acquire(soon()));
    const running = run(busy.slot, { sleepMs: 300 });
    p.release(idle.slot);
    p.drain();
    await idle.slot.sandbox.exited;
    expect(p.size).toBe(1);
    expect(onEmpty).not.toHaveBeenCalled();

    expect((await running).type).toBe('ok');
    p.release(busy.slot);
    await busy.slot.sandbox.exited;
    expect(p.size).toBe(0);
    expect(onEmpty).toHaveBeenCalledTimes(1);
  });

  it('on drain, stops an instance that was still starting and reports empty', async () => {
    const onEmpty = vi.fn();
    const p = pool({ min: 1 }, { onEmpty });
    p.drain();
    await vi.waitFor(() => expect(onEmpty).toHaveBeenCalledTimes(1), WAIT);
    expect(p.size).toBe(0);
  });

  it('does not lease an instance that no longer accepts calls (stopped, timed out, dying)', async () => {
    const p = pool({ concurrency: 2, max: 2 });
    const first = ok(await p.acquire(soon()));
    first.slot.sandbox.stop();
    expect(p.tryAcquire()).toBeUndefined();
    const next = ok(await p.acquire(soon()));
    expect(next.slot).not.toBe(first.slot);
    expect((await run(next.slot)).type).toBe('ok');
    p.release(first.slot);
    p.release(next.slot);
  });

  it('on close, rejects the waiters (the function was removed) and stops every instance', async () => {
    const p = pool({ max: 1 });
    const held = ok(await p.acquire(soon()));
    const waiting = p.acquire(soon());
    p.close();
    expect(await waiting).toMatchObject({ type: 'rejected', reason: 'the function was removed' });
    await held.slot.sandbox.exited;
    expect(p.size).toBe(0);
  });

  it('gives every caller an initError with the message when the module throws at load', async () => {
    const p = pool({ max: 2 }, { bundle: 'throws.mjs' });
    const leases = await Promise.all([1, 2, 3].map(() => p.acquire(soon())));
    for (const lease of leases) {
      expect(lease).toMatchObject({
        type: 'initError',
        crashed: false,
        error: { message: 'no database url' },
      });
    }
    expect(p.size).toBe(0);
  });
});

describe('Pool with a fake factory', () => {
  // A fake SandboxFactory, only because a real instance that dies at start every time on demand
  // cannot be produced through the real factory (it dies only after the function's module loaded).
  function crashingFactory(): SandboxFactory & { starts: number } {
    return {
      starts: 0,
      async start(): Promise<StartOutcome> {
        this.starts++;
        await new Promise((r) => setTimeout(r, 10));
        return { type: 'crashed', reason: 'the instance was killed by SIGKILL' };
      },
      prepare() {},
      async close() {},
    };
  }

  it('gives every waiter an initError once instances died at start three times in a row', async () => {
    const crashing = crashingFactory();
    const p = pool({ max: 1 }, { via: crashing });
    const leases = await Promise.all([1, 2, 3, 4].map(() => p.acquire(soon())));
    for (const lease of leases) {
      expect(lease).toMatchObject({ type: 'initError', crashed: true, error: { message: /SIGKILL/ } });
    }
    // It gave up after three: no new process per waiter.
    expect(crashing.starts).toBe(3);
  });
});
