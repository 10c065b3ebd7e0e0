/**
 * The webhook-accept scenario alone (about a minute): request -> 202 of a signed delivery, Gust
 * beside a bare node:http server that checks the same HMAC (scenarios/webhook.mjs). Prints p50 and
 * p99 per round and their medians, and writes bench/results/webhook.json.
 * Settings: BENCH_ROUNDS (3), BENCH_WEBHOOK_REQUESTS (2000 per round), BENCH_WEBHOOK_WARMUP (200).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeTempDirs } from './lib/gust.mjs';
import { stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';
import { printWebhook, webhookAccept } from './scenarios/webhook.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const progress = (text) => process.stderr.write(`  .. ${text}\n`);

async function main() {
  const config = {
    rounds: int('BENCH_ROUNDS', 3),
    requests: int('BENCH_WEBHOOK_REQUESTS', 2000),
    warmup: int('BENCH_WEBHOOK_WARMUP', 200),
  };
  console.log(`Gust webhook bench, ${new Date().toISOString()}`);
  console.log('command:   npm run build && node bench/webhook.mjs');
  console.log(
    `machine:   ${os.availableParallelism()} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}\n`,
  );
  const result = await webhookAccept({ ...config, progress });
  printWebhook(result);
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(
    path.join(HERE, 'results', 'webhook.json'),
    `${JSON.stringify({ date: new Date().toISOString(), config, ...result }, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
