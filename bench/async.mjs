/**
 * The async-throughput scenario alone (about a minute): queued events end to end, accepted ->
 * handler ran -> acknowledged, for a topic subscriber with batch 1 and one with batch 10, beside
 * the same inserts into a bare SQLite file (scenarios/async.mjs). Prints events/s and the lag
 * accept -> start (p50, p99) per round and their medians, and writes bench/results/async.json.
 * Settings: BENCH_ROUNDS (3), BENCH_ASYNC_EVENTS (20000 a round), BENCH_ASYNC_PUBLISH_BATCH (100
 * events a request), BENCH_ASYNC_SENDERS (4 concurrent publishers), BENCH_ASYNC_CONCURRENCY (100,
 * the subscribers' `concurrency`); BENCH_ASYNC_CPU_PROF=DIR writes a
 * CPU profile of the platform process (node --cpu-prof) into DIR.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDirs } from './lib/gust.mjs';
import { printHeader } from './lib/header.mjs';
import { stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { asyncThroughput, printAsync } from './scenarios/async.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const progress = (text) => process.stderr.write(`  .. ${text}\n`);

async function main() {
  const config = {
    rounds: int('BENCH_ROUNDS', 3),
    events: int('BENCH_ASYNC_EVENTS', 20_000),
    publishBatch: int('BENCH_ASYNC_PUBLISH_BATCH', 100),
    senders: int('BENCH_ASYNC_SENDERS', 4),
    concurrency: int('BENCH_ASYNC_CONCURRENCY', 100),
  };
  printHeader('async', 'npm run build && node bench/async.mjs');
  console.log();
  const profileDir = process.env.BENCH_ASYNC_CPU_PROF;
  const nodeArgs = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profileDir)}`] : [];
  const result = await asyncThroughput({ ...config, progress, nodeArgs });
  printAsync(result);
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  const micro = (_key, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
  await writeFile(
    path.join(HERE, 'results', 'async.json'),
    `${JSON.stringify({ date: new Date().toISOString(), config, ...result }, micro, 2)}\n`,
  );
}

let exiting = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    void stopAll()
      .then(removeTempDirs)
      .finally(() => process.exit(130));
  });
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
