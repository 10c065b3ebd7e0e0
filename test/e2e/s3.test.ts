/** The S3 API end to end, through the real AWS SDK S3 client against a real `gust up`. */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Gust, startGust } from '../helpers/gust.js';
import { s3Client, storageKey } from '../helpers/s3.js';

let g: Gust;
let s3: S3Client;

beforeAll(async () => {
  g = await startGust();
  s3 = s3Client(g, await storageKey(g));
});

/** The S3 error code a call fails with. */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    const { name, $metadata } = e as { name: string; $metadata?: { httpStatusCode?: number } };
    // a 304 has no body to name it
    return $metadata?.httpStatusCode === 304 ? '304' : name;
  }
  return 'no error';
}

describe('buckets through the S3 API', () => {
  it('creates, lists, heads and deletes a bucket; a second create is BucketAlreadyOwnedByYou', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'photos' }));
    const listed = await s3.send(new ListBucketsCommand({}));
    expect(listed.Buckets?.map((b) => b.Name)).toContain('photos');
    await s3.send(new HeadBucketCommand({ Bucket: 'photos' }));
    expect(await codeOf(s3.send(new CreateBucketCommand({ Bucket: 'photos' })))).toBe(
      'BucketAlreadyOwnedByYou',
    );
    await s3.send(new DeleteBucketCommand({ Bucket: 'photos' }));
    expect(await codeOf(s3.send(new HeadBucketCommand({ Bucket: 'photos' })))).toBe('NotFound');
    expect(await codeOf(s3.send(new DeleteBucketCommand({ Bucket: 'photos' })))).toBe('NoSuchBucket');
  });

  it('refuses to delete a bucket that holds objects (BucketNotEmpty)', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'full' }));
    await s3.send(new PutObjectCommand({ Bucket: 'full', Key: 'a', Body: 'x' }));
    expect(await codeOf(s3.send(new DeleteBucketCommand({ Bucket: 'full' })))).toBe('BucketNotEmpty');
    await s3.send(new DeleteObjectCommand({ Bucket: 'full', Key: 'a' }));
    await s3.send(new DeleteBucketCommand({ Bucket: 'full' }));
  });

  it('refuses a bucket name S3 would refuse', async () => {
    expect(await codeOf(s3.send(new CreateBucketCommand({ Bucket: 'Bad_Name' })))).toBe('InvalidBucketName');
  });
});

describe('objects through the S3 API', () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'data' }));
  });

  it('puts and gets an object with its content type, user metadata and MD5 ETag', async () => {
    const body = 'hello, buckets';
    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'docs/hello world+1.txt',
        Body: body,
        ContentType: 'text/plain',
        Metadata: { owner: 'ada', purpose: 'test' },
      }),
    );
    const md5 = createHash('md5').update(body).digest('hex');
    expect(put.ETag).toBe(`"${md5}"`);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'docs/hello world+1.txt' }));
    expect(await got.Body?.transformToString()).toBe(body);
    expect(got.ContentType).toBe('text/plain');
    expect(got.Metadata).toEqual({ owner: 'ada', purpose: 'test' });
    expect(got.ETag).toBe(`"${md5}"`);
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'docs/hello world+1.txt' }));
    expect(head.ContentLength).toBe(body.length);
  });

  it('streams a body of unknown length (aws-chunked with a trailing CRC32)', async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const whole = Buffer.concat(chunks);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'stream.bin',
        Body: Readable.from(chunks),
        ContentLength: whole.length,
      }),
    );
    const got = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'stream.bin', ChecksumMode: 'ENABLED' }),
    );
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.equals(whole)).toBe(true);
  });

  it('serves a Range, and 304 for If-None-Match and If-Modified-Since', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'range.txt', Body: '0123456789' }));
    const part = await s3.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'range.txt', Range: 'bytes=2-5' }),
    );
    expect(await part.Body?.transformToString()).toBe('2345');
    expect(part.ContentRange).toBe('bytes 2-5/10');
    const tail = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'range.txt', Range: 'bytes=-3' }));
    expect(await tail.Body?.transformToString()).toBe('789');
    expect(
      await codeOf(s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'range.txt', Range: 'bytes=20-' }))),
    ).toBe('InvalidRange');
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'range.txt' }));
    const notModified = await codeOf(
      s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'range.txt', IfNoneMatch: head.ETag })),
    );
    expect(notModified).toBe('304');
    const since = await codeOf(
      s3.send(
        new GetObjectCommand({
          Bucket: 'data',
          Key: 'range.txt',
          IfModifiedSince: new Date(Date.now() + 60_000),
        }),
      ),
    );
    expect(since).toBe('304');
  });

  it('answers NoSuchKey and NoSuchBucket', async () => {
    expect(await codeOf(s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'missing' })))).toBe('NoSuchKey');
    expect(await codeOf(s3.send(new GetObjectCommand({ Bucket: 'nope', Key: 'x' })))).toBe('NoSuchBucket');
  });

  it('lists with prefix, delimiter, max-keys, continuation and start-after', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'tree' }));
    const keys = ['a/1', 'a/2', 'a/b/3', 'c/4', 'd', 'e'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: 'tree', Key, Body: Key }));
    const top = await s3.send(new ListObjectsV2Command({ Bucket: 'tree', Delimiter: '/' }));
    expect(top.Contents?.map((o) => o.Key)).toEqual(['d', 'e']);
    expect(top.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/', 'c/']);
    const inA = await s3.send(new ListObjectsV2Command({ Bucket: 'tree', Prefix: 'a/', Delimiter: '/' }));
    expect(inA.Contents?.map((o) => o.Key)).toEqual(['a/1', 'a/2']);
    expect(inA.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['a/b/']);
    const seen: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(
        new ListObjectsV2Command({ Bucket: 'tree', MaxKeys: 2, ContinuationToken: token }),
      );
      seen.push(...(page.Contents ?? []).map((o) => o.Key!));
      expect(page.KeyCount).toBeLessThanOrEqual(2);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    expect(seen).toEqual(keys);
    const after = await s3.send(new ListObjectsV2Command({ Bucket: 'tree', StartAfter: 'c/4' }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(['d', 'e']);
  });

  it('copies an object, keeping or replacing its metadata', async () => {
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'orig',
        Body: 'copy me',
        ContentType: 'text/x',
        Metadata: { a: '1' },
      }),
    );
    await s3.send(new CopyObjectCommand({ Bucket: 'data', Key: 'copy', CopySource: 'data/orig' }));
    const copy = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'copy' }));
    expect(await copy.Body?.transformToString()).toBe('copy me');
    expect(copy.Metadata).toEqual({ a: '1' });
    expect(copy.ContentType).toBe('text/x');
    await s3.send(
      new CopyObjectCommand({
        Bucket: 'data',
        Key: 'copy2',
        CopySource: 'data/orig',
        MetadataDirective: 'REPLACE',
        Metadata: { b: '2' },
        ContentType: 'text/y',
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'copy2' }));
    expect(replaced.Metadata).toEqual({ b: '2' });
    expect(replaced.ContentType).toBe('text/y');
  });

  it('deletes one object and many at once', async () => {
    for (const Key of ['x1', 'x2', 'x3'])
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key, Body: Key }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'x1' }));
    const many = await s3.send(
      new DeleteObjectsCommand({ Bucket: 'data', Delete: { Objects: [{ Key: 'x2' }, { Key: 'x3' }] } }),
    );
    expect(many.Deleted?.map((d) => d.Key).sort()).toEqual(['x2', 'x3']);
    const left = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'x' }));
    expect(left.KeyCount).toBe(0);
  });
});
