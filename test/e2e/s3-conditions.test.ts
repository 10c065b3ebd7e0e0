/**
 * The S3 API's conditional writes, kept headers and response overrides, copy rules, what it does
 * not implement (NotImplemented rather than a success that ignored the ask), XML character
 * references, SigV2 and max-keys=0: each a way an S3 client could have been told something untrue.
 */
import http from 'node:http';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { beforeAll, describe, expect, it } from 'vitest';
import { api, type Gust, startGust } from '../helpers/gust.js';
import { type KeyPair, s3Client, storageKey } from '../helpers/s3.js';

let g: Gust;
let s3: S3Client;
let pair: KeyPair;
const Bucket = 'conds';

beforeAll(async () => {
  g = await startGust();
  pair = await storageKey(g);
  s3 = s3Client(g, pair);
  await s3.send(new CreateBucketCommand({ Bucket }));
});

/** The S3 error code a call fails with, and its HTTP status. */
async function failure(p: Promise<unknown>): Promise<{ code: string; status: number | undefined }> {
  try {
    await p;
  } catch (e) {
    const err = e as { name: string; $metadata?: { httpStatusCode?: number } };
    return { code: err.name, status: err.$metadata?.httpStatusCode };
  }
  return { code: 'no error', status: 200 };
}

const body = async (Key: string) =>
  (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body?.transformToString();

describe('conditional writes', () => {
  it('PutObject with If-None-Match: * writes only where no object is, and If-Match only over that ETag', async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'v1', IfNoneMatch: '*' }));
    expect(
      await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'v2', IfNoneMatch: '*' }))),
    ).toEqual({
      code: 'PreconditionFailed',
      status: 412,
    });
    expect(
      await failure(s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'v2', IfMatch: '"0000"' }))),
    ).toEqual({
      code: 'PreconditionFailed',
      status: 412,
    });
    expect(await body('once')).toBe('v1');
    await s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'v2', IfMatch: first.ETag }));
    expect(await body('once')).toBe('v2');
    expect(
      await failure(
        s3.send(new PutObjectCommand({ Bucket, Key: 'nothing-here', Body: 'x', IfMatch: first.ETag })),
      ),
    ).toEqual({
      code: 'NoSuchKey',
      status: 404,
    });
    // If-None-Match on a write means only "*"
    expect(
      (
        await failure(
          s3.send(new PutObjectCommand({ Bucket, Key: 'once', Body: 'v3', IfNoneMatch: first.ETag })),
        )
      ).code,
    ).toBe('NotImplemented');
    expect(await body('once')).toBe('v2');
  });

  it('two writers racing with If-None-Match: * : exactly one wins', async () => {
    const tries = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        failure(
          s3.send(new PutObjectCommand({ Bucket, Key: 'race', Body: `writer ${i}`, IfNoneMatch: '*' })),
        ),
      ),
    );
    expect(tries.filter((t) => t.code === 'no error')).toHaveLength(1);
    expect(tries.filter((t) => t.code === 'PreconditionFailed')).toHaveLength(5);
  });

  it('CompleteMultipartUpload and DeleteObject honour their conditions', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'mp-target', Body: 'there already' }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'mp-target' }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket, Key: 'mp-target', UploadId, PartNumber: 1, Body: 'the new bytes' }),
    );
    const complete = (extra: Record<string, string>) =>
      s3.send(
        new CompleteMultipartUploadCommand({
          Bucket,
          Key: 'mp-target',
          UploadId,
          MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
          ...extra,
        }),
      );
    expect((await failure(complete({ IfNoneMatch: '*' }))).code).toBe('PreconditionFailed');
    expect(await body('mp-target')).toBe('there already');
    // the upload is still there to complete without the condition
    await complete({});
    expect(await body('mp-target')).toBe('the new bytes');

    const head = await s3.send(new HeadObjectCommand({ Bucket, Key: 'mp-target' }));
    expect(
      (await failure(s3.send(new DeleteObjectCommand({ Bucket, Key: 'mp-target', IfMatch: '"0000"' })))).code,
    ).toBe('PreconditionFailed');
    expect(await body('mp-target')).toBe('the new bytes');
    await s3.send(new DeleteObjectCommand({ Bucket, Key: 'mp-target', IfMatch: head.ETag }));
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'mp-target' })))).status).toBe(404);
  });
});

