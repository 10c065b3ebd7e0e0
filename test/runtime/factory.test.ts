/**
 * NodeSandboxFactory and NodeInstance against real child processes (the built sandbox runtime
 * from dist/, so `npm run build` first): what happens when starting fails, never finishes, or an
 * instance stops taking work.
 */
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type NodeFactoryOptions, NodeSandboxFactory } from '../../src/runtime/node/factory.js';
import { INLINE_MAP_PREFIX } from '../../src/runtime/sandbox/sourcemap.js';
import type { LoadSpec, Sandbox, StartOutcome } from '../../src/runtime/types.js';
import { livePids, ROOT, tempDir, WAIT } from '../helpers/gust.js';

const RUNTIME = path.join(ROOT, 'dist', 'runtime', 'sandbox');

const BUNDLES: Record<string, string> = {
  'worker.mjs': `import { writeSync } from 'node:fs';
export const handler = async (event) => {
  if (event.spin) while (true) {}
  // fd 3 is the instance's channel: a batch per line
  if (event.forgeNull) writeSync(3, 'null\\n');
  await new Promise((r) => setTimeout(r, event.sleepMs ?? 0));
  return 'done';
};`,
  'spins-at-load.mjs': `while (true) {}\nexport const handler = async () => 1;`,
  'waits-at-load.mjs': `await new Promise(() => {});\nexport const handler = async () => 1;`,
  // Line 1 of the bundle comes from line 7, column 3 of src/thrower.ts (one segment: AAME).
  'mapped.mjs': `export const handler = async () => { throw new Error('mapped'); };\n${INLINE_MAP_PREFIX}${Buffer.from(
    JSON.stringify({ version: 3, sources: ['src/thrower.ts'], names: [], mappings: 'AAME' }),
  ).toString('base64')}\n`,
};

let dir: string;
let versions = 0;
const factories: NodeSandboxFactory[] = [];

beforeAll(async () => {
  dir = await tempDir('gust-factory-');
  for (const [name, code] of Object.entries(BUNDLES)) await writeFile(path.join(dir, name), code);
});

afterEach(async () => {
  await Promise.all(factories.splice(0).map((f) => f.close()));
});

/** A factory and the run folder it made (found as the one new `gust-run-<our pid>-` folder). */
async function factory(opts: Partial<NodeFactoryOptions> = {}) {
  const mine = async () =>
    (await readdir(os.tmpdir())).filter((n) => n.startsWith(`gust-run-${process.pid}-`));
  const before = new Set(await mine());
  const f = await NodeSandboxFactory.create({
    runtimeSource: RUNTIME,
    stemCellsPerSize: 0,
    sandboxUid: 65534,
    ...opts,
  });
  factories.push(f);
  const runDir = (await mine()).find((n) => !before.has(n));
  if (!runDir) throw new Error('the factory made no run folder');
  return { f, runDir: path.join(os.tmpdir(), runDir) };
}

function spec(bundle: string, fn: Partial<LoadSpec['fn']> = {}): LoadSpec {
  return {
    fn: { name: 'unit', version: ++versions, memoryMb: 128, timeoutMs: 10_000, concurrency: 1, ...fn },
    bundlePath: path.join(dir, bundle),
    exportName: undefined,
    env: {},
  };
}

function started(outcome: StartOutcome): Sandbox {
  if (outcome.type !== 'ok') throw new Error(`expected an instance, got ${JSON.stringify(outcome)}`);
  return outcome.sandbox;
}

