/**
 * The KV bench (about a minute): puts and gets per second from inside a function through ctx.kv
 * (the binding: IPC to the platform, the permission check, SQLite), beside the same operations on
 * SQLite directly in one process (better-sqlite3, the same table and pragmas as the platform's),
 * in alternating rounds; and the cost of the permission check alone per call.
 * Settings: BENCH_ROUNDS (5), BENCH_KV_OPS (2000 per kind and round).
 * Writes bench/results/kv.json.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { refusal } from '../dist/services/permissions.js';
import { removeTempDirs, startGust, tempDir, writeProject } from './lib/gust.mjs';
import { stopAll } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = int('BENCH_ROUNDS', 5);
const OPS = int('BENCH_KV_OPS', 2000);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Times OPS puts, then OPS gets of the keys put, one after the other (each awaited). */
const FUNCTION = `export const handler = async (e, ctx) => {
  const ns = ctx.kv('bench');
  const value = 'v'.repeat(100);
  let t = performance.now();
  for (let i = 0; i < e.ops; i++) await ns.put('k' + (e.round * e.ops + i), value);
  const putMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < e.ops; i++) await ns.get('k' + (e.round * e.ops + i));
  const getMs = performance.now() - t;
  // the same gets 50 at a time (Promise.all), as a function that reads several keys does
  t = performance.now();
  for (let i = 0; i < e.ops; i += 50) {
    await Promise.all(Array.from({ length: 50 }, (_, j) => ns.get('k' + (e.round * e.ops + i + j))));
  }
  const manyMs = performance.now() - t;
  return { put: (e.ops / putMs) * 1000, get: (e.ops / getMs) * 1000, getMany: (e.ops / manyMs) * 1000 };
};`;

async function direct(round) {
  const dir = await tempDir('gust-bench-kv-');
  const db = new Database(path.join(dir, 'direct.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE kv (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires_at INTEGER, updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key)) WITHOUT ROWID',
  );
  const put = db.prepare(
    'INSERT INTO kv (namespace, key, value, expires_at, updated_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at, updated_at = excluded.updated_at',
  );
  const get = db.prepare(
    'SELECT key, value, expires_at FROM kv WHERE namespace = ? AND key = ? AND (expires_at IS NULL OR expires_at > ?)',
  );
  const value = 'v'.repeat(100);
  let t = performance.now();
  // one transaction per put, as the platform's: each is durable on its own
  for (let i = 0; i < OPS; i++)
    db.transaction(() => put.run('bench', `k${round * OPS + i}`, value, null, Date.now()))();
  const putMs = performance.now() - t;
  t = performance.now();
  for (let i = 0; i < OPS; i++) get.get('bench', `k${round * OPS + i}`, Date.now());
  const getMs = performance.now() - t;
  db.close();
  return { put: (OPS / putMs) * 1000, get: (OPS / getMs) * 1000 };
}

function permissionCheckNs() {
  const spec = { name: 'f', permissions: ['topic:a:publish', 'kv:other:read', 'kv:bench:write'] };
  const n = 1_000_000;
  const t = performance.now();
  for (let i = 0; i < n; i++) refusal(spec, 'kv:bench:read', 'ctx.kv');
  return ((performance.now() - t) / n) * 1e6;
}

async function main() {
  console.log(`Gust KV bench, ${new Date().toISOString()}`);
  console.log('command:   npm run build && node bench/kv.mjs');
  console.log(
    `machine:   ${os.availableParallelism()} CPUs, node ${process.version}, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}\n`,
  );
  const dir = await writeProject({
    'gust.yaml':
      'kv: [bench]\nfunctions:\n  kv:\n    handler: kv.mjs\n    timeout: 5m\n    permissions: [kv:bench:write]\n',
    'kv.mjs': FUNCTION,
  });
  const g = await startGust({ dir });
  const invoke = async (event) => {
    const res = await fetch(`${g.url}/_gust/api/v1/functions/kv/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${g.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ data: event }),
    });
    const body = await res.json();
    if (!body.result) throw new Error(JSON.stringify(body));
    return body.result;
  };
  await invoke({ ops: 200, round: 1000 }); // warm: the instance, and the code paths
  const rows = [];
  for (let round = 0; round < ROUNDS; round++) {
    const viaBinding = await invoke({ ops: OPS, round });
    const viaSqlite = await direct(round);
    rows.push({ viaBinding, viaSqlite });
    console.log(
      `round ${round + 1}: binding put ${viaBinding.put.toFixed(0)}/s get ${viaBinding.get.toFixed(0)}/s | direct put ${viaSqlite.put.toFixed(0)}/s get ${viaSqlite.get.toFixed(0)}/s`,
    );
  }
  const m = (f) => median(rows.map(f));
  const result = {
    bindingPut: m((r) => r.viaBinding.put),
    bindingGet: m((r) => r.viaBinding.get),
    bindingGetMany: m((r) => r.viaBinding.getMany),
    directPut: m((r) => r.viaSqlite.put),
    directGet: m((r) => r.viaSqlite.get),
    permissionCheckNs: permissionCheckNs(),
  };
  console.log(
    `\nmedian of ${ROUNDS} rounds of ${OPS}:\n  put: ${result.bindingPut.toFixed(0)}/s through ctx.kv, ${result.directPut.toFixed(0)}/s direct (ratio ${(result.bindingPut / result.directPut).toFixed(2)})\n  get: ${result.bindingGet.toFixed(0)}/s through ctx.kv, ${result.directGet.toFixed(0)}/s direct (ratio ${(result.bindingGet / result.directGet).toFixed(2)}); 50 at a time ${result.bindingGetMany.toFixed(0)}/s (ratio ${(result.bindingGetMany / result.directGet).toFixed(2)})\n  permission check: ${result.permissionCheckNs.toFixed(0)} ns a call`,
  );
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(
    path.join(HERE, 'results', 'kv.json'),
    `${JSON.stringify({ date: new Date().toISOString(), ...result }, null, 2)}\n`,
  );
}

try {
  await main();
} finally {
  await stopAll();
  await removeTempDirs();
}
