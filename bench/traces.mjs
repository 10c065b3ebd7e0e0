/**
 * The traces bench (about seven minutes): the cost of observability on the hot path. Five platforms
 * of the same build, each with the warm hello function of the throughput scenario (web-standard,
 * concurrency 100, scale {min: 1, max: 1}), loaded in alternating rounds by the same generator:
 * - `all on`: metrics on, inputs kept for replay (as Gust ships), and spans exported over OTLP/HTTP
 *   to a receiver in this process (it counts the spans it gets, as a collector would take them,
 *   without keeping them);
 * - `sampled 0.1`: the same with GUST_TRACES_SAMPLE=0.1 (the spans of a trace in ten exported);
 * - `metrics`: as Gust ships without GUST_OTLP_URL (metrics on, inputs kept, no spans);
 * - `no inputs`: metrics on, GUST_REPLAY_RETENTION=0 (no inputs kept), no spans;
 * - `all off`: GUST_METRICS=off, GUST_REPLAY_RETENTION=0 and no GUST_OTLP_URL.
 * Each target in turn goes first, every other round in the reverse order; beside req/s, the
 * platform's CPU per request (lib/cpu.mjs: its main thread, and all its threads).
 * Invocation records have no switch: every target writes them (they are the product's records).
 * First, in this process, what `Traces.ended` costs the platform's thread per invocation (its facts
 * noted and handed to the trace worker in batches), and the wall time per invocation until the
 * worker has made, serialized and sent all the spans.
 * Settings: BENCH_ROUNDS (5), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
 * BENCH_GENERATOR (wrk | autocannon). Writes bench/results/traces.json.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import { withCpu } from './lib/cpu.mjs';
import { removeTempDirs } from './lib/gust.mjs';
import { printHeader } from './lib/header.mjs';
import { warmHello } from './lib/hello.mjs';
import { pickGenerator, runLoad } from './lib/load.mjs';
import { stopAll } from './lib/procs.mjs';
import { orderOf, roundsText, summarize, writeResult } from './lib/rounds.mjs';
import { int } from './lib/settings.mjs';
import { fmt } from './lib/table.mjs';

const config = {
  rounds: int('BENCH_ROUNDS', 5),
  seconds: int('BENCH_SECONDS', 10),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 3),
  connections: int('BENCH_CONNECTIONS', 50),
};
const progress = (text) => process.stderr.write(`  .. ${text}\n`);

/** An OTLP/HTTP receiver: counts the spans of each POST /v1/traces (JSON) and answers 200. */
async function receiver() {
  const got = { requests: 0, spans: 0, bytes: 0 };
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (c) => {
      text += c;
    });
    req.on('end', () => {
      got.requests++;
      got.bytes += text.length;
      for (let at = text.indexOf('"spanId"'); at !== -1; at = text.indexOf('"spanId"', at + 8)) got.spans++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${server.address().port}`, got, close: () => server.close() };
}

/**
 * In this process: ns per `Traces.ended` (what the platform's thread pays), and µs per invocation
 * of wall time until every span is sent (the worker's pace).
 */
async function perInvocation(url) {
  const { Traces } = await import('../dist/observe/traces.js');
  const { eventInvocation } = await import('../dist/dispatch/invocation.js');
  const { newTrace } = await import('../dist/observe/trace-context.js');
  const traces = new Traces({ url, warn: (m) => console.error(m), onError: (e) => console.error(String(e)) });
  const inv = eventInvocation({ function: 'hello', trigger: 'http', trace: newTrace(), event: {} });
  const record = {
    ...{ id: inv.id, attempt: 1, function: 'hello', version: 1, trigger: 'http', instance: 'i-1' },
    ...{ queuedMs: 0.02, durationMs: 1.1, billedMs: 2, memoryMb: 128, gbSeconds: 0.00025, cold: false },
    ...{ initMs: 0, status: 'ok', error: null, traceId: inv.traceId, spanId: inv.spanId, parentSpanId: null },
  };
  const CHUNK = 1000;
  const CHUNKS = 100;
  let syncNs = 0;
  const started = process.hrtime.bigint();
  for (let c = 0; c < CHUNKS; c++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < CHUNK; i++) traces.ended(inv, record);
    syncNs += Number(process.hrtime.bigint() - t);
    await new Promise((r) => setImmediate(r)); // exports run between chunks, as between requests
  }
  await traces.close();
  const totalNs = Number(process.hrtime.bigint() - started);
  return { endedNs: syncNs / (CHUNK * CHUNKS), totalUs: totalNs / (CHUNK * CHUNKS) / 1000 };
}

async function main() {
  const gen = pickGenerator(process.env.BENCH_GENERATOR || undefined);
  printHeader('traces', 'npm run build && node bench/traces.mjs');
  console.log(
    `load:      generator ${gen.name} (${gen.version}), ${config.connections} connections, ${config.warmupSeconds} s warm-up + ${config.seconds} s, ${config.rounds} rounds each, alternating, the order turned each round\n`,
  );
  const otlp = await receiver();
  progress('spans alone: 100,000 invocations in this process');
  const spanCost = await perInvocation(otlp.url);
  const inProcess = { ...otlp.got };
  otlp.got.requests = otlp.got.spans = otlp.got.bytes = 0;
  progress(
    'starting five platforms: all on, all on with a tenth of traces exported, as shipped (metrics, inputs), metrics without inputs, all off',
  );
  const targets = {
    'all on': await warmHello({ GUST_OTLP_URL: otlp.url }),
    'sampled 0.1': await warmHello({ GUST_OTLP_URL: otlp.url, GUST_TRACES_SAMPLE: '0.1' }),
    metrics: await warmHello({}),
    'no inputs': await warmHello({ GUST_REPLAY_RETENTION: '0' }),
    'all off': await warmHello({ GUST_METRICS: 'off', GUST_REPLAY_RETENTION: '0' }),
  };
  const names = Object.keys(targets);
  const runs = Object.fromEntries(names.map((k) => [k, []]));
  let measuredRequests = 0;
  for (let round = 1; round <= config.rounds; round++) {
    for (const name of orderOf(names, round)) {
      progress(`round ${round}/${config.rounds}: ${name}`);
      const url = `${targets[name].url}/hello`;
      await runLoad(gen, url, { seconds: config.warmupSeconds, connections: config.connections });
      const run = await withCpu(targets[name].proc.child.pid, () => runLoad(gen, url, config));
      runs[name].push({ round, ...run });
      if (name === 'all on') measuredRequests += run.requests ?? 0;
    }
  }
  // every span of every call made to "all on" reaches the receiver (each batch within a second)
  await new Promise((r) => setTimeout(r, 2000));
  const s = Object.fromEntries(Object.entries(runs).map(([k, list]) => [k, summarize(list)]));
  const result = {
    summary: s,
    ratio: {
      allOnOverAllOff: s['all on'].rps / s['all off'].rps,
      sampledOverAllOff: s['sampled 0.1'].rps / s['all off'].rps,
      allOnOverMetrics: s['all on'].rps / s.metrics.rps,
      metricsOverNoInputs: s.metrics.rps / s['no inputs'].rps,
      noInputsOverAllOff: s['no inputs'].rps / s['all off'].rps,
    },
    spanCost,
    inProcess,
    received: { ...otlp.got, measuredRequests },
    runs,
  };
  console.log(roundsText(runs));
  const r = result.ratio;
  console.log(
    `ratio     all on / all off ${fmt(r.allOnOverAllOff, 3)}; sampled 0.1 / all off ${fmt(r.sampledOverAllOff, 3)}; spans: all on / metrics ${fmt(r.allOnOverMetrics, 3)}; inputs: metrics / no inputs ${fmt(r.metricsOverNoInputs, 3)}; metrics: no inputs / all off ${fmt(r.noInputsOverAllOff, 3)}`,
  );
  console.log(
    `spans     ${otlp.got.spans} received in ${otlp.got.requests} requests (${fmt(otlp.got.bytes / 1e6, 1)} MB) for the "all on" platform`,
  );
  console.log(
    `per call  Traces.ended ${fmt(spanCost.endedNs, 0)} ns on the platform's thread; ${fmt(spanCost.totalUs, 1)} µs of wall time until its spans were sent (worker)`,
  );
  otlp.close();
  await writeResult('traces', { config, generator: gen.name, ...result });
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
