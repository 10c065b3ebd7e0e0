/**
 * Records at scale (a few minutes): warm throughput of a hello function on a platform whose data
 * folder holds BENCH_RECORDS invocation records (5,000,000: as after 5 million invocations, each
 * record as the hello function leaves it) beside the same on a fresh data folder, in alternating
 * rounds, both with `--max-records-size BENCH_MAX_RECORDS_SIZE` (256MB): the full one prunes while
 * it serves. The records are written straight into the data folder with Gust's own store (running
 * 5 million invocations through the platform first would take the better part of an hour here).
 * Prints throughput, the database's size and its records before and after.
 * Settings: BENCH_RECORDS, BENCH_MAX_RECORDS_SIZE, BENCH_ROUNDS (3), BENCH_SECONDS (10),
 * BENCH_CONNECTIONS (50), BENCH_GENERATOR. Writes bench/results/records.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openDatabase } from '../dist/backends/embedded/database.js';
import { SqliteInvocations } from '../dist/backends/embedded/invocations.js';
import { newInvocationId } from '../dist/dispatch/invocation.js';
import { removeTempDirs, startGust, tempDir, writeProject } from './lib/gust.mjs';
import { HELLO_PROJECT } from './lib/hello.mjs';
import { pickGenerator, runLoad } from './lib/load.mjs';
import { stop, stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { median } from './lib/stats.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const RECORDS = int('BENCH_RECORDS', 5_000_000);
const MAX_SIZE = process.env.BENCH_MAX_RECORDS_SIZE ?? '256MB';
const ROUNDS = int('BENCH_ROUNDS', 3);
const SECONDS = int('BENCH_SECONDS', 10);
const CONNECTIONS = int('BENCH_CONNECTIONS', 50);

/** Writes `n` records of a hello function, a minute apart from a week ago to now, as the platform would. */
async function seed(dataDir, n) {
  const db = openDatabase(path.join(dataDir, 'gust.db'));
  const store = new SqliteInvocations(db);
  const from = Date.now() - 2 * 86_400_000; // within the default retention: only the size bound applies
  const step = (2 * 86_400_000) / n;
  const BATCH = 20_000;
  for (let i = 0; i < n; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + BATCH); j++) {
      const at = from + j * step;
      batch.push({
        // the platform's own ids: time-ordered, as records are written
        id: newInvocationId(at),
        attempt: 1,
        function: 'hello',
        version: 1,
        trigger: 'http',
        instance: 'i-0123456789abcdef',
        start: new Date(at).toISOString(),
        queuedMs: 0,
        durationMs: 0.4,
        billedMs: 1,
        memoryMb: 128,
        gbSeconds: 0.000125,
        cold: false,
        initMs: 0,
        status: 'ok',
        error: null,
        stack: null,
        deniedCalls: 0,
        logs: '',
        traceId: randomUUID().replaceAll('-', ''),
        spanId: randomUUID().slice(0, 8) + randomUUID().slice(0, 8),
        parentSpanId: null,
      });
    }
    await store.add(batch);
  }
  db.close();
}

async function dbFacts(dataDir) {
  const file = path.join(dataDir, 'gust.db');
  const bytes = async (f) => (await stat(f).catch(() => ({ size: 0 }))).size;
  const db = new Database(file, { readonly: true });
  const { n } = db.prepare('SELECT COUNT(*) AS n FROM invocations').get();
  const [pages, free, size] = ['page_count', 'freelist_count', 'page_size'].map((p) =>
    db.pragma(p, { simple: true }),
  );
  db.close();
  return {
    records: n,
    fileMB: (await bytes(file)) / 1024 / 1024,
    walMB: (await bytes(`${file}-wal`)) / 1024 / 1024,
    usedMB: ((pages - free) * size) / 1024 / 1024,
  };
}

async function main() {
  const gen = pickGenerator(process.env.BENCH_GENERATOR || undefined);
  const project = await writeProject(HELLO_PROJECT);
  const fullDir = await tempDir('gust-bench-records-');
  const t0 = performance.now();
  await seed(fullDir, RECORDS);
  const seededIn = (performance.now() - t0) / 1000;
  const before = await dbFacts(fullDir);
  console.log(`seeded ${RECORDS} records in ${seededIn.toFixed(0)} s: ${before.fileMB.toFixed(0)} MB`);
  const env = { GUST_LOG_LEVEL: 'warn', GUST_MAX_RECORDS_SIZE: MAX_SIZE };
  const fresh = await startGust({ dir: project, env });
  const full = await startGust({ dir: project, env, dataDir: fullDir });
  const targets = { fresh: `${fresh.url}/hello`, full: `${full.url}/hello` };
  const phase = async (label) => {
    const runs = { fresh: [], full: [] };
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, url] of Object.entries(targets)) {
        await runLoad(gen, url, { seconds: 2, connections: CONNECTIONS });
        const r = await runLoad(gen, url, { seconds: SECONDS, connections: CONNECTIONS });
        runs[name].push(r);
        console.log(`${label} round ${round} ${name}: ${r.rps.toFixed(0)} req/s, p99 ${r.p99Ms} ms`);
      }
    }
    const rps = (name) => median(runs[name].map((r) => r.rps));
    const p99 = (name) => median(runs[name].map((r) => r.p99Ms));
    return {
      fresh: { rps: rps('fresh'), p99Ms: p99('fresh') },
      full: { rps: rps('full'), p99Ms: p99('full') },
      ratio: rps('full') / rps('fresh'),
    };
  };
  const startedAt = performance.now();
  const pruning = await phase('while the full one prunes:');
  // then until its records are within the bound (counted from the file, read-only, as it serves)
  let count = before.records;
  for (let i = 0; i < 120 && count > 0; i++) {
    count = (await dbFacts(fullDir)).records;
    const last = count;
    await new Promise((r) => setTimeout(r, 5000));
    if ((await dbFacts(fullDir)).records === last) break; // no longer shrinking: the pruner is done
  }
  const prunedInS = (performance.now() - startedAt) / 1000;
  console.log(`the full one pruned down to ${count} records in about ${prunedInS.toFixed(0)} s`);
  const settled = await phase('after pruning:');
  await stop(fresh.proc);
  await stop(full.proc);
  const after = { fresh: await dbFacts(fresh.dataDir), full: await dbFacts(fullDir) };
  const result = {
    at: new Date().toISOString(),
    generator: gen.name,
    seeded: RECORDS,
    maxRecordsSize: MAX_SIZE,
    rounds: ROUNDS,
    seconds: SECONDS,
    before,
    pruning,
    prunedInS,
    settled,
    after,
  };
  for (const [label, r] of [
    ['while pruning', pruning],
    ['after pruning', settled],
  ]) {
    console.log(
      `${label}: fresh ${r.fresh.rps.toFixed(0)} req/s (p99 ${r.fresh.p99Ms} ms) | after ${RECORDS} records ${r.full.rps.toFixed(0)} req/s (p99 ${r.full.p99Ms} ms) | ratio ${r.ratio.toFixed(2)}`,
    );
  }
  console.log(
    `database of the full one: ${before.records} records, ${before.fileMB.toFixed(0)} MB before; ${after.full.records} records, ${after.full.fileMB.toFixed(0)} MB file (${after.full.usedMB.toFixed(0)} MB in use) after; the fresh one ${after.fresh.records} records, ${after.fresh.fileMB.toFixed(0)} MB`,
  );
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(path.join(HERE, 'results', 'records.json'), `${JSON.stringify(result, null, 2)}\n`);
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    await removeTempDirs();
  });
