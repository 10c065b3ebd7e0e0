/** The bucket examples of examples/gust.yaml (`npm start`), each run as a user would. */
import path from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type Gust, invoke, ROOT, startGust, WAIT } from '../helpers/gust.js';
import { s3Client, storageKey } from '../helpers/s3.js';

let g: Gust;
let s3: S3Client;

beforeAll(async () => {
  g = await startGust({ dir: path.join(ROOT, 'examples') });
  s3 = s3Client(g, await storageKey(g));
});

describe('examples/csv-summary (a CSV streamed through csv-parse into a JSON summary)', () => {
  it('summarizes a CSV uploaded under csv/ into the reports bucket', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `item-${i},${i % 10},"${(i % 3) + 0.5}"`);
    const csv = `name,quantity,price\n${rows.join('\n')}\n`;
    await s3.send(
      new PutObjectCommand({ Bucket: 'uploads', Key: 'csv/sales.csv', Body: csv, ContentType: 'text/csv' }),
    );
    const report = await vi.waitFor(async () => {
      const got = await s3.send(new GetObjectCommand({ Bucket: 'reports', Key: 'sales.json' }));
      return JSON.parse((await got.Body?.transformToString()) ?? '') as unknown;
    }, WAIT);
    const quantity = rows.reduce((sum, _r, i) => sum + (i % 10), 0);
    const price = rows.reduce((sum, _r, i) => sum + (i % 3) + 0.5, 0);
    expect(report).toEqual({ source: 'uploads/csv/sales.csv', rows: 5000, sums: { quantity, price } });
  });
});

describe('examples/thumbnails (an unmodified Lambda S3 handler)', () => {
  it('copies a photo to the thumbs bucket under small/', async () => {
    const photo = Buffer.alloc(200_000, 9);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'uploads',
        Key: 'photos/my café.jpg',
        Body: photo,
        ContentType: 'image/jpeg',
      }),
    );
    const copy = await vi.waitFor(
      () => s3.send(new GetObjectCommand({ Bucket: 'thumbs', Key: 'small/my café.jpg' })),
      WAIT,
    );
    expect(Buffer.from(await copy.Body!.transformToByteArray()).equals(photo)).toBe(true);
    expect(copy.ContentType).toBe('image/jpeg');
    // metadata is ASCII as on S3: the example percent-encodes the key it names
    expect(copy.Metadata).toEqual({ source: encodeURIComponent('uploads/photos/my café.jpg') });
  });
});

describe('examples/nightly-cleanup (a scheduled function deleting old objects)', () => {
  it('deletes what is under tmp/ and older than asked, and nothing else', async () => {
    for (const Key of ['tmp/a', 'tmp/b', 'keep/c'])
      await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key, Body: Key }));
    const young = await invoke(g, 'nightly-cleanup', null);
    expect(young.body.result).toEqual({ deleted: [] }); // nothing is a day old yet
    const now = await invoke(g, 'nightly-cleanup', { olderThanMs: 0 });
    expect(now.body.result).toEqual({ deleted: ['tmp/a', 'tmp/b'] });
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'uploads', Prefix: 'keep/' }));
    expect(left.Contents?.map((o) => o.Key)).toEqual(['keep/c']);
  });
});
