/**
 * Buckets under stress: a 200 MB object through the S3 API with the platform's memory staying flat,
 * objects that survive a SIGKILL, and a bucket trigger's event delivered after one.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it, vi } from 'vitest';
import { api, deployProject, startGust, WAIT } from '../helpers/gust.js';
import { s3Client, storageKey } from '../helpers/s3.js';

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

/** Samples the RSS of `pid` every 50 ms while `work` runs; its peak. */
async function peakRss(pid: number, work: () => Promise<void>): Promise<number> {
  let peak = await rssMb(pid);
  const timer = setInterval(() => {
    rssMb(pid).then(
      (mb) => {
        peak = Math.max(peak, mb);
      },
      () => {},
    );
  }, 50);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return peak;
}

describe('large objects', () => {
  it('streams 200 MB in and out through the S3 API without the platform holding it', async () => {
    const g = await startGust();
    const s3 = s3Client(g, await storageKey(g));
    await api(g, 'GET', '/functions'); // warm
    const before = await rssMb(g.proc.pid!);
    const piece = Buffer.alloc(1024 * 1024, 3);
    const mib = 200;
    const md5 = createHash('md5');
    for (let i = 0; i < mib; i++) md5.update(piece);
    const expected = md5.digest('hex');
    await s3.send(new CreateBucketCommand({ Bucket: 'huge' }));
    const peakIn = await peakRss(g.proc.pid!, async () => {
      const body = Readable.from(
        (function* () {
          for (let i = 0; i < mib; i++) yield piece;
        })(),
      );
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'huge',
          Key: 'big.bin',
          Body: body,
          ContentLength: mib * piece.length,
        }),
      );
      expect(put.ETag).toBe(`"${expected}"`);
    });
    let seen = '';
    const peakOut = await peakRss(g.proc.pid!, async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'huge', Key: 'big.bin' }));
      const hash = createHash('md5');
      for await (const chunk of got.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
      seen = hash.digest('hex');
    });
    expect(seen).toBe(expected);
    // flat: far below the object's 200 MB (the platform's own buffers and GC slack only)
    expect(peakIn - before).toBeLessThan(80);
    expect(peakOut - before).toBeLessThan(80);
  }, 120_000);
});

describe('crashes', () => {
  it('a SIGKILL during an upload leaves the old object, and nothing of the new one after a restart', async () => {
    const first = await startGust();
    const s3 = s3Client(first, await storageKey(first));
    await s3.send(new CreateBucketCommand({ Bucket: 'docs' }));
    await s3.send(new PutObjectCommand({ Bucket: 'docs', Key: 'doc', Body: 'old' }));
    const piece = Buffer.alloc(256 * 1024, 1);
    const endless = Readable.from(
      (async function* () {
        for (let i = 0; i < 8; i++) yield piece;
        await new Promise(() => {}); // the rest never comes: the platform dies first
      })(),
    );
    const upload = s3
      .send(
        new PutObjectCommand({
          Bucket: 'docs',
          Key: 'doc',
          Body: endless,
          ContentLength: 100 * piece.length,
        }),
      )
      .catch(() => 'failed');
    const tmp = path.join(first.dataDir, 'buckets', 'tmp');
    await vi.waitFor(async () => {
      const [file] = await readdir(tmp);
      if (!file || (await stat(path.join(tmp, file))).size < piece.length)
        throw new Error('no bytes staged yet');
    }, WAIT);
    await first.stop('SIGKILL');
    expect(await upload).toBe('failed');
    const second = await startGust({ dataDir: first.dataDir });
    const again = s3Client(second, await storageKey(second));
    const got = await again.send(new GetObjectCommand({ Bucket: 'docs', Key: 'doc' }));
    expect(await got.Body?.transformToString()).toBe('old');
    expect(await readdir(tmp)).toEqual([]);
  }, 60_000);

  it('keeps objects across a SIGKILL and delivers a bucket trigger event that was running when it died', async () => {
    const first = await startGust();
    await deployProject(first, {
      'gust.yaml': `
buckets: [inbox]
kv: [done]
functions:
  slow:
    handler: f.mjs#handler
    timeout: 60s
    permissions: [kv:done:write]
    triggers:
      - bucket: { name: inbox }
`,
      'f.mjs': `
export const handler = async (event, ctx) => {
  if (ctx.attempt === 1 && event.data.key === 'first.txt') {
    await ctx.kv('done').put('started', 'yes');
    await new Promise((r) => setTimeout(r, 60_000)); // killed before it ends
  }
  await ctx.kv('done').put(event.data.key, String(ctx.attempt));
};
`,
    });
    const s3 = s3Client(first, await storageKey(first));
    await s3.send(new PutObjectCommand({ Bucket: 'inbox', Key: 'first.txt', Body: 'kept' }));
    await vi.waitFor(async () => {
      const r = await api(first, 'GET', '/kv/done/keys/started');
      if (r.status !== 200) throw new Error('the trigger has not started yet');
    }, WAIT);
    await first.stop('SIGKILL');

    const second = await startGust({ dataDir: first.dataDir });
    const again = s3Client(second, await storageKey(second));
    const got = await again.send(new GetObjectCommand({ Bucket: 'inbox', Key: 'first.txt' }));
    expect(await got.Body?.transformToString()).toBe('kept');
    const attempt = await vi.waitFor(
      async () => {
        const r = await api<{ value: string }>(second, 'GET', '/kv/done/keys/first.txt');
        if (r.status !== 200) throw new Error('the event has not been delivered again yet');
        return r.body.value;
      },
      { ...WAIT, timeout: 90_000 },
    );
    expect(Number(attempt)).toBeGreaterThanOrEqual(2);
  }, 150_000);
});
