/**
 * webhook: how long a webhook sender waits for its 202. One sender, one keep-alive connection,
 * one delivery at a time (as GitHub and Stripe send), each a new signed hmac-sha256 delivery with
 * its own X-Delivery-Id, timed from the call to the end of the answer. Against Gust (verify with
 * the secret, claim the delivery id, queue the event durably, answer; the trivial function then
 * runs in the background, as it would) and a bare node:http server that checks the same HMAC and
 * answers 202 at once, queueing nothing. Rounds alternate, bare, gust, bare, gust, ... with an
 * unmeasured warm-up before each.
 */
import { createHmac, randomUUID } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploy, setSecret, startGust, tempDir, writeProject } from '../lib/gust.mjs';
import { start, stop, waitForLine } from '../lib/procs.mjs';
import { median, percentile } from '../lib/stats.mjs';
import { fmt, table } from '../lib/table.mjs';

const BARE = path.resolve(fileURLToPath(import.meta.url), '../../servers/bare-webhook.mjs');
const SECRET = 'bench-webhook-secret';
const HANDLER = 'export const handler = async () => {};\n';
const MANIFEST = `functions:
  hook:
    handler: hook.mjs
    triggers:
      - webhook: { path: /hooks/bench, verify: hmac-sha256, secret: HOOK_SECRET }
`;

export async function webhookAccept({ rounds, requests, warmup, progress }) {
  progress('webhook accept: platform, secret and function');
  // a folder without gust.yaml: gust up starts empty, the function is deployed once its secret is set
  const g = await startGust({ dir: await tempDir('gust-bench-empty-') });
  const bare = start(process.execPath, [BARE], { env: { ...process.env, WEBHOOK_SECRET: SECRET } });
  const bareUrl = waitForLine(bare, /listening on (http:\/\/\S+)/);
  try {
    await setSecret(g, 'HOOK_SECRET', SECRET);
    await deploy(g, await writeProject({ 'gust.yaml': MANIFEST, 'hook.mjs': HANDLER }));
    const targets = { bare: `${await bareUrl}/hooks/bench`, gust: `${g.url}/hooks/bench` };
    const samples = { bare: [], gust: [] };
    const runs = { bare: [], gust: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const [name, url] of Object.entries(targets)) {
        progress(`webhook accept round ${round}/${rounds}: ${name} (${warmup} + ${requests} deliveries)`);
        await sequential(url, warmup);
        const times = await sequential(url, requests);
        samples[name].push(...times);
        runs[name].push({ round, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) });
      }
    }
    const summary = (name) => ({
      p50Ms: median(runs[name].map((r) => r.p50Ms)),
      p99Ms: median(runs[name].map((r) => r.p99Ms)),
      allP50Ms: percentile(samples[name], 50),
      allP99Ms: percentile(samples[name], 99),
    });
    const result = { requests, rounds, runs, bare: summary('bare'), gust: summary('gust') };
    result.ratioP50 = result.gust.p50Ms / result.bare.p50Ms;
    result.ratioP99 = result.gust.p99Ms / result.bare.p99Ms;
    return result;
  } finally {
    await stop(bare);
    await stop(g.proc);
  }
}

/** `count` deliveries one after another on one keep-alive connection; each one's ms, call to end of answer. */
async function sequential(url, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const times = [];
  try {
    for (let i = 0; i < count; i++) {
      const body = JSON.stringify({ order: i, at: Date.now() });
      const headers = {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'x-signature-256': `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`,
        'x-delivery-id': randomUUID(),
        'x-event': 'bench',
      };
      const started = performance.now();
      const status = await postOnce(url, agent, headers, body);
      times.push(performance.now() - started);
      if (status !== 202) throw new Error(`${url} answered ${status} instead of 202`);
    }
  } finally {
    agent.destroy();
  }
  return times;
}

function postOnce(url, agent, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers }, (res) => {
      res.on('data', () => {});
      res.on('end', () => resolve(res.statusCode));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The table of a webhookAccept result. */
export function printWebhook(w, heading = '') {
  console.log(
    `${heading}Webhook accept: signed hmac-sha256 delivery -> 202, one sender, one keep-alive connection, ${w.requests} deliveries per round`,
  );
  const rows = [];
  for (let i = 0; i < w.rounds; i++) {
    for (const name of ['bare', 'gust']) {
      const r = w.runs[name][i];
      rows.push([label(name), String(r.round), fmt(r.p50Ms, 3), fmt(r.p99Ms, 3)]);
    }
  }
  for (const name of ['bare', 'gust']) {
    rows.push([`${label(name)}, median`, '-', fmt(w[name].p50Ms, 3), fmt(w[name].p99Ms, 3)]);
  }
  console.log(table(['target', 'round', 'p50 ms', 'p99 ms'], rows));
  console.log(`ratio gust/bare: p50 ${fmt(w.ratioP50, 2)}, p99 ${fmt(w.ratioP99, 2)}`);
}

const label = (name) =>
  name === 'bare' ? 'bare node:http + HMAC check' : 'gust webhook (verify, dedupe, queue)';
