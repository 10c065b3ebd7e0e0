/**
 * Buckets end to end: bucket triggers (filters, CloudEvents and S3 records, an unmodified Lambda
 * handler), ctx.bucket with its permissions, large objects streamed through an instance.
 */
import { createHash } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  cli,
  deployProject,
  type Gust,
  invoke,
  records,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';
import { s3Client, storageKey } from '../helpers/s3.js';

let g: Gust;
let s3: S3Client;

const FNS = `
export const remember = async (event, ctx) => {
  const key = event.data?.key ?? decodeURIComponent(event.Records[0].s3.object.key.replace(/\\+/g, ' '));
  await ctx.kv('seen').put(ctx.functionName + ':' + key, JSON.stringify(event));
};

// an unmodified Lambda handler: reads the S3 record, copies the object under a new prefix
export const handler = async (event, ctx) => {
  const { bucket, object } = event.Records[0].s3;
  const key = decodeURIComponent(object.key.replace(/\\+/g, ' '));
  const source = await ctx.bucket(bucket.name).get(key);
  await ctx.bucket('thumbs').put('copies/' + key, source.body, { contentType: source.contentType });
};

export const store = async (e, ctx) => {
  const b = ctx.bucket(e.bucket ?? 'uploads');
  try {
    if (e.op === 'put') return await b.put(e.key, e.value, e.options);
    if (e.op === 'putBig') {
      const piece = new Uint8Array(1024 * 1024).fill(7);
      const stream = new ReadableStream({
        n: 0,
        pull(c) { if (this.n++ < e.mib) c.enqueue(piece); else c.close(); },
      });
      return await b.put(e.key, stream);
    }
    if (e.op === 'get') {
      const o = await b.get(e.key);
      return o && { text: await o.text(), size: o.size, etag: o.etag, contentType: o.contentType, metadata: o.metadata };
    }
    if (e.op === 'hash') {
      const o = await b.get(e.key);
      const { createHash } = await import('node:crypto');
      const h = createHash('md5');
      let chunks = 0;
      for await (const c of o.body) { h.update(c); chunks++; }
      return { md5: h.digest('hex'), chunks, size: o.size };
    }
    if (e.op === 'twice') {
      const o = await b.get(e.key);
      const first = await o.text();
      try { await o.text(); return { first, second: 'read again' }; } catch (err) { return { first, second: err.name + ': ' + err.message }; }
    }
    if (e.op === 'delete') return await b.delete(e.key);
    if (e.op === 'list') return await b.list(e.options);
  } catch (err) {
    return err instanceof TypeError
      ? { error: err.name + ': ' + err.message, typeError: true }
      : { error: err.name + ': ' + err.message };
  }
};
`;

beforeAll(async () => {
  g = await startGust();
  s3 = s3Client(g, await storageKey(g));
  await deployProject(g, {
    'gust.yaml': `
buckets: [uploads, thumbs]
kv: [seen]
functions:
  on-png:
    handler: f.mjs#remember
    permissions: [kv:seen:write]
    triggers:
      - bucket: { name: uploads, on: [created], prefix: images/, suffix: .png }
  on-delete:
    handler: f.mjs#remember
    events: aws
    permissions: [kv:seen:write]
    triggers:
      - bucket: { name: uploads, on: [deleted], prefix: gone/ }
  on-made:
    handler: f.mjs#remember
    events: aws
    permissions: [kv:seen:write]
    triggers:
      - bucket: { name: uploads, on: [created], prefix: made/ }
  copier:
    handler: f.mjs#handler
    events: aws
    timeout: 60s
    permissions: [bucket:uploads:read, bucket:thumbs:write]
    triggers:
      - bucket: { name: uploads, prefix: incoming/ }
  writer:
    handler: f.mjs#store
    timeout: 5m
    memory: 64
    permissions: [bucket:uploads:write]
  reader:
    handler: f.mjs#store
    timeout: 5m
    memory: 64
    permissions: [bucket:uploads:read]
  stranger:
    handler: f.mjs#store
`,
    'f.mjs': FNS,
  });
});

async function seen(name: string): Promise<Record<string, unknown> | undefined> {
  const r = await api<{ value: string }>(g, 'GET', `/kv/seen/keys/${encodeURIComponent(name)}`);
  return r.status === 200 ? (JSON.parse(r.body.value) as Record<string, unknown>) : undefined;
}

