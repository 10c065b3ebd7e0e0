/**
 * The S3 API's refusals and its less common paths: multipart uploads, presigned URLs, wrong and
 * expired signatures, keys of the wrong scope, hostile key names, malformed XML and bad digests.
 */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { type Gust, startGust, WAIT } from '../helpers/gust.js';
import { type KeyPair, s3Client, s3Signer, storageKey } from '../helpers/s3.js';

let g: Gust;
let s3: S3Client;
let pair: KeyPair;

beforeAll(async () => {
  g = await startGust();
  pair = await storageKey(g);
  s3 = s3Client(g, pair);
  await s3.send(new CreateBucketCommand({ Bucket: 'edge' }));
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { name: string }).name;
  }
  return 'no error';
}

/** A request signed by the AWS signer with the raw path given (not re-encoded), sent as is. */
async function signedRaw(
  method: string,
  rawPath: string,
  body = '',
  query: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const url = new URL(g.s3Url);
  const signer = s3Signer(pair);
  const signed = await signer.sign({
    method,
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: rawPath,
    query,
    headers: {
      host: url.host,
      'x-amz-content-sha256': createHash('sha256').update(body).digest('hex'),
      'content-length': String(Buffer.byteLength(body)),
    },
    body,
  });
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path: Object.keys(query).length === 0 ? rawPath : `${rawPath}?${new URLSearchParams(query)}`,
        headers: signed.headers,
      },
      (res) => {
        let text = '';
        res.on('data', (b: Buffer) => {
          text += b.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const codeIn = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

describe('multipart uploads', () => {
  it('uploads two parts, lists them, and completes an object whose ETag ends -2', async () => {
    const { UploadId } = await s3.send(
      new CreateMultipartUploadCommand({ Bucket: 'edge', Key: 'big.bin', ContentType: 'application/x-big' }),
    );
    const first = Buffer.alloc(5 * 1024 * 1024, 'a');
    const second = Buffer.from('the end');
    const p1 = await s3.send(
      new UploadPartCommand({ Bucket: 'edge', Key: 'big.bin', UploadId, PartNumber: 1, Body: first }),
    );
    const p2 = await s3.send(
      new UploadPartCommand({ Bucket: 'edge', Key: 'big.bin', UploadId, PartNumber: 2, Body: second }),
    );
    const parts = await s3.send(new ListPartsCommand({ Bucket: 'edge', Key: 'big.bin', UploadId }));
    expect(parts.Parts?.map((p) => [p.PartNumber, p.Size])).toEqual([
      [1, first.length],
      [2, second.length],
    ]);
    const done = await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: 'edge',
        Key: 'big.bin',
        UploadId,
        MultipartUpload: {
          Parts: [
            { PartNumber: 1, ETag: p1.ETag },
            { PartNumber: 2, ETag: p2.ETag },
          ],
        },
      }),
    );
    expect(done.ETag).toMatch(/^"[0-9a-f]{32}-2"$/);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'edge', Key: 'big.bin' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.equals(Buffer.concat([first, second]))).toBe(true);
    expect(got.ContentType).toBe('application/x-big');
    expect(got.ETag).toBe(done.ETag);
  });

  it('refuses a small part that is not the last, lists uploads in progress, and forgets an aborted one', async () => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: 'edge', Key: 'small' }));
    const a = await s3.send(
      new UploadPartCommand({ Bucket: 'edge', Key: 'small', UploadId, PartNumber: 1, Body: 'a' }),
    );
    const b = await s3.send(
      new UploadPartCommand({ Bucket: 'edge', Key: 'small', UploadId, PartNumber: 2, Body: 'b' }),
    );
    const complete = new CompleteMultipartUploadCommand({
      Bucket: 'edge',
      Key: 'small',
      UploadId,
      MultipartUpload: {
        Parts: [
          { PartNumber: 1, ETag: a.ETag },
          { PartNumber: 2, ETag: b.ETag },
        ],
      },
    });
    expect(await codeOf(s3.send(complete))).toBe('EntityTooSmall');
    const open = await s3.send(new ListMultipartUploadsCommand({ Bucket: 'edge' }));
    expect(open.Uploads?.map((u) => [u.Key, u.UploadId])).toEqual([['small', UploadId]]);
    await s3.send(new AbortMultipartUploadCommand({ Bucket: 'edge', Key: 'small', UploadId }));
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: 'edge' }))).Uploads ?? []).toEqual([]);
    expect(await codeOf(s3.send(new ListPartsCommand({ Bucket: 'edge', Key: 'small', UploadId })))).toBe(
      'NoSuchUpload',
    );
  });
});

