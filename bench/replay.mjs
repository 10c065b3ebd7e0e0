/**
 * The replay bench (about three minutes): what keeping each invocation's input for `gust replay`
 * costs the hot path. Two platforms of the same build, each with the warm hello function of the
 * throughput scenario (web-standard, concurrency 100, scale {min: 1, max: 1}), loaded in alternating
 * rounds by the same generator:
 * - `kept`: as Gust ships (events kept 24 h, 256 KB each at most);
 * - `off`: GUST_REPLAY_RETENTION=0, nothing kept.
 * First, in this process, what keeping costs per call where it is paid (observe/inputs.ts
 * `keepInput`, at the records' flush): a small HTTP request as the gateway builds it, and an event.
 * After the rounds, the bytes a kept event takes in `kept`'s database (SQLite's dbstat: the table
 * and its index, over the rows), beside the text alone.
 * Settings: BENCH_ROUNDS (5), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
 * BENCH_GENERATOR (wrk | autocannon). Writes bench/results/replay.json.
 */
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { warmHello } from './lib/hello.mjs';
import { pickGenerator, runLoad } from './lib/load.mjs';
import { runBench, saveResults } from './lib/results.mjs';
import { roundSettings } from './lib/settings.mjs';
import { median } from './lib/stats.mjs';

const config = roundSettings();
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
    for (let i = 0; i < 10_000; i++) keepInput(inv, 262_144, Date.now()); // warm the JIT
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) keepInput(inv, 262_144, Date.now());
    return Number(process.hrtime.bigint() - t) / N;
  };
  return {
    httpNs: time(request),
    httpBytes: keepInput(request, 262_144, Date.now()).bytes,
    eventNs: time(event),
    eventBytes: keepInput(event, 262_144, Date.now()).bytes,
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
  console.log(`Gust replay bench, ${new Date().toISOString()}`);
  console.log('command:   npm run build && node bench/replay.mjs');
  console.log(
    `machine:   ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, generator ${gen.name} (${gen.version}), load average ${os.loadavg()[0].toFixed(1)}`,
  );
  console.log(
    `load:      ${config.connections} connections, ${config.warmupSeconds} s warm-up + ${config.seconds} s, ${config.rounds} rounds each, alternating\n`,
  );
  progress('keepInput alone: 200,000 calls of a request and of an event in this process');
  const cost = await perCall();
  progress('starting two platforms: inputs kept, and GUST_REPLAY_RETENTION=0');
  const targets = { kept: await warmHello({}), off: await warmHello({ GUST_REPLAY_RETENTION: '0' }) };
  const runs = { kept: [], off: [] };
  for (let round = 1; round <= config.rounds; round++) {
    for (const [name, g] of Object.entries(targets)) {
      progress(`round ${round}/${config.rounds}: ${name}`);
      const url = `${g.url}/hello`;
      await runLoad(gen, url, { seconds: config.warmupSeconds, connections: config.connections });
      runs[name].push({ round, ...(await runLoad(gen, url, config)) });
    }
  }
  const summary = (list) => ({
    rps: median(list.map((r) => r.rps)),
    p50Ms: median(list.map((r) => r.p50Ms)),
    p99Ms: median(list.map((r) => r.p99Ms)),
    failed: list.reduce((n, r) => n + r.failed, 0),
  });
  const s = { kept: summary(runs.kept), off: summary(runs.off) };
  const disk = { kept: stored(targets.kept.dataDir), off: stored(targets.off.dataDir) };
  const result = { summary: s, ratio: s.kept.rps / s.off.rps, cost, disk, runs };
  const fmt = (n, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '-');
  console.log('round  kept req/s  off req/s');
  for (let i = 0; i < config.rounds; i++) {
    console.log(`${String(i + 1).padEnd(7)}${fmt(runs.kept[i].rps).padEnd(12)}${fmt(runs.off[i].rps)}`);
  }
  for (const [k, v] of Object.entries(s)) {
    console.log(
      `${k.padEnd(6)} median ${fmt(v.rps)} req/s, p50 ${fmt(v.p50Ms, 2)} ms, p99 ${fmt(v.p99Ms, 2)} ms, failed ${v.failed}`,
    );
  }
  console.log(`ratio  kept / off ${fmt(result.ratio, 3)}`);
  console.log(
    `per call  keepInput ${fmt(cost.httpNs)} ns for a GET (${cost.httpBytes} bytes of JSON), ${fmt(cost.eventNs)} ns for a topic event (${cost.eventBytes} bytes)`,
  );
  const k = disk.kept;
  console.log(
    `on disk   kept: ${k.inputs} inputs for ${k.records} records, ${fmt(k.textBytes / k.inputs)} bytes of text and ${fmt(k.pageBytes / k.inputs)} bytes of pages (table + index) each; off: ${disk.off.inputs} inputs`,
  );
  await saveResults('replay', { config, generator: gen.name, ...result });
}

await runBench(main);