let ids = 0;
function run(sandbox: Sandbox, event: Record<string, unknown>, deadlineMs = 10_000) {
  return sandbox.invoke({
    id: `inv-${++ids}`,
    deadline: Date.now() + deadlineMs,
    attempt: 1,
    traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`,
    kind: 'event',
    event,
  });
}

const noCells = async (runDir: string) =>
  vi.waitFor(async () => expect(await livePids(runDir)).toEqual([]), WAIT);

describe('starting an instance never rejects', () => {
  it('a bundle that does not exist is a crashed start whose reason names the bundle', async () => {
    const { f, runDir } = await factory();
    const outcome = await f.start(spec('missing.mjs'));
    expect(outcome).toMatchObject({
      type: 'crashed',
      reason: expect.stringMatching(/bundle could not be put in the instance: ENOENT.*missing\.mjs/),
    });
    await noCells(runDir);
  });

  it('a cell whose folder cannot be made is a crashed start, and a stem cell that failed so is tried again later', async () => {
    const { f, runDir } = await factory({ stemCellsPerSize: 1 });
    const cells = path.join(runDir, 'cells');
    await rename(cells, `${cells}.away`);
    await writeFile(cells, 'not a folder');

    expect(await f.start(spec('worker.mjs', { memoryMb: 96 }))).toMatchObject({
      type: 'crashed',
      reason: expect.stringMatching(/could not start: .*(ENOTDIR|EEXIST)/),
    });
    f.prepare([96]);
    // Shows that nothing starts: no retry of the failed stem cell within this time.
    await new Promise((r) => setTimeout(r, 300));
    expect(await livePids(runDir)).toEqual([]);

    await rm(cells);
    await rename(`${cells}.away`, cells);
    f.prepare([96]);
    await vi.waitFor(async () => expect(await livePids(runDir)).toHaveLength(1), WAIT);
  });
});

describe('a start that never finishes', () => {
  it.each(['spins-at-load.mjs', 'waits-at-load.mjs'])(
    '%s ends as an InitTimeout error once most of the function timeout has passed, and its cell is killed',
    async (bundle) => {
      const { f, runDir } = await factory();
      const t0 = performance.now();
      const outcome = await f.start(spec(bundle, { timeoutMs: 500 }));
      expect(outcome).toMatchObject({
        type: 'error',
        error: { name: 'InitTimeout', message: 'the module did not finish loading within 450 ms' },
      });
      // 450 ms and the start of a process, which a loaded machine slows: bounded, with room for that.
      expect(performance.now() - t0).toBeLessThan(9000);
      await noCells(runDir);
    },
  );

  it('a cell that never says ready is a crashed start, and it is killed', async () => {
    const mute = await tempDir('gust-mute-runtime-');
    await writeFile(
      path.join(mute, 'main.js'),
      `process.on('disconnect', () => process.exit(0));\nsetInterval(() => {}, 60_000);\n`,
    );
    const { f, runDir } = await factory({ runtimeSource: mute, readyTimeoutMs: 300 });
    expect(await f.start(spec('worker.mjs'))).toMatchObject({
      type: 'crashed',
      reason: 'the instance did not become ready within 300 ms',
    });
    await noCells(runDir);
  });
});

describe('an instance takes new invocations only while it can serve them', () => {
  it('is accepting once started, and not from the moment it is stopped', async () => {
    const { f } = await factory();
    const sandbox = started(await f.start(spec('worker.mjs')));
    expect(sandbox.accepting).toBe(true);
    expect(await run(sandbox, {})).toMatchObject({ type: 'ok', json: '"done"' });
    sandbox.stop();
    expect(sandbox.accepting).toBe(false);
    await sandbox.exited;
    expect(sandbox.accepting).toBe(false);
  });

  it('is not accepting once a timeout killed it; the other invocation on it ends as crashed', async () => {
    const { f } = await factory();
    const sandbox = started(await f.start(spec('worker.mjs', { concurrency: 2 })));
    const sleeping = run(sandbox, { sleepMs: 5000 });
    const spinning = run(sandbox, { spin: true }, 300);
    await vi.waitFor(() => expect(sandbox.accepting).toBe(false), WAIT);
    expect(await spinning).toMatchObject({ type: 'timeout' });
    expect(await sleeping).toMatchObject({ type: 'crashed' });
  });

  it('is not accepting after a protocol violation, which ends its invocation as crashed', async () => {
    const { f } = await factory();
    const sandbox = started(await f.start(spec('worker.mjs')));
    const outcome = await run(sandbox, { forgeNull: true, sleepMs: 5000 });
    expect(outcome).toMatchObject({
      type: 'crashed',
      reason: 'protocol violation: a message batch is null, not an array',
    });
    expect(sandbox.accepting).toBe(false);
  });
});

describe('the bundle an instance loads', () => {
  it('is the code alone: its inline source map is split off beside it, and read only for a stack', async () => {
    const { f, runDir } = await factory();
    const sandbox = started(await f.start(spec('mapped.mjs')));
    const outcome = await run(sandbox, {});
    expect(outcome).toMatchObject({ type: 'error', error: { message: 'mapped' } });
    expect(outcome.type === 'error' && outcome.error.stack).toBe(
      'Error: mapped\n    at handler (src/thrower.ts:7:3)',
    );
    const cell = path.join(runDir, 'cells', sandbox.id);
    expect(await readFile(path.join(cell, 'fn.mjs'), 'utf8')).toBe(
      BUNDLES['mapped.mjs']!.split(INLINE_MAP_PREFIX)[0],
    );
    expect(JSON.parse(await readFile(path.join(cell, 'fn.mjs.map'), 'utf8'))).toMatchObject({
      sources: ['src/thrower.ts'],
    });
  });
});
