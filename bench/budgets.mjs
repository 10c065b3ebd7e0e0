/**
 * The budgets bench (about two minutes): what a monthly budget costs on the hot path. One platform
 * with two copies of the warm hello function of the throughput scenario (web-standard, concurrency
 * 100, scale {min: 1, max: 1}): `hello` without a budget, `capped` with one it never reaches
 * (budget.gbSeconds 1e12), so every call of `capped` is checked and let through. Loaded in
 * alternating rounds by the same generator, the order swapped each round (capped, hello, hello,
 * capped, ...): the second of a pair ran measurably faster or slower in trial runs.
 * First, in this process, what the check and the tally cost per invocation (`Budgets.check` with a
 * budget, and without one, as every call pays; `Budgets.recorded`, as every record pays).
 * Settings: BENCH_ROUNDS (6), BENCH_SECONDS (10), BENCH_WARMUP_SECONDS (3), BENCH_CONNECTIONS (50),
 * BENCH_GENERATOR (wrk | autocannon). Writes bench/results/budgets.json.
 */
import os from 'node:os';
import { removeTempDirs } from './lib/gust.mjs';
import { HELLO_PROJECT, warmHello } from './lib/hello.mjs';
import { pickGenerator, runLoad } from './lib/load.mjs';
import { stopAll } from './lib/procs.mjs';
import { roundsText, summarize, writeResult } from './lib/rounds.mjs';
import { int } from './lib/settings.mjs';
import { median } from './lib/stats.mjs';
import { fmt } from './lib/table.mjs';

const config = {
  rounds: int('BENCH_ROUNDS', 6),
  seconds: int('BENCH_SECONDS', 10),
  warmupSeconds: int('BENCH_WARMUP_SECONDS', 3),
  connections: int('BENCH_CONNECTIONS', 50),
};
const progress = (text) => process.stderr.write(`  .. ${text}\n`);

const fn = (name, extra) => `  ${name}:
    handler: hello.mjs
    concurrency: 100
    scale: { min: 1, max: 1 }
${extra}    triggers:
      - http: { path: /${name}, methods: [GET] }
`;
const PROJECT = {
  'hello.mjs': HELLO_PROJECT['hello.mjs'],
  'gust.yaml': `functions:\n${fn('hello', '')}${fn('capped', '    budget: { gbSeconds: 1e12 }\n')}`,
};

/** ns per call of the check (with a budget, and without: what every call pays) and per record tallied. */
async function perCall() {
  const { Budgets } = await import('../dist/observe/budgets.js');
  const budgets = new Budgets();
  const record = {
    function: 'capped',
    start: new Date().toISOString(),
    gbSeconds: 0.000125,
    billedMs: 1,
  };
  const budget = { gbSeconds: 1e12 };
  const N = 1_000_000;
  const time = (call) => {
    for (let i = 0; i < N / 10; i++) call(); // warm-up
    const t = process.hrtime.bigint();
    for (let i = 0; i < N; i++) call();
    return Number(process.hrtime.bigint() - t) / N;
  };
  const rounds = { check: [], noBudget: [], recorded: [] };
  for (let i = 0; i < 5; i++) {
    rounds.check.push(time(() => budgets.check('capped', budget)));
    rounds.noBudget.push(time(() => budgets.check('hello', undefined)));
    rounds.recorded.push(time(() => budgets.recorded(record)));
  }
  return {
    checkNs: median(rounds.check),
    noBudgetNs: median(rounds.noBudget),
    recordedNs: median(rounds.recorded),
    rounds,
  };
}

async function main() {
  const gen = pickGenerator(process.env.BENCH_GENERATOR || undefined);
  console.log(`Gust budgets bench, ${new Date().toISOString()}`);
  console.log('command:   npm run build && node bench/budgets.mjs');
  console.log(
    `machine:   ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}, load average ${os
      .loadavg()
      .map((n) => n.toFixed(1))
      .join(' ')}, generator ${gen.name} (${gen.version})`,
  );
  console.log(
    `load:      ${config.connections} connections, ${config.warmupSeconds} s warm-up + ${config.seconds} s, ${config.rounds} rounds each, alternating, the order swapped each round\n`,
  );
  progress('the check and the tally alone: 5 rounds of 1,000,000 calls');
  const counting = await perCall();
  progress('starting one platform: hello (no budget) and capped (a budget never reached)');
  const g = await warmHello({}, { project: PROJECT, functions: ['hello', 'capped'] });
  const runs = { capped: [], hello: [] };
  for (let round = 1; round <= config.rounds; round++) {
    const order = round % 2 === 1 ? ['capped', 'hello'] : ['hello', 'capped'];
    for (const name of order) {
      progress(`round ${round}/${config.rounds}: ${name}`);
      const url = `${g.url}/${name}`;
      await runLoad(gen, url, { seconds: config.warmupSeconds, connections: config.connections });
      runs[name].push({ round, ...(await runLoad(gen, url, config)) });
    }
  }
  const capped = summarize(runs.capped);
  const hello = summarize(runs.hello);
  const result = { capped, hello, ratio: capped.rps / hello.rps, counting, runs };
  console.log(roundsText(runs));
  console.log(`ratio: budget/none ${fmt(result.ratio, 3)}`);
  console.log(
    `per call: check ${fmt(counting.checkNs)} ns with a budget, ${fmt(counting.noBudgetNs)} ns without; tally ${fmt(counting.recordedNs)} ns a record`,
  );
  await writeResult('budgets', { config, generator: gen.name, ...result });
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
