/**
 * The postgres trigger bench (about a minute, needs PostgreSQL on 127.0.0.1:5432, database `test`):
 * database changes from their commit to the start of the function they run. One platform, one
 * function on a `postgres` trigger (`concurrency: 100`, `scale: {min: 1, max: 1}`: one warm
 * instance) that notes `[row id, Date.now()]` at its start and hands the list out on an HTTP route
 * of its own. The commit time is the bench's `Date.now()` when its INSERT (autocommit) returned:
 * just after the commit, so lags are slightly understated, never overstated.
 * - steady: BENCH_PG_STEADY rows (300), one per transaction, one every 10 ms: lag p50/p99;
 * - burst: BENCH_PG_BURST rows (5000, rounded up to 400s), inserted by 4 connections in transactions of 100 rows as
 *   fast as they go: changes/s from the first commit to the last function start, and lag p50/p99.
 * - writer cost: BENCH_PG_WRITES single-row inserts (2000), one per transaction on one connection,
 *   into a table without capture and into the captured one (its function running meanwhile):
 *   inserts/s of each, what the capture trigger costs the user's writers.
 * Rounds alternate (BENCH_ROUNDS, 3), each in a fresh table; reported per round and as medians.
 * Writes bench/results/postgres.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { deploy, removeTempDirs, setSecret, startGust, tempDir, writeProject } from './lib/gust.mjs';
import { stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { median, percentile } from './lib/stats.mjs';
import { fmt, table } from './lib/table.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DB_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROUNDS = int('BENCH_ROUNDS', 3);
const STEADY = int('BENCH_PG_STEADY', 300);
const BURST = int('BENCH_PG_BURST', 5000);
const WRITES = int('BENCH_PG_WRITES', 2000);
const SCHEMA = `gust_bench_${randomBytes(4).toString('hex')}`;

const FUNCTION = `const starts = [];
export const handler = async (event) => {
  if (event.requestContext) return { statusCode: 200, body: JSON.stringify(starts.splice(0)) };
  starts.push([event.data.new.id, Date.now()]);
};`;

const manifest = (table) => `functions:
  pgbench:
    handler: fn.mjs
    concurrency: 100
    scale: { min: 1, max: 1 }
    triggers:
      - postgres: { connection: BENCH_PG, table: ${SCHEMA}.${table}, on: [insert] }
      - http: { path: /pgbench/starts, methods: [GET] }
`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Deploys the function on a fresh table and waits for its trigger to run. */
async function prepare(g, db, dir, table) {
  await db.query(`CREATE TABLE ${SCHEMA}.${table} (id serial PRIMARY KEY, note text)`);
  await writeFile(path.join(dir, 'gust.yaml'), manifest(table));
  await deploy(g, dir);
  for (let i = 0; i < 600; i++) {
    const res = await fetch(`${g.url}/_gust/api/v1/functions/pgbench`, {
      headers: { authorization: `Bearer ${g.key}` },
    });
    const { sources } = await res.json();
    if (sources?.[0]?.state === 'running') return;
    await sleep(50);
  }
  throw new Error('the postgres trigger did not start running within 30 s');
}

/** Collects function starts until `n` rows have been seen: Map id -> start ms. */
async function starts(g, n) {
  const seen = new Map();
  const deadline = Date.now() + 120_000;
  while (seen.size < n) {
    if (Date.now() > deadline) throw new Error(`only ${seen.size} of ${n} changes reached the function`);
    const res = await fetch(`${g.url}/pgbench/starts`);
    for (const [id, at] of await res.json()) seen.set(id, at);
    if (seen.size < n) await sleep(50);
  }
  return seen;
}

async function steady(g, db) {
  const committed = new Map();
  for (let i = 0; i < STEADY; i++) {
    const { rows } = await db.query(`INSERT INTO ${SCHEMA}.steady (note) VALUES ('s') RETURNING id`);
    committed.set(rows[0].id, Date.now());
    await sleep(10);
  }
  const started = await starts(g, STEADY);
  const lags = [...committed].map(([id, at]) => started.get(id) - at);
  return { p50: percentile(lags, 50), p99: percentile(lags, 99) };
}

async function burst(g, clients) {
  const committed = new Map();
  const perClient = Math.ceil(BURST / clients.length / 100);
  const first = Date.now();
  await Promise.all(
    clients.map(async (c) => {
      for (let t = 0; t < perClient; t++) {
        const { rows } = await c.query(
          `INSERT INTO ${SCHEMA}.burst (note) SELECT 'b' FROM generate_series(1, 100) RETURNING id`,
        );
        const at = Date.now();
        for (const r of rows) committed.set(r.id, at);
      }
    }),
  );
  const started = await starts(g, committed.size);
  const last = Math.max(...started.values());
  const lags = [...committed].map(([id, at]) => started.get(id) - at);
  return {
    changes: committed.size,
    perSecond: (committed.size / (last - first)) * 1000,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
  };
}