describe('CopyObject', () => {
  it('checks the x-amz-copy-source-if-* conditions', async () => {
    const src = await s3.send(new PutObjectCommand({ Bucket, Key: 'copy-src', Body: 'source' }));
    const copy = (extra: Record<string, unknown>) =>
      s3.send(new CopyObjectCommand({ Bucket, Key: 'copy-dst', CopySource: `${Bucket}/copy-src`, ...extra }));
    expect((await failure(copy({ CopySourceIfMatch: '"0000"' }))).code).toBe('PreconditionFailed');
    expect((await failure(copy({ CopySourceIfNoneMatch: src.ETag }))).code).toBe('PreconditionFailed');
    expect((await failure(copy({ CopySourceIfModifiedSince: new Date(Date.now() + 3_600_000) }))).code).toBe(
      'PreconditionFailed',
    );
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: 'copy-dst' })))).status).toBe(404);
    await copy({
      CopySourceIfMatch: src.ETag,
      CopySourceIfUnmodifiedSince: new Date(Date.now() + 3_600_000),
    });
    expect(await body('copy-dst')).toBe('source');
  });

  it('refuses a copy onto itself that changes nothing, and a metadata directive it does not know', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'self', Body: 'me', Metadata: { v: '1' } }));
    const onto = (extra: Record<string, unknown>) =>
      s3.send(new CopyObjectCommand({ Bucket, Key: 'self', CopySource: `${Bucket}/self`, ...extra }));
    expect(await failure(onto({}))).toEqual({ code: 'InvalidRequest', status: 400 });
    expect(await failure(onto({ MetadataDirective: 'MERGE' }))).toEqual({
      code: 'InvalidArgument',
      status: 400,
    });
    await onto({ MetadataDirective: 'REPLACE', Metadata: { v: '2' } });
    expect((await s3.send(new HeadObjectCommand({ Bucket, Key: 'self' }))).Metadata).toEqual({ v: '2' });
  });
});

describe('headers an object keeps', () => {
  const kept = {
    CacheControl: 'max-age=3600',
    ContentDisposition: 'attachment; filename="report.csv"',
    ContentEncoding: 'gzip',
    ContentLanguage: 'fr',
    Expires: new Date('2030-01-01T00:00:00Z'),
  };
  const seen = (h: {
    CacheControl?: string | undefined;
    ContentDisposition?: string | undefined;
    ContentEncoding?: string | undefined;
    ContentLanguage?: string | undefined;
    Expires?: Date | undefined;
  }) => ({
    CacheControl: h.CacheControl,
    ContentDisposition: h.ContentDisposition,
    ContentEncoding: h.ContentEncoding,
    ContentLanguage: h.ContentLanguage,
    Expires: h.Expires,
  });

  it('keeps Cache-Control, Content-Disposition, Content-Encoding, Content-Language and Expires', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'kept', Body: 'bytes', ...kept }));
    expect(seen(await s3.send(new HeadObjectCommand({ Bucket, Key: 'kept' })))).toEqual(kept);
    // a copy keeps them; with REPLACE it takes the request's
    await s3.send(new CopyObjectCommand({ Bucket, Key: 'kept-copy', CopySource: `${Bucket}/kept` }));
    expect(seen(await s3.send(new GetObjectCommand({ Bucket, Key: 'kept-copy' })))).toEqual(kept);
    await s3.send(
      new CopyObjectCommand({
        Bucket,
        Key: 'kept-replaced',
        CopySource: `${Bucket}/kept`,
        MetadataDirective: 'REPLACE',
        CacheControl: 'no-store',
      }),
    );
    const replaced = await s3.send(new HeadObjectCommand({ Bucket, Key: 'kept-replaced' }));
    expect(replaced.CacheControl).toBe('no-store');
    expect(replaced.ContentDisposition).toBeUndefined();
    // a multipart upload keeps those of its creation
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: 'kept-mp', ...kept }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket, Key: 'kept-mp', UploadId, PartNumber: 1, Body: 'x' }),
    );
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key: 'kept-mp',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );
    expect(seen(await s3.send(new HeadObjectCommand({ Bucket, Key: 'kept-mp' })))).toEqual(kept);
  });

  it('a presigned GET overrides them with response-content-*', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket, Key: 'override', Body: 'a,b\n', ContentType: 'text/plain' }),
    );
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({
        Bucket,
        Key: 'override',
        ResponseContentType: 'text/csv',
        ResponseContentDisposition: 'attachment; filename="data.csv"',
        ResponseCacheControl: 'no-cache',
      }),
      { expiresIn: 60 },
    );
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="data.csv"');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(await res.text()).toBe('a,b\n');
  });
});

