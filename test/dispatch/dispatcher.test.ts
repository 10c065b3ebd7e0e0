/**
 * Dispatcher against real instances (a NodeSandboxFactory over the built sandbox runtime, so
 * `npm run build` first) and real records (SQLite in a temp folder).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import { Dispatcher, type RunnableVersion } from '../../src/dispatch/dispatcher.js';
import { type Invocation, newInvocationId } from '../../src/dispatch/invocation.js';
import { parseManifest } from '../../src/manifest/load.js';
import { Recorder } from '../../src/observe/records.js';
import { NodeSandboxFactory } from '../../src/runtime/node/factory.js';
import { ROOT, tempDir, WAIT } from '../helpers/gust.js';

/** Sleeps `sleepMs`, then answers. */
const WORKER = `export const handler = async (event) => {
  await new Promise((r) => setTimeout(r, event?.sleepMs ?? 0));
  return 'done';
};`;

let factory: NodeSandboxFactory;
let store: SqliteInvocations;
let recorder: Recorder;
let bundlePath: string;
/** Every version a test made, for `loadVersion` (the registry's part). */
const made = new Map<string, RunnableVersion>();
const dispatchers: Dispatcher[] = [];

beforeAll(async () => {
  factory = await NodeSandboxFactory.create({
    runtimeSource: path.join(ROOT, 'dist', 'runtime', 'sandbox'),
    stemCellsPerSize: 1,
    sandboxUid: 65534,
  });
  const dir = await tempDir('gust-dispatcher-');
  bundlePath = path.join(dir, 'worker.mjs');
  await writeFile(bundlePath, WORKER);
  store = new SqliteInvocations(openDatabase(path.join(dir, 'gust.db')));
  recorder = new Recorder(store, (e) => {
    throw e;
  });
});

afterEach(async () => {
  for (const d of dispatchers.splice(0)) await d.close();
  vi.restoreAllMocks();
});

afterAll(async () => {
  await factory?.close();
});

function dispatcher(): Dispatcher {
  const d = new Dispatcher({
    factory,
    recorder,
    secretEnv: () => ({}),
    secretMasks: () => [],
    queuePerFunction: 100,
    loadVersion: async (name, version) => made.get(`${name}@${version}`),
  });
  dispatchers.push(d);
  return d;
}

/** A version of a function with the given gust.yaml settings. */
function version(name: string, n: number, settings: string[] = []): RunnableVersion {
  const yaml = `functions:\n  ${name}:\n    handler: fn.mjs#handler\n${settings.map((s) => `    ${s}\n`).join('')}`;
  const parsed = parseManifest(yaml);
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const v = { spec: parsed.manifest.functions[0]!, version: n, bundlePath };
  made.set(`${name}@${n}`, v);
  return v;
}

function call(name: string, event: unknown = {}, extra: { version?: number } = {}): Invocation {
  return {
    id: newInvocationId(),
    function: name,
    trigger: 'invoke',
    traceId: '0'.repeat(32),
    spanId: '0'.repeat(16),
    parentSpanId: null,
    received: Date.now(),
    kind: 'event',
    event,
    ...extra,
  };
}

async function stored(id: string) {
  await recorder.flush();
  return store.get(id);
}

