/**
 * The buckets bench (about a minute): PutObject and GetObject through the AWS SDK's S3 client
 * against Gust's S3 API, beside the same bytes written (with fsync, as Gust does) and read with
 * `fs` in the same process, for 1 KB and 1 MB objects, in alternating rounds. Each operation is
 * awaited before the next (one client, one connection at a time): latency p50/p99 and throughput.
 * MinIO is not compared: no MinIO server can be installed on these machines (no package).
 * Settings: BENCH_ROUNDS (3), BENCH_OPS_1KB (300), BENCH_OPS_1MB (60). Writes bench/results/buckets.json.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { removeTempDirs, startGust, tempDir } from './lib/gust.mjs';
import { start, stopAll, waitForLine } from './lib/procs.mjs';
import { int } from './lib/settings.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROUNDS = int('BENCH_ROUNDS', 3);
const SIZES = [
  { label: '1 KB', bytes: 1024, ops: int('BENCH_OPS_1KB', 300) },
  { label: '1 MB', bytes: 1024 * 1024, ops: int('BENCH_OPS_1MB', 60) },
];
const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const median = (xs) => quantile(xs, 0.5);

async function timed(ops, fn) {
  const samples = [];
  const t0 = performance.now();
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    await fn(i);
    samples.push(performance.now() - t);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { opsPerSecond: ops / seconds, p50: quantile(samples, 0.5), p99: quantile(samples, 0.99) };
}

async function main() {
  const project = await tempDir('gust-bench-buckets-');
  const g = await startGust({ dir: project, env: { GUST_LOG_LEVEL: 'warn' } });
  const res = await fetch(`${g.url}/_gust/api/v1/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${g.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ scope: 'storage' }),
  });
  const { accessKeyId, secretAccessKey } = await res.json();
  const s3 = new S3Client({
    endpoint: g.s3Url,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId, secretAccessKey },
  });
  await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
  const fsDir = path.join(await tempDir('gust-bench-fs-'), 'objects');
  await mkdir(fsDir, { recursive: true });
  // the ceiling of any HTTP GET here: a bare node:http server (in its own process) reading the
  // same files, fetched the same way
  const bare = start(process.execPath, [path.join(HERE, 'servers', 'bare-files.mjs'), fsDir]);
  const bareUrl = await waitForLine(bare, /listening on (http:\/\/\S+)/);

  const results = [];
  for (const size of SIZES) {
    const body = randomBytes(size.bytes);
    const rounds = { s3Put: [], fsPut: [], s3Get: [], httpGet: [], fsGet: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const key = (i) => `r${round}/o${i}`;
      rounds.s3Put.push(
        await timed(size.ops, (i) =>
          s3.send(new PutObjectCommand({ Bucket: 'bench', Key: key(i), Body: body })),
        ),
      );
      rounds.fsPut.push(
        await timed(size.ops, async (i) => {
          const file = await open(path.join(fsDir, `${round}-${i}`), 'w');
          await file.write(body);
          await file.sync();
          await file.close();
        }),
      );
      rounds.s3Get.push(
        await timed(size.ops, async (i) => {
          const got = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: key(i) }));
          const bytes = await got.Body.transformToByteArray();
          if (bytes.length !== size.bytes) throw new Error('short read');
        }),
      );
      rounds.httpGet.push(
        await timed(size.ops, async (i) => {
          const got = await fetch(`${bareUrl}/${round}-${i}`);
          if ((await got.arrayBuffer()).byteLength !== size.bytes) throw new Error('short read');
        }),
      );
      rounds.fsGet.push(await timed(size.ops, (i) => readFile(path.join(fsDir, `${round}-${i}`))));
    }
    const summary = Object.fromEntries(
      Object.entries(rounds).map(([k, rs]) => [
        k,
        {
          opsPerSecond: median(rs.map((r) => r.opsPerSecond)),
          mbPerSecond: (median(rs.map((r) => r.opsPerSecond)) * size.bytes) / 1024 / 1024,
          p50: median(rs.map((r) => r.p50)),
          p99: median(rs.map((r) => r.p99)),
        },
      ]),
    );
    results.push({
      size: size.label,
      ops: size.ops,
      rounds: ROUNDS,
      ...summary,
      getRatio: summary.s3Get.opsPerSecond / summary.fsGet.opsPerSecond,
      getRatioToBareHttp: summary.s3Get.opsPerSecond / summary.httpGet.opsPerSecond,
      putRatio: summary.s3Put.opsPerSecond / summary.fsPut.opsPerSecond,
    });
  }
  s3.destroy();
  const f = (n) => n.toFixed(n < 10 ? 2 : 0);
  console.log('size  | op   | S3 API ops/s (MB/s)  p50/p99 ms | baseline ops/s (MB/s)  p50/p99 ms | ratio');
  for (const r of results) {
    for (const [op, a, b, ratio] of [
      ['PUT fs+fsync', r.s3Put, r.fsPut, r.putRatio],
      ['GET fs       ', r.s3Get, r.fsGet, r.getRatio],
      ['GET bare http', r.s3Get, r.httpGet, r.getRatioToBareHttp],
    ]) {
      console.log(
        `${r.size.padEnd(5)} | ${op}  | ${f(a.opsPerSecond)} (${f(a.mbPerSecond)})  ${f(a.p50)}/${f(a.p99)} | ${f(b.opsPerSecond)} (${f(b.mbPerSecond)})  ${f(b.p50)}/${f(b.p99)} | ${ratio.toFixed(2)}`,
      );
    }
  }
  await mkdir(path.join(HERE, 'results'), { recursive: true });
  await writeFile(
    path.join(HERE, 'results', 'buckets.json'),
    `${JSON.stringify({ at: new Date().toISOString(), results }, null, 2)}\n`,
  );
  await rm(fsDir, { recursive: true, force: true });
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(async () => {
    await stopAll();
    await removeTempDirs();
  });
