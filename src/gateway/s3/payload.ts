/**
 * s3/payload: the body of an S3 request as bytes to store, checked on the way. It undoes the
 * aws-chunked framing (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, each chunk's signature
 * chained from the request's; `STREAMING-UNSIGNED-PAYLOAD-TRAILER`, the AWS SDK's default with
 * flexible checksums), and computes every digest the client sent (x-amz-content-sha256,
 * Content-MD5, x-amz-checksum-*, in a header or a trailer) as the bytes pass. Nothing is judged
 * before the last byte: the caller stages the bytes, then asks `verdict()`, and keeps them only if
 * it finds nothing wrong.
 */
import { createHash, createHmac } from 'node:crypto';
import { type ChecksumAlgorithm, isChecksumAlgorithm, newDigest } from './checksums.js';
import { S3Error } from './errors.js';

export interface PayloadAuth {
  /** x-amz-content-sha256 as signed (a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- marker). */
  readonly payloadHash: string;
  readonly seed: { readonly signature: string; readonly date: string; readonly scope: string };
  /** The key's secret, for chunk signatures. */
  readonly secret: string;
}

export interface Payload {
  readonly bytes: AsyncIterable<Uint8Array>;
  /** After the bytes were all read: what is wrong with them, if anything, else their flexible checksum. */
  verdict(): S3Error | { checksum: string | null };
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const MAX_LINE = 8 * 1024;

const one = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

export function readPayload(body: AsyncIterable<Buffer>, headers: Headers, auth: PayloadAuth): Payload {
  const hash = auth.payloadHash;
  const chunked = hash.startsWith('STREAMING-');
  if (chunked && !STREAMING_MODES.has(hash)) {
    throw new S3Error('NotImplemented', `${hash} uploads are not supported: use SigV4 (HMAC-SHA256)`);
  }
  const md5Header = one(headers, 'content-md5');
  if (md5Header !== undefined && !/^[A-Za-z0-9+/]{22}==$/.test(md5Header)) {
    throw new S3Error('InvalidDigest', 'Content-MD5 must be the base64 of an MD5 (24 characters)');
  }
  const { algorithm, expected: checksumHeader } = checksumOf(headers);
  const digests = {
    sha256: /^[0-9a-f]{64}$/.test(hash) ? createHash('sha256') : undefined,
    md5: md5Header === undefined ? undefined : createHash('md5'),
    checksum: algorithm === undefined ? undefined : newDigest(algorithm),
  };
  const trailers = new Map<string, string>();
  const decoded = chunked ? decodeChunked(body, hash, auth, trailers) : body;
  let size = 0;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for await (const chunk of decoded) {
      size += chunk.byteLength;
      digests.sha256?.update(chunk);
      digests.md5?.update(chunk);
      digests.checksum?.update(chunk);
      yield chunk;
    }
  }
  return {
    bytes: bytes(),
    verdict() {
      const declared = one(headers, 'x-amz-decoded-content-length');
      if (chunked && declared !== undefined && Number(declared) !== size) {
        return new S3Error(
          'IncompleteBody',
          `the body has ${size} bytes, x-amz-decoded-content-length says ${declared}`,
        );
      }
      if (digests.sha256 && digests.sha256.digest('hex') !== hash) {
        return new S3Error(
          'XAmzContentSHA256Mismatch',
          'the SHA-256 of the body does not match x-amz-content-sha256: it was altered',
        );
      }
      if (digests.md5 && digests.md5.digest('base64') !== md5Header) {
        return new S3Error('BadDigest', 'the Content-MD5 you specified did not match what was received');
      }
      if (!algorithm || !digests.checksum) return { checksum: null };
      const expected = checksumHeader ?? trailers.get(`x-amz-checksum-${algorithm}`);
      if (expected === undefined) {
        return new S3Error(
          'InvalidRequest',
          `x-amz-trailer names x-amz-checksum-${algorithm}, but no such trailer came`,
        );
      }
      const actual = digests.checksum.base64();
      if (actual !== expected) {
        return new S3Error(
          'BadDigest',
          `the ${algorithm.toUpperCase()} you specified did not match the calculated checksum`,
        );
      }
      return { checksum: `${algorithm.toUpperCase()}:${actual}` };
    },
  };
}

/** The flexible checksum the client sent or announced as a trailer. */
function checksumOf(headers: Headers): { algorithm?: ChecksumAlgorithm; expected?: string | undefined } {
  const trailer = one(headers, 'x-amz-trailer')?.trim().toLowerCase();
  const names = Object.keys(headers).filter((h) => h.startsWith('x-amz-checksum-') && !NOT_A_CHECKSUM.has(h));
  if (names.length > 1 || (names.length === 1 && trailer !== undefined)) {
    throw new S3Error('InvalidRequest', 'send one flexible checksum at most');
  }
  const name = names[0] ?? trailer;
  if (name === undefined) return {};
  const algorithm = /^x-amz-checksum-([a-z0-9]+)$/.exec(name)?.[1];
  if (algorithm === undefined || !isChecksumAlgorithm(algorithm)) {
    throw new S3Error(
      'InvalidRequest',
      `${name} is not supported: use x-amz-checksum-crc32, crc32c, sha1 or sha256 (or set the client's requestChecksumCalculation to WHEN_REQUIRED)`,
    );
  }
  return names.length === 1 ? { algorithm, expected: one(headers, name) } : { algorithm };
}