describe('Dispatcher', () => {
  it('answers a call to a function removed before it was dispatched as rejected, and records it', async () => {
    const d = dispatcher();
    d.activate(version('gone', 1));
    d.remove('gone');
    const { outcome, record } = await d.invoke(call('gone'));
    expect(outcome).toEqual({ type: 'rejected', reason: 'the function was removed' });
    expect(record).toMatchObject({ function: 'gone', status: 'rejected', instance: null, billedMs: 0 });
    expect(await stored(record.id)).toMatchObject({ status: 'rejected', error: 'the function was removed' });
  });

  it('rejects the calls running and waiting when a function is removed with force, billing none of them', async () => {
    const d = dispatcher();
    d.activate(version('leaving', 1, ['scale: { max: 1 }']));
    const running = d.invoke(call('leaving', { sleepMs: 10_000 })); // cut short by the removal
    await vi.waitFor(() => expect(d.instances('leaving')).toBe(1), WAIT);
    const waiting = d.invoke(call('leaving'));
    await new Promise((resolve) => setImmediate(resolve)); // it reached the pool's queue
    const removal = d.remove('leaving', { force: true });
    expect(removal.pending).toBe(2);
    const { outcome, record } = await waiting;
    expect(outcome).toEqual({ type: 'rejected', reason: 'the function was removed' });
    expect(record).toMatchObject({ status: 'rejected', version: 1, instance: null, billedMs: 0 });
    // its instance was stopped on purpose: not a crash of the function
    const cut = await running;
    expect(cut.outcome.type).toBe('rejected');
    expect(cut.record.error).toContain('gust rm --force');
    // it ran until stopped, yet a call recorded rejected is neither billed nor counted as a request
    expect(cut.record.durationMs).toBeGreaterThan(0);
    expect(cut.record).toMatchObject({ billedMs: 0, gbSeconds: 0 });
    await recorder.flush();
    const since = Date.now() - 3_600_000;
    const usage = await store.usage({
      by: 'function',
      function: 'leaving',
      since,
      until: Date.now() + 60_000,
    });
    expect(usage).toEqual([]);
    await removal.done;
    expect(d.instances('leaving')).toBe(0);
  });

  it('lets the calls running and waiting finish when a function is removed, then stops its instances', async () => {
    const d = dispatcher();
    d.activate(version('leaving', 1, ['scale: { max: 1 }']));
    const running = d.invoke(call('leaving', { sleepMs: 1000 }));
    await vi.waitFor(() => expect(d.instances('leaving')).toBe(1), WAIT);
    const waiting = d.invoke(call('leaving'));
    await new Promise((resolve) => setImmediate(resolve)); // it reached the pool's queue
    const removal = d.remove('leaving');
    expect(removal.pending).toBe(2);
    // a call that comes after the removal is refused at once
    expect((await d.invoke(call('leaving'))).outcome.type).toBe('rejected');
    expect((await running).outcome.type).toBe('ok');
    const waited = await waiting;
    expect(waited.outcome.type).toBe('ok');
    // it waited for the first call to finish: that time is queuedMs, not part of its run
    expect(waited.record.queuedMs).toBeGreaterThan(waited.record.durationMs);
    await removal.done;
  });

  it('gives a call that waited for an instance only what is left of its timeout', async () => {
    const d = dispatcher();
    d.activate(version('patient', 1, ['timeout: 3s', 'scale: { max: 1 }']));
    // Warm, so that no cold start eats into the first call's timeout. On a loaded machine a cold
    // start may outlast the 3 s; the instance still starts, and a later call is served warm.
    await vi.waitFor(async () => expect((await d.invoke(call('patient'))).outcome.type).toBe('ok'), WAIT);
    const first = d.invoke(call('patient', { sleepMs: 2000 }));
    const second = d.invoke(call('patient', { sleepMs: 2000 }));
    expect((await first).outcome.type).toBe('ok');
    const { outcome, record } = await second;
    // It waited about 2 s for the instance, so about 1 s was left of its 3 s, not a whole new 3 s
    // (in which its 2 s would have fitted).
    expect(outcome.type).toBe('timeout');
    expect(record.status).toBe('timeout');
    expect(record.durationMs).toBeLessThan(1600);
  });

  it('keeps stem cells for the memory sizes of the active versions only, and forgets a removed one', async () => {
    const prepare = vi.spyOn(factory, 'prepare');
    const d = dispatcher();
    d.activate(version('big', 1, ['memory: 256']));
    expect(prepare).toHaveBeenLastCalledWith([128, 256]);
    d.activate(version('big', 2, ['memory: 512']));
    expect(prepare).toHaveBeenLastCalledWith([128, 512]);
    // A call to the old version by number (Lambda Qualifier) does not bring its size back.
    expect((await d.invoke(call('big', {}, { version: 1 }))).outcome.type).toBe('ok');
    d.activate(version('small', 1));
    expect(prepare).toHaveBeenLastCalledWith([128, 512]);
    d.remove('big');
    expect(prepare).toHaveBeenLastCalledWith([128]);
  });
});