describe('what Gust does not do is refused, not ignored', () => {
  it('answers NotImplemented to ACLs, encryption, tagging and storage classes, and keeps nothing', async () => {
    const asks: Record<string, unknown>[] = [
      { ACL: 'public-read' },
      { ServerSideEncryption: 'AES256' },
      { Tagging: 'team=a' },
      { StorageClass: 'GLACIER' },
    ];
    for (const [i, ask] of asks.entries()) {
      const key = `unsupported-${i}`;
      expect(await failure(s3.send(new PutObjectCommand({ Bucket, Key: key, Body: 'x', ...ask })))).toEqual({
        code: 'NotImplemented',
        status: 501,
      });
      expect((await failure(s3.send(new HeadObjectCommand({ Bucket, Key: key })))).status).toBe(404);
    }
    // the defaults are what Gust does
    await s3.send(
      new PutObjectCommand({ Bucket, Key: 'defaults', Body: 'x', ACL: 'private', StorageClass: 'STANDARD' }),
    );
    expect(await body('defaults')).toBe('x');
  });

  it('refuses a URL presigned with Signature Version 2, saying to use version 4', async () => {
    const url = `${g.s3Url}/${Bucket}/defaults?AWSAccessKeyId=${pair.accessKeyId}&Expires=${Math.floor(Date.now() / 1000) + 60}&Signature=abc%3D`;
    const res = await fetch(url);
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toContain('<Code>InvalidRequest</Code>');
    expect(text).toContain('Signature Version 4');
  });
});

describe('listings and DeleteObjects', () => {
  it('deletes keys the SDK writes as XML character references (U+0085), reporting only what it deleted', async () => {
    const keys = ['next\u0085line', 'line\u2028sep', 'plain'];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket, Key: `refs/${Key}`, Body: Key }));
    const out = await s3.send(
      new DeleteObjectsCommand({ Bucket, Delete: { Objects: keys.map((k) => ({ Key: `refs/${k}` })) } }),
    );
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(keys.map((k) => `refs/${k}`).sort());
    const left = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'refs/' }));
    expect(left.KeyCount).toBe(0);
  });

  it('answers max-keys=0 with an empty page that is not truncated', async () => {
    await s3.send(new PutObjectCommand({ Bucket, Key: 'zero/a', Body: 'a' }));
    const page = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: 'zero/', MaxKeys: 0 }));
    expect(page.KeyCount).toBe(0);
    expect(page.IsTruncated).toBe(false);
    expect(page.NextContinuationToken).toBeUndefined();
  });
});

