/**
 * rounds: what the benches that load targets in alternating rounds (metrics, traces, budgets) make
 * of their runs, and where they keep it.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ROOT } from './gust.mjs';
import { median } from './stats.mjs';
import { fmt, table } from './table.mjs';

/**
 * A target's rounds in a few figures: medians of req/s, p50 and p99 (ms); failed requests summed;
 * and, for rounds measured with lib/cpu.mjs withCpu, medians of the platform's CPU µs per request.
 */
export function summarize(list) {
  const cpu = list.every((r) => r.cpu !== undefined) && list.length > 0;
  return {
    rps: median(list.map((r) => r.rps)),
    p50Ms: median(list.map((r) => r.p50Ms)),
    p99Ms: median(list.map((r) => r.p99Ms)),
    failed: list.reduce((n, r) => n + r.failed, 0),
    ...(cpu
      ? { mainUs: median(list.map((r) => r.cpu.mainUs)), allUs: median(list.map((r) => r.cpu.allUs)) }
      : {}),
  };
}

/** The targets' order in round `round` (from 1): each first in turn, every other round reversed. */
export function orderOf(names, round) {
  const turned = [...names.slice(round % names.length), ...names.slice(0, round % names.length)];
  return round % 2 === 1 ? turned : turned.reverse();
}

/** `runs`: target -> its rounds. A line a round, a column a target's req/s, then a line a target's medians. */
export function roundsText(runs) {
  const names = Object.keys(runs);
  const rows = runs[names[0]].map((_, i) => [String(i + 1), ...names.map((n) => fmt(runs[n][i]?.rps, 0))]);
  const medians = names.map((n) => {
    const s = summarize(runs[n]);
    const cpu =
      s.mainUs === undefined
        ? ''
        : `, CPU ${fmt(s.mainUs, 1)} µs main thread / ${fmt(s.allUs, 1)} µs all a request`;
    return `${n}: median ${fmt(s.rps, 0)} req/s, p50 ${fmt(s.p50Ms, 2)} ms, p99 ${fmt(s.p99Ms, 2)} ms, failed ${s.failed}${cpu}`;
  });
  return [table(['round', ...names.map((n) => `${n} req/s`)], rows), '', ...medians].join('\n');
}

/** Writes bench/results/NAME.json: the date, then `body`. */
export async function writeResult(name, body) {
  const dir = path.join(ROOT, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const text = JSON.stringify({ date: new Date().toISOString(), ...body }, null, 2);
  await writeFile(path.join(dir, `${name}.json`), `${text}\n`);
}