/** Headers of the x-amz-checksum- family that carry no checksum of this body. */
const NOT_A_CHECKSUM = new Set(['x-amz-checksum-type', 'x-amz-checksum-algorithm', 'x-amz-checksum-mode']);

const STREAMING_MODES = new Set([
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
]);

function signingKey(secret: string, scope: string): Buffer {
  const [date, region, service] = scope.split('/');
  const hmac = (key: string | Buffer, text: string) => createHmac('sha256', key).update(text).digest();
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), service!), 'aws4_request');
}

/**
 * aws-chunked: `<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n` ... a last chunk of size 0, then
 * trailer lines `name:value\r\n` and an empty line. Bytes are passed on as they come (no copy);
 * a chunk's signature is checked at its end, before the next one is read.
 */
async function* decodeChunked(
  source: AsyncIterable<Buffer>,
  mode: string,
  auth: PayloadAuth,
  trailers: Map<string, string>,
): AsyncGenerator<Uint8Array> {
  const signed = mode.startsWith('STREAMING-AWS4-HMAC-SHA256-PAYLOAD');
  const key = signed ? signingKey(auth.secret, auth.seed.scope) : undefined;
  let previous = auth.seed.signature;
  const it = source[Symbol.asyncIterator]();
  let buf: Buffer = Buffer.alloc(0);
  const more = async () => {
    const r = await it.next();
    if (r.done) throw new S3Error('IncompleteBody', 'the aws-chunked body ended before its last chunk');
    buf = buf.length === 0 ? r.value : Buffer.concat([buf, r.value]);
  };
  const line = async (): Promise<string> => {
    for (;;) {
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const text = buf.subarray(0, i).toString('latin1');
        buf = buf.subarray(i + 2);
        return text;
      }
      if (buf.length > MAX_LINE) throw malformed('a chunk header is too long');
      await more();
    }
  };
  const expect = (sig: string | undefined, stringToSign: string) => {
    const computed = createHmac('sha256', key!).update(stringToSign).digest('hex');
    if (sig !== computed) {
      throw new S3Error('SignatureDoesNotMatch', 'a chunk signature of the aws-chunked body does not match');
    }
    previous = computed;
  };
  for (;;) {
    const header = await line();
    const [sizeHex = '', ...extensions] = header.split(';');
    if (!/^[0-9a-fA-F]{1,12}$/.test(sizeHex)) throw malformed(`bad chunk size '${sizeHex.slice(0, 20)}'`);
    const size = Number.parseInt(sizeHex, 16);
    const sig = extensions.map((e) => /^chunk-signature=([0-9a-f]{64})$/.exec(e.trim())?.[1]).find(Boolean);
    if (signed && sig === undefined)
      throw new S3Error('SignatureDoesNotMatch', 'a chunk has no chunk-signature');
    const hash = signed ? createHash('sha256') : undefined;
    let remaining = size;
    while (remaining > 0) {
      if (buf.length === 0) await more();
      const take = buf.subarray(0, Math.min(remaining, buf.length));
      buf = buf.subarray(take.length);
      remaining -= take.length;
      hash?.update(take);
      yield take;
    }
    if (signed) {
      const { date, scope } = auth.seed;
      expect(
        sig,
        `AWS4-HMAC-SHA256-PAYLOAD\n${date}\n${scope}\n${previous}\n${EMPTY_SHA256}\n${hash!.digest('hex')}`,
      );
    }
    if (size === 0) break;
    if ((await line()) !== '') throw malformed('a chunk is longer than its size says');
  }
  const lines: string[] = [];
  let trailerSignature: string | undefined;
  for (;;) {
    const text = await line();
    if (text === '') break;
    const colon = text.indexOf(':');
    if (colon < 1) throw malformed('a trailer is not name:value');
    const name = text.slice(0, colon).trim().toLowerCase();
    const value = text.slice(colon + 1).trim();
    if (name === 'x-amz-trailer-signature') trailerSignature = value;
    else {
      trailers.set(name, value);
      lines.push(`${name}:${value}\n`);
    }
  }
  if (mode === 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER') {
    const { date, scope } = auth.seed;
    const digest = createHash('sha256').update(lines.join('')).digest('hex');
    expect(trailerSignature, `AWS4-HMAC-SHA256-TRAILER\n${date}\n${scope}\n${previous}\n${digest}`);
  }
}

const malformed = (why: string) => new S3Error('IncompleteBody', `malformed aws-chunked body: ${why}`);
