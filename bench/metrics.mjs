/**
 * The metrics bench (about two minutes): what metrics cost on the hot path. Two platforms of the
 * same build, one as it ships (metrics on) and one with GUST_METRICS=off, each with the warm hello
 * function of the throughput scenario (web-standard, concurrency 100, scale {min: 1, max: 1}),
 * loaded in alternating rounds (on, off, on, off, ...) by the same generator. While the "on"
 * platform is loaded, /_gust/metrics is scraped every BENCH_SCRAPE_MS (default 5000: three times
 * Prometheus' usual rate), so its cost falls in the figure too; the scrape times are reported.
 * Settings: BENCH_ROUNDS (5), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
 * BENCH_SCRAPE_MS (5000), BENCH_GENERATOR (wrk | autocannon). Writes bench/results/metrics.json.
 */
import os from 'node:os';
import client from 'prom-client';
import { removeTempDirs } from './lib/gust.mjs';
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
  scrapeMs: int('BENCH_SCRAPE_MS', 5000),
};
const progress = (text) => process.stderr.write(`  .. ${text}\n`);

/** Scrapes every `everyMs` until stopped; the time each scrape took (ms). */
function scraper(g, everyMs) {
  const times = [];
  let failed = 0;
  const scrape = async () => {
    const t = performance.now();
    const res = await fetch(`${g.url}/_gust/metrics`, { headers: { authorization: `Bearer ${g.key}` } });
    await res.text();
    if (res.status === 200) times.push(performance.now() - t);
    else failed++;
  };
  const timer = setInterval(() => void scrape().catch(() => failed++), everyMs);
  return () => {
    clearInterval(timer);
    return { times, failed };
  };
}

/**
 * The hot-path work alone, in this process: ns per `Metrics.recorded` (what each invocation pays),
 * beside the same counting into prom-client's counters and histogram, their labelled children kept.
 */
async function perRecord() {
  const { Metrics } = await import('../dist/observe/metrics.js');
  const none = {
    instances: () => [],
    stemCells: () => [],
    queues: async () => [],
    subscriptions: () => [],
    functions: () => [],
  };
  const records = Array.from({ length: 8 }, (_, i) => ({
    function: `fn${i % 4}`,
    trigger: 'http',
    status: i === 7 ? 'error' : 'ok',
    durationMs: 1.2,
    billedMs: 2,
    gbSeconds: 0.00025,
    cold: false,
    initMs: 0,
  }));
  const N = 1_000_000;
  const time = (fn) => {
    for (let i = 0; i < N / 10; i++) fn(records[i & 7]); // warm-up
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) fn(records[i & 7]);
    return Number(process.hrtime.bigint() - t) / N;
  };
  const tallied = new Metrics(none);
  // the same counting into prom-client's own series, each labelled child kept per function
  const registry = new client.Registry();
  const invocations = new client.Counter({
    name: 'i_total',
    help: 'h',
    labelNames: ['function', 'trigger', 'status'],
    registers: [registry],
  });
  const duration = new client.Histogram({
    name: 'd_seconds',
    help: 'h',
    labelNames: ['function'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  const gbs = new client.Counter({
    name: 'g_total',
    help: 'h',
    labelNames: ['function'],
    registers: [registry],
  });
  const children = new Map();
  const perCall = (r) => {
    let c = children.get(r.function);
    if (!c) {
      c = { outcomes: new Map(), duration: duration.labels(r.function), gbs: gbs.labels(r.function) };
      children.set(r.function, c);
    }
    const key = `${r.trigger} ${r.status}`;
    let o = c.outcomes.get(key);
    if (!o) {
      o = invocations.labels(r.function, r.trigger, r.status);
      c.outcomes.set(key, o);
    }
    o.inc();
    if (r.billedMs > 0) {
      c.duration.observe(r.durationMs / 1000);
      c.gbs.inc(r.gbSeconds);
    }
  };
  const rounds = { tallied: [], promClient: [] };
  for (let i = 0; i < 5; i++) {
    rounds.tallied.push(time((r) => tallied.recorded(r)));
    rounds.promClient.push(time(perCall));
  }
  return { talliedNs: median(rounds.tallied), promClientNs: median(rounds.promClient), rounds };
}

async function main() {
  const gen = pickGenerator(process.env.BENCH_GENERATOR || undefined);
  console.log(`Gust metrics bench, ${new Date().toISOString()}`);
  console.log('command:   npm run build && node bench/metrics.mjs');
  console.log(
    `machine:   ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, generator ${gen.name} (${gen.version})`,
  );
  console.log(
    `load:      ${config.connections} connections, ${config.warmupSeconds} s warm-up + ${config.seconds} s, ${config.rounds} rounds each, alternating; scrape every ${config.scrapeMs} ms while "on" runs\n`,
  );
  progress('the counting alone: 5 rounds of 1,000,000 records');
  const counting = await perRecord();
  progress('starting two platforms: metrics on, GUST_METRICS=off');
  const targets = { on: await warmHello({}), off: await warmHello({ GUST_METRICS: 'off' }) };
  const runs = { on: [], off: [] };
  const scrapes = [];
  for (let round = 1; round <= config.rounds; round++) {
    for (const [name, g] of Object.entries(targets)) {
      progress(`round ${round}/${config.rounds}: metrics ${name}`);
      const url = `${g.url}/hello`;
      await runLoad(gen, url, { seconds: config.warmupSeconds, connections: config.connections });
      const stopScraping = name === 'on' ? scraper(g, config.scrapeMs) : undefined;
      runs[name].push({ round, ...(await runLoad(gen, url, config)) });
      if (stopScraping) scrapes.push(stopScraping());
    }
  }
  const on = summarize(runs.on);
  const off = summarize(runs.off);
  const scrapeTimes = scrapes.flatMap((s) => s.times);
  const result = {
    on,
    off,
    ratio: on.rps / off.rps,
    counting,
    scrape: {
      count: scrapeTimes.length,
      p50Ms: median(scrapeTimes),
      failed: scrapes.reduce((n, s) => n + s.failed, 0),
    },
    runs,
  };
  console.log(roundsText(runs));
  console.log(`ratio: on/off ${fmt(result.ratio, 3)}`);
  console.log(
    `scrapes: ${result.scrape.count}, p50 ${fmt(result.scrape.p50Ms, 2)} ms, failed ${result.scrape.failed}`,
  );
  console.log(
    `per record: ${fmt(counting.talliedNs, 0)} ns (tallies, as shipped); ${fmt(counting.promClientNs, 0)} ns into prom-client series (children kept)`,
  );
  await writeResult('metrics', { config, generator: gen.name, ...result });
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