describe('bucket triggers', () => {
  it('run on created objects that match prefix and suffix, with a gust.bucket.object.created CloudEvent', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'images/a.jpg', Body: 'jpg' }));
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'other/b.png', Body: 'png' }));
    await s3.send(
      new PutObjectCommand({
        Bucket: 'uploads',
        Key: 'images/c.png',
        Body: 'png!',
        ContentType: 'image/png',
      }),
    );
    const event = await vi.waitFor(async () => {
      const e = await seen('on-png:images/c.png');
      if (!e) throw new Error('on-png has not run for images/c.png yet');
      return e;
    }, WAIT);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'gust.bucket.object.created',
      source: '/gust/buckets/uploads',
      subject: 'images/c.png',
      data: {
        bucket: 'uploads',
        key: 'images/c.png',
        how: 'put',
        size: 4,
        etag: createHash('md5').update('png!').digest('hex'),
        contentType: 'image/png',
      },
    });
    const runs = await records(g, 'on-png');
    expect(runs.map((r) => r.trigger)).toEqual(['bucket']);
    // and the CLI finds them by their trigger
    const listed = await cli(g, ['invocations', 'on-png', '--trigger', 'bucket', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { invocations: unknown[] }).invocations).toHaveLength(1);
    expect(await seen('on-png:images/a.jpg')).toBeUndefined();
    expect(await seen('on-png:other/b.png')).toBeUndefined();
  });

  it('give events: aws functions an S3 notification record with the key URL-encoded', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'gone/a file+x.txt', Body: 'bye' }));
    await s3.send(new DeleteObjectCommand({ Bucket: 'uploads', Key: 'gone/a file+x.txt' }));
    const event = await vi.waitFor(async () => {
      const e = await seen('on-delete:gone/a file+x.txt');
      if (!e) throw new Error('on-delete has not run yet');
      return e as {
        Records: {
          eventName: string;
          eventSource: string;
          s3: { bucket: { name: string }; object: { key: string } };
        }[];
      };
    }, WAIT);
    expect(event.Records).toHaveLength(1);
    const [record] = event.Records;
    expect(record?.eventSource).toBe('aws:s3');
    expect(record?.eventName).toBe('ObjectRemoved:Delete');
    expect(record?.s3.bucket.name).toBe('uploads');
    expect(record?.s3.object.key).toBe('gone/a+file%2Bx.txt');
  });

  it('name each created object by how it was made, as S3 does (Put, Copy, CompleteMultipartUpload)', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'uploads', Key: 'made/put', Body: 'p' }));
    await s3.send(
      new CopyObjectCommand({ Bucket: 'uploads', Key: 'made/copy', CopySource: 'uploads/made/put' }),
    );
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'uploads', Key: 'made/mp' }),
    );
    const part = await s3.send(
      new UploadPartCommand({ Bucket: 'uploads', Key: 'made/mp', UploadId, PartNumber: 1, Body: 'm' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'uploads',
        Key: 'made/mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    const nameOf = async (key: string) => {
      const e = (await seen(`on-made:${key}`)) as
        | { Records: { eventName: string; awsRegion: string }[] }
        | undefined;
      if (!e) throw new Error(`on-made has not run for ${key} yet`);
      return e.Records[0]!;
    };
    expect(await vi.waitFor(() => nameOf('made/put'), WAIT)).toMatchObject({
      eventName: 'ObjectCreated:Put',
      awsRegion: 'us-east-1',
    });
    expect((await vi.waitFor(() => nameOf('made/copy'), WAIT)).eventName).toBe('ObjectCreated:Copy');
    expect((await vi.waitFor(() => nameOf('made/mp'), WAIT)).eventName).toBe(
      'ObjectCreated:CompleteMultipartUpload',
    );
  });

  it('run an unmodified Lambda handler that copies the object it is told about', async () => {
    const body = 'x'.repeat(3 * 1024 * 1024 + 17);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'uploads',
        Key: 'incoming/big file.txt',
        Body: body,
        ContentType: 'text/plain',
      }),
    );
    const copy = await vi.waitFor(async () => {
      return s3.send(new GetObjectCommand({ Bucket: 'thumbs', Key: 'copies/incoming/big file.txt' }));
    }, WAIT);
    expect(await copy.Body?.transformToString()).toBe(body);
    expect(copy.ContentType).toBe('text/plain');
  });
});