describe('signatures', () => {
  it('serves presigned GET and PUT URLs', async () => {
    const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket: 'edge', Key: 'signed.txt' }), {
      expiresIn: 60,
    });
    const put = await fetch(putUrl, { method: 'PUT', body: 'via a presigned URL' });
    expect(put.status).toBe(200);
    const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'edge', Key: 'signed.txt' }), {
      expiresIn: 60,
    });
    const got = await fetch(getUrl);
    expect(await got.text()).toBe('via a presigned URL');
  });

  it('refuses an expired presigned URL with AccessDenied', async () => {
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'edge', Key: 'signed.txt' }), {
      expiresIn: 1,
      signingDate: new Date(Date.now() - 60_000),
    });
    const res = await fetch(url);
    expect(res.status).toBe(403);
    const text = await res.text();
    expect(codeIn(text)).toBe('AccessDenied');
    expect(text).toContain('expired');
  });

  it('refuses a request signed with the wrong secret (SignatureDoesNotMatch)', async () => {
    const wrong = s3Client(g, { ...pair, secretAccessKey: 'not-the-secret' });
    expect(await codeOf(wrong.send(new GetObjectCommand({ Bucket: 'edge', Key: 'signed.txt' })))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('refuses a key of another scope (AccessDenied) and an unsigned request', async () => {
    const invoke = s3Client(g, await storageKey(g, 'invoke'));
    expect(await codeOf(invoke.send(new GetObjectCommand({ Bucket: 'edge', Key: 'signed.txt' })))).toBe(
      'AccessDenied',
    );
    const anonymous = await fetch(`${g.s3Url}/edge/signed.txt`);
    expect(anonymous.status).toBe(403);
    expect(codeIn(await anonymous.text())).toBe('AccessDenied');
  });
});

describe('hostile input', () => {
  it('forgets an upload whose client goes away half way, as a client mistake, not a fault', async () => {
    const url = new URL(g.s3Url);
    const signer = s3Signer(pair);
    const headers = {
      host: url.host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'content-length': String(10 * 1024 * 1024),
    };
    const signed = await signer.sign({
      method: 'PUT',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: '/edge/abandoned',
      query: {},
      headers,
    });
    const req = http.request({
      host: url.hostname,
      port: url.port,
      method: 'PUT',
      path: '/edge/abandoned',
      headers: signed.headers,
    });
    req.on('error', () => {});
    req.write(Buffer.alloc(1024 * 1024, 1));
    const tmp = path.join(g.dataDir, 'buckets', 'tmp');
    await vi.waitFor(async () => {
      if ((await readdir(tmp)).length === 0) throw new Error('the upload has not begun');
    }, WAIT);
    req.destroy();
    await vi.waitFor(async () => {
      expect(await readdir(tmp)).toEqual([]);
    }, WAIT);
    expect(g.stderr()).not.toContain('S3 request failed');
    const listed = await signedRaw('GET', '/edge/abandoned');
    expect(codeIn(listed.text)).toBe('NoSuchKey');
  });

  it('refuses key names with .. segments, NUL, over 1,024 bytes, or invalid UTF-8', async () => {
    expect(
      await codeOf(s3.send(new PutObjectCommand({ Bucket: 'edge', Key: 'a/../../etc/passwd', Body: 'x' }))),
    ).toBe('InvalidArgument');
    expect(await codeOf(s3.send(new PutObjectCommand({ Bucket: 'edge', Key: 'nul\0byte', Body: 'x' })))).toBe(
      'InvalidArgument',
    );
    expect(
      await codeOf(s3.send(new PutObjectCommand({ Bucket: 'edge', Key: 'k'.repeat(1025), Body: 'x' }))),
    ).toBe('KeyTooLongError');
    const invalid = await signedRaw('PUT', '/edge/bad%FF%FEkey', 'x');
    expect(invalid.status).toBe(400);
    expect(codeIn(invalid.text)).toBe('InvalidArgument');
    const dotted = await signedRaw('PUT', '/edge/../outside', 'x');
    expect(dotted.status).toBe(400);
  });

  it('keeps keys S3 allows: spaces, plus signs, unicode, 1,024 bytes', async () => {
    for (const Key of ['with space+plus', 'é/ü/日本', 'k'.repeat(1024), 'dots...in.name']) {
      await s3.send(new PutObjectCommand({ Bucket: 'edge', Key, Body: Key }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'edge', Key }));
      expect(await got.Body?.transformToString()).toBe(Key);
    }
  });

  it('refuses malformed XML with MalformedXML', async () => {
    for (const body of [
      '<Delete><Object><Key>a</Key></Object>',
      'not xml at all',
      '<Other/>',
      // an HTML entity is not XML's, and NUL or a lone surrogate is no XML character
      '<Delete><Object><Key>a&nbsp;b</Key></Object></Delete>',
      '<Delete><Object><Key>a&#0;b</Key></Object></Delete>',
      '<Delete><Object><Key>a&#xD800;b</Key></Object></Delete>',
    ]) {
      const res = await signedRaw('POST', '/edge', body, { delete: '' });
      expect(res.status).toBe(400);
      expect(codeIn(res.text)).toBe('MalformedXML');
    }
  });

  it('refuses a body whose Content-MD5 does not match (BadDigest), keeping nothing', async () => {
    const code = await codeOf(
      s3.send(
        new PutObjectCommand({
          Bucket: 'edge',
          Key: 'digest',
          Body: 'the body',
          ContentMD5: createHash('md5').update('another body').digest('base64'),
        }),
      ),
    );
    expect(code).toBe('BadDigest');
    expect(await codeOf(s3.send(new GetObjectCommand({ Bucket: 'edge', Key: 'digest' })))).toBe('NoSuchKey');
  });
});
