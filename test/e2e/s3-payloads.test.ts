/**
 * The S3 API's upload bodies: aws-chunked with chunk signatures (built here from the SigV4 spec,
 * independently of the platform's code), the unsigned form with a trailing checksum, and the
 * flexible checksums the AWS SDK sends, each checked and returned on GetObject when asked.
 */
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { crc32 } from 'node:zlib';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Gust, startGust } from '../helpers/gust.js';
import { type KeyPair, s3Client, s3Signer, storageKey } from '../helpers/s3.js';

let g: Gust;
let s3: S3Client;
let pair: KeyPair;
const EMPTY = createHash('sha256').digest('hex');
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

beforeAll(async () => {
  g = await startGust();
  pair = await storageKey(g);
  s3 = s3Client(g, pair);
  await s3.send(new CreateBucketCommand({ Bucket: 'bodies' }));
});

/** Signs the head of a PUT whose body is aws-chunked in `mode`; the seed signature and its scope. */
async function signHead(
  key: string,
  mode: string,
  decoded: number,
  encoded: number,
  extra: Record<string, string> = {},
) {
  const url = new URL(g.s3Url);
  const signer = s3Signer(pair);
  const signed = await signer.sign({
    method: 'PUT',
    protocol: 'http:',
    hostname: url.hostname,
    port: Number(url.port),
    path: `/bodies/${key}`,
    query: {},
    headers: {
      host: url.host,
      'x-amz-content-sha256': mode,
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(decoded),
      'content-length': String(encoded),
      ...extra,
    },
  });
  const auth = String(signed.headers.authorization);
  const seed = /Signature=([0-9a-f]{64})/.exec(auth)![1]!;
  const date = String(signed.headers['x-amz-date']);
  return { headers: signed.headers, seed, date, scope: `${date.slice(0, 8)}/us-east-1/s3/aws4_request` };
}

function signingKey(date: string): Buffer {
  const h = (k: string | Buffer, t: string) => createHmac('sha256', k).update(t).digest();
  return h(h(h(h(`AWS4${pair.secretAccessKey}`, date.slice(0, 8)), 'us-east-1'), 's3'), 'aws4_request');
}

/** The signed chunks of `pieces` (and the final empty one), chained from `seed`. */
function signedChunks(pieces: Buffer[], seed: string, date: string, scope: string, tamper = false): Buffer {
  const key = signingKey(date);
  let previous = seed;
  const out: Buffer[] = [];
  for (const piece of [...pieces, Buffer.alloc(0)]) {
    const toSign = `AWS4-HMAC-SHA256-PAYLOAD\n${date}\n${scope}\n${previous}\n${EMPTY}\n${sha256(piece)}`;
    previous = createHmac('sha256', key).update(toSign).digest('hex');
    const sent = tamper && piece.length > 0 ? Buffer.from(piece.toString().toUpperCase()) : piece;
    out.push(
      Buffer.from(`${piece.length.toString(16)};chunk-signature=${previous}\r\n`),
      sent,
      Buffer.from('\r\n'),
    );
  }
  return Buffer.concat(out);
}

function send(
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  const url = new URL(g.s3Url);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path, headers }, (res) => {
      let text = '';
      res.on('data', (b: Buffer) => {
        text += b.toString();
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function read(key: string): Promise<string | undefined> {
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: 'bodies', Key: key }));
    return await got.Body?.transformToString();
  } catch {
    return undefined;
  }
}

describe('aws-chunked uploads', () => {
  it('accepts STREAMING-AWS4-HMAC-SHA256-PAYLOAD with every chunk signature checked', async () => {
    const pieces = [Buffer.from('first piece, '), Buffer.from('second piece')];
    const decoded = pieces.reduce((n, p) => n + p.length, 0);
    const probe = signedChunks(pieces, '0'.repeat(64), '20260101T000000Z', 'x');
    const head = await signHead('chunked.txt', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', decoded, probe.length);
    const body = signedChunks(pieces, head.seed, head.date, head.scope);
    const res = await send('/bodies/chunked.txt', head.headers, body);
    expect(res.status).toBe(200);
    expect(await read('chunked.txt')).toBe('first piece, second piece');
  });

  it('refuses a chunk whose bytes were changed (SignatureDoesNotMatch) and keeps nothing', async () => {
    const pieces = [Buffer.from('genuine bytes')];
    const probe = signedChunks(pieces, '0'.repeat(64), '20260101T000000Z', 'x');
    const head = await signHead('tampered.txt', 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD', 13, probe.length);
    const body = signedChunks(pieces, head.seed, head.date, head.scope, true);
    const res = await send('/bodies/tampered.txt', head.headers, body);
    expect(res.status).toBe(403);
    expect(res.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(await read('tampered.txt')).toBeUndefined();
  });

  it('accepts STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer, and refuses a wrong one (BadDigest)', async () => {
    const data = Buffer.from('trailing checksum');
    const checksum = (value: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(value >>> 0);
      return b.toString('base64');
    };
    for (const [key, value, status] of [
      ['trailer-ok.txt', checksum(crc32(data)), 200],
      ['trailer-bad.txt', checksum(crc32(data) ^ 1), 400],
    ] as const) {
      const body = Buffer.concat([
        Buffer.from(`${data.length.toString(16)}\r\n`),
        data,
        Buffer.from(`\r\n0\r\nx-amz-checksum-crc32:${value}\r\n\r\n`),
      ]);
      const head = await signHead(key, 'STREAMING-UNSIGNED-PAYLOAD-TRAILER', data.length, body.length, {
        'x-amz-trailer': 'x-amz-checksum-crc32',
      });
      const res = await send(`/bodies/${key}`, head.headers, body);
      expect(res.status).toBe(status);
      if (status === 400) expect(res.text).toContain('<Code>BadDigest</Code>');
    }
    expect(await read('trailer-ok.txt')).toBe('trailing checksum');
    expect(await read('trailer-bad.txt')).toBeUndefined();
  });
});

describe('flexible checksums', () => {
  it('verifies CRC32, CRC32C, SHA1 and SHA256 from the SDK and returns them on GetObject when asked', async () => {
    for (const algorithm of ['CRC32', 'CRC32C', 'SHA1', 'SHA256'] as const) {
      const key = `sum-${algorithm}`;
      const put = await s3.send(
        new PutObjectCommand({
          Bucket: 'bodies',
          Key: key,
          Body: `checked with ${algorithm}`,
          ChecksumAlgorithm: algorithm,
        }),
      );
      const field = `Checksum${algorithm}` as const;
      expect(put[field]).toBeTruthy();
      const got = await s3.send(
        new GetObjectCommand({ Bucket: 'bodies', Key: key, ChecksumMode: 'ENABLED' }),
      );
      expect(await got.Body?.transformToString()).toBe(`checked with ${algorithm}`);
      expect(got[field]).toBe(put[field]);
    }
  });
});
