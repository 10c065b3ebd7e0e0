/**
 * The cold-start scenario alone (about a minute): what a change to the module load costs, without
 * the throughput rounds. Two functions, each scaled to zero between runs: `cold` (the hello of
 * run.mjs) and `cold-big` (a TypeScript handler of about 700 kB bundled), because what a
 * module load costs beyond the fixed path grows with the bundle.
 * Prints p50/p99 of request -> first byte and the p50 of the record's initMs, and writes
 * bench/results/cold.json. Settings: BENCH_COLD_RUNS (20).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDirs, startGust, writeProject } from './lib/gust.mjs';
import { stopAll } from './lib/procs.mjs';
import { fmt, table } from './lib/table.mjs';
import { coldStart } from './scenarios/cold-start.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.BENCH_COLD_RUNS ?? 20);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error('BENCH_COLD_RUNS must be a whole number >= 1');

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
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(path.join(HERE, 'results', 'cold.json'), `${JSON.stringify(results, null, 2)}\n`);
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
