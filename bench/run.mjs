/**
 * The Gust bench, in one run on 127.0.0.1: throughput against a bare node:http server, cold start
 * after scale to zero, idle memory of a warm instance, webhook accept latency against a bare
 * node:http server that checks the same HMAC, and async throughput (topic subscribers, batch 1
 * and 10) beside a bare SQLite file. Prints a table and writes bench/results/latest.json.
 * Everything it starts is killed at the end, even on error.
 * Settings (environment, read here only): BENCH_GENERATOR=wrk|autocannon, BENCH_ROUNDS,
 * BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_COLD_RUNS, BENCH_WEBHOOK_REQUESTS,
 * BENCH_WEBHOOK_WARMUP, BENCH_ASYNC_EVENTS, BENCH_ASYNC_PUBLISH_BATCH, BENCH_ASYNC_SENDERS,
 * BENCH_ASYNC_CONCURRENCY.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiGet, removeTempDirs, startGust, writeProject } from './lib/gust.mjs';
import { pickGenerator } from './lib/load.mjs';
import { stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { fmt, table } from './lib/table.mjs';
import { asyncThroughput, printAsync } from './scenarios/async.mjs';
import { coldStart, nodeSpawnBaseline } from './scenarios/cold-start.mjs';
import { idleMemory } from './scenarios/memory.mjs';
import { throughput } from './scenarios/throughput.mjs';
import { printWebhook, webhookAccept } from './scenarios/webhook.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TARGETS = { ratioMin: 0.6, ratioAim: 0.75, coldP50MaxMs: 15, coldP50AimMs: 8 };

const config = {
  generator: process.env.BENCH_GENERATOR || undefined,
  rounds: int('BENCH_ROUNDS', 3),
  seconds: int('BENCH_SECONDS', 10),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 3),
  connections: int('BENCH_CONNECTIONS', 50),
  coldRuns: int('BENCH_COLD_RUNS', 20),
  coldSettleMs: 100,
  webhookRequests: int('BENCH_WEBHOOK_REQUESTS', 2000),
  webhookWarmup: int('BENCH_WEBHOOK_WARMUP', 200),
  asyncEvents: int('BENCH_ASYNC_EVENTS', 20_000),
  asyncPublishBatch: int('BENCH_ASYNC_PUBLISH_BATCH', 100),
  asyncSenders: int('BENCH_ASYNC_SENDERS', 4),
  asyncConcurrency: int('BENCH_ASYNC_CONCURRENCY', 100),
};

const HANDLER = "export default async function () {\n  return Response.json({ hello: 'world' });\n}\n";
const AWS_HANDLER =
  "export const handler = async () => ({\n  statusCode: 200,\n  headers: { 'content-type': 'application/json' },\n  body: JSON.stringify({ hello: 'world' }),\n});\n";
const MANIFEST = `functions:
  hello:
    handler: hello.mjs
    concurrency: 100
    scale: { min: 1, max: 1 }
    triggers:
      - http: { path: /hello, methods: [GET] }
  hello-aws:
    handler: hello-aws.mjs
    concurrency: 100
    scale: { min: 1, max: 1 }
    triggers:
      - http: { path: /hello-aws, methods: [GET] }
  cold:
    handler: hello.mjs
    memory: 256
    scale: { min: 0, max: 1, idle: 200ms }
    triggers:
      - http: { path: /cold, methods: [GET] }
`;

const progress = (text) => process.stderr.write(`  .. ${text}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function main() {
  const began = Date.now();
  const gen = pickGenerator(config.generator);
  const machine = {
    nproc: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    generator: `${gen.name} (${gen.version})`,
  };
  const command = {
    run: 'npm run bench   (= npm run build && node bench/run.mjs)',
    load: gen
      .argv('URL', config.seconds, config.connections)
      .map((a) => path.basename(a))
      .join(' '),
  };
  console.log(`Gust bench, ${new Date().toISOString()}`);
  console.log(`command:   ${command.run}`);
  console.log(
    `load:      ${command.load}  (after a ${config.warmupSeconds} s warm-up, ${config.rounds} rounds each, alternating)`,
  );
  console.log(
    `machine:   ${machine.nproc} CPUs (${machine.cpu}), ${machine.memGiB} GiB, ${machine.os}, node ${machine.node}, generator ${machine.generator}\n`,
  );

  try {
    const dir = await writeProject({
      'hello.mjs': HANDLER,
      'hello-aws.mjs': AWS_HANDLER,
      'gust.yaml': MANIFEST,
    });
    progress('starting gust up (stem cells: default)');
    const g = await startGust({ dir });
    await waitFor(
      async () =>
        (await apiGet(g, '/functions/hello')).instances === 1 &&
        (await apiGet(g, '/functions/hello-aws')).instances === 1,
      'hello to have its warm instance',
    );
    const gustUrls = { gust: `${g.url}/hello`, 'gust-aws': `${g.url}/hello-aws` };
    const tp = await throughput({ gen, gustUrls, ...config, progress });
    const cold = await coldStart({
      g,
      name: 'cold',
      runs: config.coldRuns,
      settleMs: config.coldSettleMs,
      progress,
    });
    await stopAll();
    const spawn = await nodeSpawnBaseline({ runs: config.coldRuns });
    const memory = await idleMemory({ handler: HANDLER, progress });
    const webhook = await webhookAccept({
      rounds: config.rounds,
      requests: config.webhookRequests,
      warmup: config.webhookWarmup,
      progress,
    });
    const asyncRun = await asyncThroughput({
      rounds: config.rounds,
      events: config.asyncEvents,
      publishBatch: config.asyncPublishBatch,
      senders: config.asyncSenders,
      concurrency: config.asyncConcurrency,
      progress,
    });
    const results = {
      date: new Date().toISOString(),
      command,
      machine,
      config,
      targets: TARGETS,
      throughput: tp,
      coldStart: cold,
      nodeSpawn: spawn,
      memory,
      webhook,
      async: asyncRun,
    };
    results.elapsedSeconds = Math.round((Date.now() - began) / 1000);
    print(results);
    await mkdir(path.join(HERE, 'results'), { recursive: true });
    const micro = (_key, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v);
    await writeFile(path.join(HERE, 'results', 'latest.json'), `${JSON.stringify(results, micro, 2)}\n`);
    console.log(`\nwritten: bench/results/latest.json   (whole run: ${results.elapsedSeconds} s)`);
  } finally {
    await cleanUp();
  }
}

function print(results) {
  const { throughput: tp, coldStart: cold, nodeSpawn, memory, webhook, config: c } = results;
  const verdict = (v, ok, aim) => (aim(v) ? 'meets aim' : ok(v) ? 'meets target' : 'MISSES target');
  console.log(
    `1. Throughput: GET {"hello":"world"}, ${c.connections} keep-alive connections, ${c.seconds} s per round`,
  );
  const rows = [];
  const rounds = Math.max(...tp.names.map((name) => tp.runs[name].length));
  for (let i = 0; i < rounds; i++) {
    for (const name of tp.names) {
      const r = tp.runs[name][i];
      if (r)
        rows.push([
          label(name),
          String(r.round),
          fmt(r.rps, 0),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          String(r.failed),
        ]);
    }
  }
  for (const name of tp.names) {
    const s = tp[name];
    rows.push([
      `${label(name)}, median`,
      '-',
      fmt(s.rps, 0),
      fmt(s.p50Ms, 2),
      fmt(s.p99Ms, 2),
      String(s.failed),
    ]);
  }
  console.log(table(['target', 'round', 'req/s', 'p50 ms', 'p99 ms', 'failed'], rows));
  if (results.machine.generator.startsWith('autocannon'))
    console.log('(autocannon reports latency in whole milliseconds)');
  for (const [name, ratio] of Object.entries(tp.ratios)) {
    console.log(
      `ratio ${name}/bare of median req/s: ${fmt(ratio, 2)}   (target >= ${TARGETS.ratioMin}, aim ${TARGETS.ratioAim}: ${verdict(
        ratio,
        (v) => v >= TARGETS.ratioMin,
        (v) => v >= TARGETS.ratioAim,
      )})`,
    );
  }
  console.log('');

  console.log(
    `2. Cold start after scale to zero: request -> first byte, fresh connection, ${cold.runs} runs`,
  );
  console.log(
    table(
      ['measure', 'p50 ms', 'p99 ms'],
      [
        ['gust cold request (scaled to zero)', fmt(cold.p50Ms, 2), fmt(cold.p99Ms, 2)],
        ['  of which initMs (record: module load)', fmt(cold.initMsP50, 2), '-'],
        ['gust warm request (same function, next)', fmt(cold.warmP50Ms, 2), fmt(cold.warmP99Ms, 2)],
        ['baseline: spawn node -e, to first line', fmt(nodeSpawn.p50Ms, 2), fmt(nodeSpawn.p99Ms, 2)],
      ],
    ),
  );
  console.log(
    `cold confirmed by the records: ${cold.confirmedCold}/${cold.runs}   (cold p50 target <= ${TARGETS.coldP50MaxMs} ms, aim ${TARGETS.coldP50AimMs} ms: ${verdict(
      cold.p50Ms,
      (v) => v <= TARGETS.coldP50MaxMs,
      (v) => v <= TARGETS.coldP50AimMs,
    )})\n`,
  );

  console.log('3. Idle memory (VmRSS), one warm instance after one invocation, GUST_STEM_CELLS=0');
  console.log(
    table(
      ['process', 'MiB'],
      [
        ['gust instance (node, sandboxed)', fmt(memory.instanceMiB, 1)],
        ['gust platform (gust up itself)', fmt(memory.platformMiB, 1)],
        ['baseline: idle bare node', fmt(memory.bareNodeMiB, 1)],
      ],
    ),
  );
  console.log('');
  printWebhook(webhook, '4. ');
  console.log('');
  printAsync(results.async, '5. ');
}

const LABELS = { bare: 'bare node:http', gust: 'gust hello (web)', 'gust-aws': 'gust hello (Lambda)' };
const label = (name) => LABELS[name] ?? name;

async function waitFor(check, what, timeoutMs = 30_000) {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what} after ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function cleanUp() {
  await stopAll();
  await removeTempDirs();
}

let exiting = false;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (exiting) return;
    exiting = true;
    process.stderr.write(`\n${sig}: stopping everything the bench started\n`);
    void cleanUp().finally(() => process.exit(130));
  });
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