describe('ctx.bucket', () => {
  it('puts, gets, lists and deletes, with content type and metadata seen through S3 too', async () => {
    const put = await invoke(g, 'writer', {
      op: 'put',
      key: 'notes/one.txt',
      value: 'first note',
      options: { contentType: 'text/plain', metadata: { author: 'ada' } },
    });
    expect(put.body.result).toEqual({ size: 10, etag: createHash('md5').update('first note').digest('hex') });
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'uploads', Key: 'notes/one.txt' }));
    expect(head.ContentType).toBe('text/plain');
    expect(head.Metadata).toEqual({ author: 'ada' });
    const got = await invoke(g, 'reader', { op: 'get', key: 'notes/one.txt' });
    expect(got.body.result).toMatchObject({
      text: 'first note',
      size: 10,
      contentType: 'text/plain',
      metadata: { author: 'ada' },
    });
    await invoke(g, 'writer', { op: 'put', key: 'notes/two.txt', value: 'second' });
    const page = await invoke(g, 'reader', { op: 'list', options: { prefix: 'notes/', limit: 1 } });
    const first = page.body.result as { objects: { key: string }[]; cursor: string };
    expect(first.objects.map((o) => o.key)).toEqual(['notes/one.txt']);
    const next = await invoke(g, 'reader', {
      op: 'list',
      options: { prefix: 'notes/', cursor: first.cursor },
    });
    expect((next.body.result as { objects: { key: string }[] }).objects.map((o) => o.key)).toEqual([
      'notes/two.txt',
    ]);
    // what an S3 client could not be sent back as a header is refused, not kept
    for (const options of [
      { contentType: 'text/plain\r\nx-injected: 1' },
      { metadata: { from: 'Ünïcode' } },
      { metadata: { from: 'line1\nline2' } },
      { cacheControl: 'no-cache' },
    ]) {
      const refused = await invoke(g, 'writer', { op: 'put', key: 'notes/refused.txt', value: 'x', options });
      // a TypeError indeed, whether the instance or the platform refused it
      expect(refused.body.result).toEqual({ error: expect.stringMatching(/^TypeError: /), typeError: true });
    }
    expect((await invoke(g, 'reader', { op: 'get', key: 'notes/refused.txt' })).body.result).toBeNull();
    // a body is read once, as fetch's: a second text() throws rather than answer ""
    expect((await invoke(g, 'reader', { op: 'twice', key: 'notes/two.txt' })).body.result).toEqual({
      first: 'second',
      second: expect.stringMatching(/^TypeError: Body is unusable/),
    });
    expect((await invoke(g, 'writer', { op: 'delete', key: 'notes/two.txt' })).body.result).toBe(true);
    expect((await invoke(g, 'reader', { op: 'get', key: 'notes/two.txt' })).body.result).toBeNull();
  });

  it('streams an object larger than the function memory in and out, piece by piece', async () => {
    const mib = 96; // the functions have 64 MB
    const put = await invoke(g, 'writer', { op: 'putBig', key: 'big.bin', mib });
    expect(put.body.result).toMatchObject({ size: mib * 1024 * 1024 });
    const expected = createHash('md5');
    const piece = Buffer.alloc(1024 * 1024, 7);
    for (let i = 0; i < mib; i++) expected.update(piece);
    const md5 = expected.digest('hex');
    expect((put.body.result as { etag: string }).etag).toBe(md5);
    const read = await invoke(g, 'reader', { op: 'hash', key: 'big.bin' });
    expect(read.body.result).toEqual({ md5, chunks: mib, size: mib * 1024 * 1024 });
  }, 600_000);

  it('refuses what the permissions do not list, and allows what they do', async () => {
    const reader = await invoke(g, 'reader', { op: 'put', key: 'x', value: 'no' });
    expect(reader.body.result).toEqual({
      error: expect.stringMatching(
        /^PermissionError: ctx\.bucket\('uploads'\)\.put is not allowed: reader needs the permission bucket:uploads:write/,
      ),
    });
    const stranger = await invoke(g, 'stranger', { op: 'get', key: 'notes/one.txt' });
    expect(stranger.body.result).toEqual({
      error: expect.stringMatching(/^PermissionError: .*bucket:uploads:read/),
    });
    const other = await invoke(g, 'writer', { op: 'get', bucket: 'thumbs', key: 'x' });
    expect(other.body.result).toEqual({
      error: expect.stringMatching(/^PermissionError: .*bucket:thumbs:read/),
    });
    // write implies read
    expect((await invoke(g, 'writer', { op: 'get', key: 'notes/one.txt' })).body.result).toMatchObject({
      text: 'first note',
    });
  });

  it('keeps a bucket that deployed functions use from being deleted over S3, until they are gone', async () => {
    await s3.send(new CreateBucketCommand({ Bucket: 'made-over-s3' }));
    const dir = await writeProject(
      {
        'gust.yaml': `
project: users-of-s3-bucket
functions:
  user-of-bucket:
    handler: f.mjs#store
    permissions: [bucket:made-over-s3:read]
`,
        'f.mjs': FNS,
      },
      'users',
    );
    expect((await cli(g, ['deploy', dir])).code).toBe(0);
    const refused = await s3.send(new DeleteBucketCommand({ Bucket: 'made-over-s3' })).catch((e) => e);
    expect(refused).toMatchObject({ name: 'OperationAborted', $metadata: { httpStatusCode: 409 } });
    expect(refused.message).toContain('user-of-bucket');
    expect((await cli(g, ['rm', 'user-of-bucket', '--yes'])).code).toBe(0);
    await s3.send(new DeleteBucketCommand({ Bucket: 'made-over-s3' }));
    expect(await s3.send(new HeadBucketCommand({ Bucket: 'made-over-s3' })).catch((e) => e.name)).toBe(
      'NotFound',
    );
  });

  it('refuses a deploy that names a bucket that does not exist, by key path', async () => {
    const dir = await writeProject(
      {
        'gust.yaml': `
functions:
  lost:
    handler: f.mjs#store
    permissions: [bucket:nowhere:read]
    triggers:
      - bucket: { name: nowhere }
`,
        'f.mjs': FNS,
      },
      'lost',
    );
    const r = await cli(g, ['deploy', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('functions.lost.permissions[0]: no bucket nowhere');
    expect(r.stderr).toContain('functions.lost.triggers[0].bucket.name: no bucket nowhere');
  });
});
