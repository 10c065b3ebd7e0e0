/**
 * The replay bench (about three minutes): what keeping each invocation's input for `gust replay`
 * costs the hot path. Two platforms of the same build, each with the warm hello function of the
 * throughput scenario (web-standard, concurrency 100, scale {min: 1, max: 1}), loaded in alternating
 * rounds by the same generator:
 * - `kept`: as Gust ships (events kept 24 h, 256 KB each at most);
 * - `off`: GUST_REPLAY_RETENTION=0, nothing kept;
 * - `before` (with BENCH_BEFORE=DIR, a built checkout of an earlier commit): that Gust as it ships.
 * Also the platform's CPU per request (/proc: its main thread, and all its threads), which the
 * other load of a shared machine hardly moves.
 * First, in this process, what keeping costs the platform's thread per call where it is paid (at
 * the records' flush, observe/kept-inputs.ts): a small HTTP request as the gateway builds it, and
 * an event, beside the JSON alone and two other ways of handing them to a worker (perCall). The
 * order of the two platforms is swapped each round. After the rounds, the bytes a kept event takes
 * in `kept`'s inputs.db (SQLite's dbstat: the table and its index, over the rows), beside the text.
 * Settings: BENCH_ROUNDS (5), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
 * BENCH_GENERATOR (wrk | autocannon), BENCH_BEFORE. Writes bench/results/replay.json.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { threadNs, withCpu } from './lib/cpu.mjs';
import { removeTempDirs, tempDir } from './lib/gust.mjs';
import { printHeader } from './lib/header.mjs';
import { warmHello } from './lib/hello.mjs';
import { pickGenerator, runLoad } from './lib/load.mjs';
import { stopAll } from './lib/procs.mjs';
import { orderOf, roundsText, summarize, writeResult } from './lib/rounds.mjs';
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

/**
 * In this process, ns of this thread per input, for a small GET and a topic event: the JSON alone
 * (`keepInput`, what the records' flush paid before the worker), the hand-over as it ships
 * (`KeptInputs.keep`: packed, posted to the worker), and two hand-overs not chosen, to a worker that
 * drops what it gets (the JSON made here, then posted; the WireRequest or event posted as it is).
 * Then µs of wall time per input until the worker has written them all.
 */
async function perCall(dir) {
  const { keepInput } = await import('../dist/observe/inputs.js');
  const { KeptInputs } = await import('../dist/observe/kept-inputs.js');
  const { httpInvocation, eventInvocation, newInvocationId } = await import('../dist/dispatch/invocation.js');
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
  const MAX = 262_144;
  const inputs = KeptInputs.start({
    file: path.join(dir, 'inputs.db'),
    maxEventBytes: MAX,
    retentionMs: 86_400_000,
    maxBytes: 1024 ** 3,
    onError: (e) => console.error(String(e)),
  });
  const sink = new Worker("require('node:worker_threads').parentPort.on('message', () => {})", {
    eval: true,
  });
  const BATCH = 500; // the records' flush: every 50 ms or 500 records
  const BATCHES = 100;
  const ways = {
    json: (list) => {
      for (const inv of list) keepInput(inv, MAX, 0);
    },
    shipped: (list) => inputs.keep(list),
    jsonPosted: (list) => sink.postMessage(list.map((inv) => keepInput(inv, MAX, 0))),
    asItIs: (list) =>
      sink.postMessage(
        list.map((inv) => ({
          id: inv.id,
          function: inv.function,
          ...(inv.kind === 'http' ? { request: inv.request } : { event: inv.event }),
        })),
      ),
  };
  const time = async (way, inv) => {
    // objects of their own, as calls have (a clone refers back to an object it has already written)
    const batches = Array.from({ length: BATCHES }, () =>
      Array.from({ length: BATCH }, () => ({ ...structuredClone(inv), id: newInvocationId() })),
    );
    let ns = 0;
    const started = process.hrtime.bigint();
    for (const batch of batches) {
      const t = threadNs();
      ways[way](batch);
      ns += threadNs() - t;
      await new Promise((r) => setImmediate(r)); // as between flushes
    }
    if (way === 'shipped') await inputs.size(); // answered once every batch before it is written
    const wallUs = Number(process.hrtime.bigint() - started) / 1000;
    return { ns: ns / (BATCH * BATCHES), writtenUs: wallUs / (BATCH * BATCHES) };
  };
  const rounds = {};
  const add = (key, value) => {
    rounds[key] = [...(rounds[key] ?? []), value];
  };
  for (let i = 0; i < 5; i++) {
    for (const [kind, inv] of [
      ['http', request],
      ['event', event],
    ]) {
      for (const way of Object.keys(ways)) {
        const r = await time(way, inv);
        add(`${kind} ${way}`, r.ns);
        if (way === 'shipped') add(`${kind} written`, r.writtenUs);
      }
    }
  }
  await inputs.close();
  await sink.terminate();
  return {
    ...Object.fromEntries(Object.entries(rounds).map(([k, v]) => [k, median(v)])),
    httpBytes: keepInput(request, MAX, 0).bytes,
    eventBytes: keepInput(event, MAX, 0).bytes,
    rounds,
  };
}