describe('what a client could misread', () => {
  it('answers the whole object when If-Range names another version, the range when it names this one', async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket, Key: 'ranged', Body: 'hello world' }));
    // the SDK has no If-Range: a presigned URL fetched with the headers a resuming client sends
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: 'ranged' }), { expiresIn: 60 });
    const got = async (ifRange: string) => {
      const res = await fetch(url, { headers: { range: 'bytes=0-4', 'if-range': ifRange } });
      return { status: res.status, text: await res.text() };
    };
    expect(await got(put.ETag!)).toEqual({ status: 206, text: 'hello' });
    expect(await got('"0123456789abcdef0123456789abcdef"')).toEqual({ status: 200, text: 'hello world' });
    expect(await got(new Date(Date.now() - 86_400_000).toUTCString())).toEqual({
      status: 200,
      text: 'hello world',
    });
  });

  it('pages a V1 listing with a delimiter without repeating a common prefix', async () => {
    for (const k of ['v1/a/1', 'v1/a/2', 'v1/b/1', 'v1/b/2', 'v1/c/1', 'v1/d']) {
      await s3.send(new PutObjectCommand({ Bucket, Key: k, Body: k }));
    }
    const seen: string[] = [];
    let Marker: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await s3.send(
        new ListObjectsCommand({
          Bucket,
          Prefix: 'v1/',
          Delimiter: '/',
          MaxKeys: 2,
          ...(Marker ? { Marker } : {}),
        }),
      );
      seen.push(
        ...(out.CommonPrefixes ?? []).map((p) => p.Prefix!),
        ...(out.Contents ?? []).map((c) => c.Key!),
      );
      if (!out.IsTruncated) break;
      Marker = out.NextMarker ?? out.Contents?.at(-1)?.Key;
    }
    expect(seen).toEqual(['v1/a/', 'v1/b/', 'v1/c/', 'v1/d']);
  });

  it('refuses virtual-hosted-style requests instead of reading the key as a bucket', async () => {
    const url = new URL(g.s3Url);
    // as a virtual-host client sends it: the bucket in the host, the key as the path
    const res = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/would-be-key',
          headers: { host: `${Bucket}.localhost:${url.port}`, 'content-length': '0' },
        },
        (r) => {
          let text = '';
          r.on('data', (b: Buffer) => {
            text += b.toString();
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(400);
    expect(res.text).toContain('<Code>InvalidRequest</Code>');
    expect(res.text).toContain('path style');
    expect((await failure(s3.send(new HeadObjectCommand({ Bucket: 'would-be-key', Key: 'x' })))).status).toBe(
      404,
    );
  });

  it('says a revoked key is revoked, and never echoes a secret put where the key id goes', async () => {
    const revoked = await storageKey(g);
    const id = revoked.accessKeyId.replace(/^GUSK/, '');
    expect((await api(g, 'DELETE', `/keys/${id}`)).status).toBe(200);
    const err = await s3Client(g, revoked)
      .send(new GetObjectCommand({ Bucket, Key: 'defaults' }))
      .catch((e: Error) => e);
    expect(err).toMatchObject({ name: 'InvalidAccessKeyId' });
    const res = await fetch(`${g.s3Url}/${Bucket}/defaults`, {
      headers: {
        authorization: `AWS4-HMAC-SHA256 Credential=${g.key}/20261130/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=${'0'.repeat(64)}`,
        'x-amz-date': new Date().toISOString().replace(/[-:]|\.\d{3}/g, ''),
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      },
    });
    const text = await res.text();
    expect(res.status).toBe(403);
    expect(text).not.toContain(g.key);
    const revokedText = await fetch(
      await getSignedUrl(s3Client(g, revoked), new GetObjectCommand({ Bucket, Key: 'defaults' }), {
        expiresIn: 60,
      }),
    ).then((r) => r.text());
    expect(revokedText).toContain('was revoked');
  });

  it('refuses bucket names S3 reserves', async () => {
    for (const name of ['xn--abc', 'sthree-x', 'data-s3alias', '10.0.0.1']) {
      expect((await failure(s3.send(new CreateBucketCommand({ Bucket: name })))).code).toBe(
        'InvalidBucketName',
      );
    }
  });
});
