/**
 * cold-start: need -> first byte of a function that scaled to zero. Each run waits until the
 * platform reports no instance, lets the stopped process go (settleMs), then times one request on
 * a fresh connection, and checks with the invocation record that it was the cold one. A second
 * request right after gives the warm time of the same path, for comparison.
 * The baseline is what any cold start without a pre-started process costs at least: a fresh
 * `node` that prints one line.
 */
import { apiGet } from '../lib/gust.mjs';
import { timedGet } from '../lib/http.mjs';
import { start } from '../lib/procs.mjs';
import { percentile } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function coldStart({ g, name, runs, settleMs, progress }) {
  const samples = [];
  // One unmeasured run: the first load of the bundle from disk is not what later cold starts pay.
  for (let i = 0; i <= runs; i++) {
    progress(`cold start ${i}/${runs}`);
    await waitForZero(g, name);
    await sleep(settleMs);
    const cold = await timedGet(`${g.url}/${name}`);
    if (cold.status !== 200) throw new Error(`${name} answered ${cold.status}: ${cold.body}`);
    const record = await recordOf(g, name, cold.headers['x-gust-invocation-id']);
    const warm = await timedGet(`${g.url}/${name}`);
    if (i > 0)
      samples.push({
        ttfbMs: cold.ttfbMs,
        warmTtfbMs: warm.ttfbMs,
        cold: record.cold,
        initMs: record.initMs,
        durationMs: record.durationMs,
      });
  }
  const pick = (key, p) =>
    percentile(
      samples.map((s) => s[key]),
      p,
    );
  return {
    runs: samples.length,
    confirmedCold: samples.filter((s) => s.cold).length,
    p50Ms: pick('ttfbMs', 50),
    p99Ms: pick('ttfbMs', 99),
    initMsP50: pick('initMs', 50),
    warmP50Ms: pick('warmTtfbMs', 50),
    warmP99Ms: pick('warmTtfbMs', 99),
    samples,
  };
}

/** Time from spawning `node -e` to its first line on stdout. */
export async function nodeSpawnBaseline({ runs }) {
  const times = [];
  for (let i = 0; i <= runs; i++) {
    const started = performance.now();
    const proc = start(process.execPath, ['-e', 'console.log("up")']);
    await new Promise((resolve, reject) => {
      proc.child.stdout.once('data', resolve);
      void proc.exited.then((how) =>
        how === 0 ? resolve() : reject(new Error(`node -e exited with ${how}`)),
      );
    });
    if (i > 0) times.push(performance.now() - started);
    await proc.exited;
  }
  const samples = times.map((ms) => ({ ms }));
  return { runs: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), samples };
}

async function waitForZero(g, name, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while ((await apiGet(g, `/functions/${name}`)).instances !== 0) {
    if (Date.now() > until)
      throw new Error(`${name} still has instances after ${timeoutMs} ms (scale.idle not honoured?)`);
    await sleep(20);
  }
}

async function recordOf(g, name, id) {
  const [record] = (await apiGet(g, `/functions/${name}/invocations?limit=1`)).invocations;
  if (!record || record.id !== id)
    throw new Error(`the newest record of ${name} is ${record?.id}, not the request's ${id}`);
  return record;
}