/** What the kept inputs take in a platform's inputs.db: rows, text bytes, and pages (table + index). */
function stored(dataDir) {
  const file = path.join(dataDir, 'inputs.db');
  if (!existsSync(file)) return { inputs: 0, textBytes: 0, pageBytes: 0 };
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT COUNT(*) AS n, SUM(stored) AS text FROM invocation_inputs').get();
    const pages = db
      .prepare(
        "SELECT SUM(pgsize) AS bytes FROM dbstat WHERE name IN ('invocation_inputs', 'sqlite_autoindex_invocation_inputs_1')",
      )
      .get();
    return { inputs: rows.n, textBytes: rows.text ?? 0, pageBytes: pages.bytes ?? 0 };
  } finally {
    db.close();
  }
}

/** Records in a platform's gust.db. */
function records(dataDir) {
  const db = new Database(path.join(dataDir, 'gust.db'), { readonly: true });
  try {
    return db.prepare('SELECT COUNT(*) AS n FROM invocations').get().n;
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
  progress('per input in this process: 5 rounds of 50,000 requests and 50,000 events, each way');
  const cost = await perCall(await tempDir('gust-bench-inputs-'));
  // BENCH_BEFORE: a built Gust tree (an earlier commit's checkout) kept beside, in the same rounds
  const tree = process.env.BENCH_BEFORE || undefined;
  progress(
    `starting platforms: inputs kept, GUST_REPLAY_RETENTION=0${tree ? `, and ${tree} as it ships` : ''}`,
  );
  const targets = {
    kept: await warmHello({}),
    off: await warmHello({ GUST_REPLAY_RETENTION: '0' }),
    ...(tree ? { before: await warmHello({}, { tree }) } : {}),
  };
  const names = Object.keys(targets);
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 1; round <= config.rounds; round++) {
    for (const name of orderOf(names, round)) {
      progress(`round ${round}/${config.rounds}: ${name}`);
      const url = `${targets[name].url}/hello`;
      await runLoad(gen, url, { seconds: config.warmupSeconds, connections: config.connections });
      const run = await withCpu(targets[name].proc.child.pid, () => runLoad(gen, url, config));
      runs[name].push({ round, ...run });
    }
  }
  const s = Object.fromEntries(names.map((n) => [n, summarize(runs[n])]));
  const { kept, off } = s;
  const disk = {
    kept: { ...stored(targets.kept.dataDir), records: records(targets.kept.dataDir) },
    off: stored(targets.off.dataDir),
  };
  const result = { summary: s, ratio: kept.rps / off.rps, cost, disk, runs };
  if (s.before) result.beforeRatio = s.before.rps / off.rps;
  console.log(roundsText(runs));
  console.log(
    `ratio: kept/off ${fmt(result.ratio, 3)}${s.before ? `; before/off ${fmt(result.beforeRatio, 3)}` : ''}`,
  );
  if (kept.mainUs !== undefined) {
    const over = (n, key) => fmt(s[n][key] - off[key], 1);
    console.log(
      `platform CPU a request beyond off: kept +${over('kept', 'mainUs')} µs main thread, +${over('kept', 'allUs')} µs all threads${s.before ? `; before +${over('before', 'mainUs')} µs, +${over('before', 'allUs')} µs` : ''}`,
    );
  }
  for (const kind of ['http', 'event']) {
    const c = (way) => fmt(cost[`${kind} ${way}`]);
    console.log(
      `per ${kind === 'http' ? 'GET' : 'topic event'} (${cost[`${kind}Bytes`]} bytes of JSON), ns of the platform's thread: JSON alone ${c('json')}, handed over as shipped ${c('shipped')}; not chosen: JSON then posted ${c('jsonPosted')}, posted as it is ${c('asItIs')}; written by the worker ${fmt(cost[`${kind} written`], 2)} µs of wall time each`,
    );
  }
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
