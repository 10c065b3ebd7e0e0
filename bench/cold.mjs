/**
 * The cold-start scenario alone (about a minute): what a change to the module load costs, without
 * the throughput rounds. Two functions, each scaled to zero between runs: `cold` (the hello of
 * run.mjs) and `cold-big` (a TypeScript handler of about 700 kB bundled), because what a
 * module load costs beyond the fixed path grows with the bundle.
 * Prints p50/p99 of request -> first byte and the p50 of the record's initMs, and writes
 * bench/results/cold.json (or BENCH_COLD_OUT). Settings: BENCH_COLD_RUNS (20).
 * Then what the sandbox's isolation costs a process start (spawn -> `ready` of one cell, the
 * built runtime, alternating kinds): `shared` (a plain permission-model process), `namespaces` (its
 * own user and PID namespaces: what a platform not run as root starts), the same with a network
 * namespace (`egress: none`), and, as root, `uid` (setpriv to another uid). Stem cells take this off
 * the cold start (they are started ahead); a cold start pays it when no stem cell is ready, and a
 * function with `egress: none` always does. Settings: BENCH_CELL_RUNS (40). Last, the wrappers
 * alone (each running /bin/true instead of node, 10 times as many runs): the namespaces' own cost,
 * without node's boot and its noise.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDirs, startGust, writeProject } from './lib/gust.mjs';
import { stopAll } from './lib/procs.mjs';
import { percentile } from './lib/stats.mjs';
import { fmt, table } from './lib/table.mjs';
import { coldStart } from './scenarios/cold-start.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('BENCH_COLD_RUNS must be a whole number >= 1');
const CELL_RUNS = Number(process.env.BENCH_CELL_RUNS ?? 40);
if (!Number.isInteger(CELL_RUNS) || CELL_RUNS < 0)
  throw new Error('BENCH_CELL_RUNS must be a whole number >= 0');
const OUT = process.env.BENCH_COLD_OUT ?? path.join(HERE, 'results', 'cold.json');

const HELLO = "export default async function () {\n  return Response.json({ hello: 'world' });\n}\n";

/** Many small functions reached through a table, so that none is dropped as unused. */
function bigHandler(count) {
  const lines = [];
  for (let i = 0; i < count; i++) {
    lines.push(
      `function step${i}(input: { n: number; tag: string }): { n: number; tag: string } {`,
      `  const next = input.n * ${(i % 7) + 2} + ${i};`,
      `  return { n: next % 1000003, tag: input.tag.length > 20 ? 'step${i}' : input.tag + '${i % 10}' };`,
      '}',
    );
  }
  lines.push(`const steps = [${Array.from({ length: count }, (_, i) => `step${i}`).join(', ')}];`);
  lines.push(
    'export default async function (): Promise<Response> {',
    "  const out = steps.slice(0, 3).reduce((acc, step) => step(acc), { n: 1, tag: '' });",
    "  return Response.json({ hello: 'world', n: out.n });",
    '}',
  );
  return `${lines.join('\n')}\n`;
}

const MANIFEST = `functions:
  cold:
    handler: hello.mjs
    memory: 256
    scale: { min: 0, max: 1, idle: 200ms }
    triggers:
      - http: { path: /cold, methods: [GET] }
  cold-big:
    handler: big.ts
    memory: 256
    scale: { min: 0, max: 1, idle: 200ms }
    triggers:
      - http: { path: /cold-big, methods: [GET] }
`;

const progress = (text) => process.stderr.write(`  .. ${text}\n`);

