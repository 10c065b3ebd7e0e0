/**
 * throughput: the bare node:http server against the warm Gust hello function, with the same
 * generator, connections and duration, in alternating rounds (bare, gust, bare, gust, ...) so that
 * machine noise falls on both. Each measured run follows an unmeasured warm-up on the same target.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { timedGet } from '../lib/http.mjs';
import { runLoad } from '../lib/load.mjs';
import { start, stop, waitForLine } from '../lib/procs.mjs';
import { median } from '../lib/stats.mjs';

const BARE = path.resolve(fileURLToPath(import.meta.url), '../../servers/bare-hello.mjs');
const EXPECTED = JSON.stringify({ hello: 'world' });

/** `gustUrls`: name -> URL of each Gust hello function measured (web-standard, Lambda style). */
export async function throughput({ gen, gustUrls, rounds, seconds, warmupSeconds, connections, progress }) {
  const bare = start(process.execPath, [BARE]);
  try {
    const bareUrl = `${await waitForLine(bare, /listening on (http:\/\/\S+)/)}/hello`;
    const targets = { bare: bareUrl, ...gustUrls };
    for (const [name, url] of Object.entries(targets)) await expectHello(name, url);
    const runs = Object.fromEntries(Object.keys(targets).map((name) => [name, []]));
    for (let round = 1; round <= rounds; round++) {
      for (const [name, url] of Object.entries(targets)) {
        progress(`throughput round ${round}/${rounds}: ${name} (${warmupSeconds} s warm-up + ${seconds} s)`);
        await runLoad(gen, url, { seconds: warmupSeconds, connections });
        runs[name].push({ round, ...(await runLoad(gen, url, { seconds, connections })) });
      }
    }
    const summary = (list) => ({
      rps: median(list.map((r) => r.rps)),
      p50Ms: median(list.map((r) => r.p50Ms)),
      p99Ms: median(list.map((r) => r.p99Ms)),
      failed: list.reduce((n, r) => n + r.failed, 0),
    });
    const result = { runs };
    for (const name of Object.keys(targets)) result[name] = summary(runs[name]);
    const ratios = Object.fromEntries(
      Object.keys(gustUrls).map((name) => [name, result[name].rps / result.bare.rps]),
    );
    return { ...result, ratios, names: Object.keys(targets) };
  } finally {
    await stop(bare);
  }
}

async function expectHello(name, url) {
  const r = await timedGet(url);
  if (r.status !== 200 || r.body !== EXPECTED) {
    throw new Error(
      `${name} at ${url} answered ${r.status} ${r.body.slice(0, 200)} instead of 200 ${EXPECTED}`,
    );
  }
}
