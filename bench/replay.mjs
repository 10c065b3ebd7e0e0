/**
 * The replay bench (about three minutes): what keeping each invocation's input for `gust replay`
 * costs the hot path. Two platforms of the same build, each with the warm hello function of the
 * throughput scenario (web-standard, concurrency 100, scale {min: 1, max: 1}), loaded in alternating
 * rounds by the same generator:
 * - `kept`: as Gust ships (events kept 24 h, 256 KB each at most);
 * - `off`: GUST_REPLAY_RETENTION=0, nothing kept.
 * First, in this process, what keeping costs per call where it is paid (observe/inputs.ts
 * `keepInput`, at the records' flush): a small HTTP request as the gateway builds it, and an event.
 * The order of the two is swapped each round. After the rounds, the bytes a kept event takes in `kept`'s database (SQLite's dbstat: the table
 * and its index, over the rows), beside the text alone.
 * Settings: BENCH_ROUNDS (5), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
 * BENCH_GENERATOR (wrk | autocannon). Writes bench/results/replay.json.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { removeTempDirs } from './lib/gust.mjs';
import { printHeader } from './lib/header.mjs';
import { warmHello } from './lib/hello.mjs';
import { pickGenerator, runLoad } from './lib/load.mjs';
import { stopAll } from './lib/procs.mjs';
import { roundsText, summarize, writeResult } from './lib/rounds.mjs';
import { int } from './lib/settings.mjs';
import { median } from './lib/stats.mjs';
import { fmt } from './lib/table.mjs';

const config = {
  rounds: int('BENCH_ROUNDS', 5),
  seconds: int('BENCH_SECONDS', 10),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 3),
  connections: int('BENCH_CONNECTIONS', 50),
};
const progress = (text) => process.stderr.write(`  .. ${text}\n`);

/** ns per keepInput in this process, and the bytes of what it keeps, for a request and an event. */
async function perCall() {
  const { keepInput } = await import('../dist/observe/inputs.js');
  const { httpInvocation, eventInvocation } = await import('../dist/dispatch/invocation.js');
  const { newTrace } = await import('../dist/observe/trace-context.js');
  const request = httpInvocation({
    function: 'hello',
    trigger: 'http',
    trace: newTrace(),
    route: { params: {}, routeKey: 'GET /hello' },
    method: 'GET',
    url: '/hello',
    headers: [
      ['host', '127.0.0.1:8080'],
      ['user-agent', 'curl/8.5.0'],
      ['accept', '*/*'],
    ],
    body: null,
    sourceIp: '127.0.0.1',
  });
  const event = eventInvocation({
    function: 'hello',
    trigger: 'topic',
    trace: newTrace(),
    event: {
      specversion: '1.0',
      id: request.id,
      source: 'gust/topics/orders',
      type: 'gust.topic.message',
      data: { order: 42 },
    },
  });
  const N = 200_000;
  const time = (inv) => {
    for (let i = 0; i < N / 10; i++) keepInput(inv, 262_144, Date.now()); // warm-up
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) keepInput(inv, 262_144, Date.now());
    return Number(process.hrtime.bigint() - t) / N;
  };
  const rounds = { http: [], event: [] };
  for (let i = 0; i < 5; i++) {
    rounds.http.push(time(request));
    rounds.event.push(time(event));
  }
  return {
    httpNs: median(rounds.http),
    httpBytes: keepInput(request, 262_144, Date.now()).bytes,
    eventNs: median(rounds.event),
    eventBytes: keepInput(event, 262_144, Date.now()).bytes,
    rounds,
  };
}

/** What the kept inputs take in a platform's database: rows, text bytes, and pages (table + index). */
function stored(dataDir) {
  const db = new Database(path.join(dataDir, 'gust.db'), { readonly: true });
  try {
    const rows = db.prepare('SELECT COUNT(*) AS n, SUM(stored) AS text FROM invocation_inputs').get();
    const pages = db
      .prepare(
        "SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name IN ('invocation_inputs', 'sqlite_autoindex_invocation_inputs_1')",
      )
      .get();
    const records = db.prepare('SELECT COUNT(*) AS n FROM invocations').get();
    return { inputs: rows.n, textBytes: rows.text ?? 0, pageBytes: pages.bytes ?? 0, records: records.n };
  } finally {
    db.close();
  }
}

async function main() {
  const gen = pickGenerator(process.env.BENCH_GENERATOR || undefined);
  printHeader('replay', 'npm run build && node bench/replay.mjs');
  console.log(
    `load:      generator ${gen.name} (${gen.version}), ${config.connections} connections, ${config.warmupSeconds} s warm-up + ${config.seconds} s, ${config.rounds} rounds each, alternating, the order swapped each round\n`,
  );
  progress('keepInput alone: 5 rounds of 200,000 calls of a request and of an event in this process');
  const cost = await perCall();
  progress('starting two platforms: inputs kept, and GUST_REPLAY_RETENTION=0');
  const targets = { kept: await warmHello({}), off: await warmHello({ GUST_REPLAY_RETENTION: '0' }) };
  const runs = { kept: [], off: [] };
  for (let round = 1; round <= config.rounds; round++) {
    const order = round % 2 === 1 ? ['kept', 'off'] : ['off', 'kept'];
    for (const name of order) {
      progress(`round ${round}/${config.rounds}: ${name}`);
      const url = `${targets[name].url}/hello`;
      await runLoad(gen, url, { seconds: config.warmupSeconds, connections: config.connections });
      runs[name].push({ round, ...(await runLoad(gen, url, config)) });
    }
  }
  const kept = summarize(runs.kept);
  const off = summarize(runs.off);
  const disk = { kept: stored(targets.kept.dataDir), off: stored(targets.off.dataDir) };
  const result = { kept, off, ratio: kept.rps / off.rps, cost, disk, runs };
  console.log(roundsText(runs));
  console.log(`ratio: kept/off ${fmt(result.ratio, 3)}`);
  console.log(
    `per call: keepInput ${fmt(cost.httpNs)} ns for a GET (${cost.httpBytes} bytes of JSON), ${fmt(cost.eventNs)} ns for a topic event (${cost.eventBytes} bytes)`,
  );
  const k = disk.kept;
  console.log(
    `on disk: kept ${k.inputs} inputs for ${k.records} records, ${fmt(k.textBytes / k.inputs)} bytes of text and ${fmt(k.pageBytes / k.inputs)} bytes of pages (table + index) each; off ${disk.off.inputs} inputs`,
  );
  await writeResult('replay', { config, generator: gen.name, ...result });
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