async function main() {
  const dir = await writeProject({ 'hello.mjs': HELLO, 'big.ts': bigHandler(4000), 'gust.yaml': MANIFEST });
  const g = await startGust({ dir });
  const results = { date: new Date().toISOString(), runs: RUNS };
  for (const name of ['cold', 'cold-big']) {
    results[name] = await coldStart({ g, name, runs: RUNS, settleMs: 100, progress });
  }
  console.log(
    table(
      ['function', 'cold p50 ms', 'cold p99 ms', 'initMs p50', 'warm p50 ms', 'confirmed cold'],
      ['cold', 'cold-big'].map((name) => {
        const r = results[name];
        return [
          name,
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          fmt(r.initMsP50, 2),
          fmt(r.warmP50Ms, 2),
          `${r.confirmedCold}/${r.runs}`,
        ];
      }),
    ),
  );
  if (CELL_RUNS > 0) {
    results.cellBoot = await cellBoots(CELL_RUNS);
    console.log(
      table(
        ['cell kind', 'spawn -> ready p50 ms', 'p90 ms', 'runs'],
        Object.entries(results.cellBoot).map(([kind, r]) => [kind, fmt(r.p50Ms, 2), fmt(r.p90Ms, 2), r.runs]),
      ),
    );
    results.wrappers = wrapperCosts(CELL_RUNS * 10);
    console.log(
      table(
        ['wrapper alone (/bin/true)', 'p50 ms', 'p90 ms', 'runs'],
        Object.entries(results.wrappers).map(([kind, r]) => [kind, fmt(r.p50Ms, 2), fmt(r.p90Ms, 2), r.runs]),
      ),
    );
  }
  await mkdir(path.dirname(OUT), { recursive: true });
  await writeFile(OUT, `${JSON.stringify(results, null, 2)}\n`);
}

/** The command wrappers of each kind around /bin/true, alternating: what the namespaces add to a process start. */
function wrapperCosts(runs) {
  const pdeathsig = ['/usr/bin/setpriv', '--pdeathsig=SIGKILL'];
  const unshare = ['/usr/bin/unshare', '--user', '--pid', '--fork', '--kill-child'];
  const kinds = {
    'setpriv (shared)': [...pdeathsig, '/bin/true'],
    'setpriv unshare (namespaces)': [...pdeathsig, ...unshare, '/bin/true'],
    'setpriv unshare --net': [...pdeathsig, ...unshare, '--net', '/bin/true'],
  };
  const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [kind, [file, ...args]] of Object.entries(kinds)) {
      const start = performance.now();
      const r = spawnSync(file, args);
      if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr}`);
      times[kind].push(performance.now() - start);
    }
  }
  return Object.fromEntries(
    Object.entries(times).map(([kind, xs]) => [
      kind,
      { p50Ms: percentile(xs, 50), p90Ms: percentile(xs, 90), runs: xs.length },
    ]),
  );
}

/** spawn -> `ready` of a cell of each kind, the kinds alternating so that a busy moment hits all alike. */
async function cellBoots(runs) {
  const { Cell } = await import('../dist/runtime/node/cell.js');
  const runtimeDir = path.join(HERE, '..', 'dist', 'runtime', 'sandbox');
  const kinds = {
    shared: { isolation: { kind: 'shared' }, egress: 'open' },
    namespaces: { isolation: { kind: 'namespaces' }, egress: 'open' },
    'namespaces + net': { isolation: { kind: 'namespaces' }, egress: 'none' },
    ...(process.getuid?.() === 0 ? { uid: { isolation: { kind: 'uid', uid: 265534 }, egress: 'open' } } : {}),
  };
  const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  const parent = await mkdtemp(path.join(os.tmpdir(), 'gust-bench-cells-'));
  try {
    for (let i = 0; i <= runs; i++) {
      progress(`cell boots ${i}/${runs}`);
      for (const [kind, opts] of Object.entries(kinds)) {
        const start = performance.now();
        const cell = await Cell.spawn({
          id: `bench-${i}`,
          runtimeDir,
          dir: path.join(parent, `${kind.replace(/\W+/g, '-')}-${i}`),
          memoryMb: 128,
          group: undefined,
          dataLimitBytes: undefined,
          ...opts,
        });
        const ready = await cell.ready;
        const ms = performance.now() - start;
        await cell.dispose();
        if (!ready) throw new Error(`a ${kind} cell did not start: ${await cell.exited}`);
        if (i > 0) times[kind].push(ms); // the first round warms the page cache
      }
    }
  } finally {
    await rm(parent, { recursive: true, force: true });
  }
  return Object.fromEntries(
    Object.entries(times).map(([kind, xs]) => [
      kind,
      { p50Ms: percentile(xs, 50), p90Ms: percentile(xs, 90), runs: xs.length },
    ]),
  );
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