/** Single-row inserts per second into a table, one transaction each. */
async function insertsPerSecond(db, table) {
  const t = performance.now();
  for (let i = 0; i < WRITES; i++) await db.query(`INSERT INTO ${SCHEMA}.${table} (note) VALUES ('w')`);
  return (WRITES / (performance.now() - t)) * 1000;
}

/** The captured table (burst's, its function deployed) beside a plain one, alternating. */
async function writerCost(g, db) {
  await db.query(`CREATE TABLE ${SCHEMA}.plain (id serial PRIMARY KEY, note text)`);
  const plain = await insertsPerSecond(db, 'plain');
  const captured = await insertsPerSecond(db, 'burst');
  await starts(g, WRITES); // the captured ones reached the function: the next round starts clean
  await db.query(`DROP TABLE ${SCHEMA}.plain`);
  return { plain, captured };
}

async function main() {
  console.log(`Gust postgres trigger bench, ${new Date().toISOString()}`);
  console.log('command:   npm run build && node bench/postgres.mjs');
  console.log(
    `machine:   ${os.availableParallelism()} CPUs, node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const db = new pg.Client({ connectionString: DB_URL });
  await db.connect();
  const clients = await Promise.all([1, 2, 3, 4].map(() => new pg.Client({ connectionString: DB_URL })));
  await Promise.all(clients.map((c) => c.connect()));
  await db.query(`CREATE SCHEMA ${SCHEMA}`);
  const g = await startGust({ dir: await tempDir('gust-bench-empty-') });
  const rows = [];
  try {
    await setSecret(g, 'BENCH_PG', DB_URL);
    const dir = await writeProject({ 'fn.mjs': FUNCTION });
    for (let round = 1; round <= ROUNDS; round++) {
      await prepare(g, db, dir, 'steady');
      const s = await steady(g, db);
      await prepare(g, db, dir, 'burst');
      const b = await burst(g, clients);
      const w = await writerCost(g, db);
      rows.push({ steady: s, burst: b, writes: w });
      console.log(
        `round ${round}: steady lag p50 ${fmt(s.p50, 0)} ms p99 ${fmt(s.p99, 0)} ms | burst ${fmt(b.perSecond, 0)} changes/s, lag p50 ${fmt(b.p50, 0)} ms p99 ${fmt(b.p99, 0)} ms | inserts/s plain ${fmt(w.plain, 0)}, captured ${fmt(w.captured, 0)}`,
      );
      await db.query(`DROP TABLE ${SCHEMA}.steady, ${SCHEMA}.burst`);
    }
  } finally {
    // Removing the function tears its capture down in the database.
    await fetch(`${g.url}/_gust/api/v1/functions/pgbench`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${g.key}` },
    }).catch(() => {});
    await db.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await Promise.all([db, ...clients].map((c) => c.end()));
  }
  const m = (f) => median(rows.map(f));
  const result = {
    steadyLagP50Ms: m((r) => r.steady.p50),
    steadyLagP99Ms: m((r) => r.steady.p99),
    burstChangesPerSecond: m((r) => r.burst.perSecond),
    burstLagP50Ms: m((r) => r.burst.p50),
    burstLagP99Ms: m((r) => r.burst.p99),
    plainInsertsPerSecond: m((r) => r.writes.plain),
    capturedInsertsPerSecond: m((r) => r.writes.captured),
    rounds: rows,
  };
  console.log(`\nmedian of ${ROUNDS} rounds:`);
  console.log(
    table(
      ['scenario', 'changes', 'changes/s', 'lag p50 ms', 'lag p99 ms'],
      [
        [
          'steady (1 per 10 ms)',
          String(STEADY),
          '-',
          fmt(result.steadyLagP50Ms, 0),
          fmt(result.steadyLagP99Ms, 0),
        ],
        [
          'burst (4 x 100-row tx)',
          String(rows[0]?.burst.changes ?? BURST),
          fmt(result.burstChangesPerSecond, 0),
          fmt(result.burstLagP50Ms, 0),
          fmt(result.burstLagP99Ms, 0),
        ],
      ],
    ),
  );
  console.log(
    `\nwriter cost: ${fmt(result.capturedInsertsPerSecond, 0)} single-row inserts/s into the captured table, ${fmt(result.plainInsertsPerSecond, 0)}/s without capture (ratio ${fmt(result.capturedInsertsPerSecond / result.plainInsertsPerSecond, 2)})`,
  );
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(
    path.join(HERE, 'results', 'postgres.json'),
    `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
