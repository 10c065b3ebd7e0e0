/**
 * s3/request: one S3 request as the operations see it: who signed it, the bucket and key of its
 * path (decoded, checked), its query, and how to answer (XML, empty, or a stream of bytes).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyRecord } from '../../backends/ports.js';
import { authorize, type Keys } from '../../control/keys.js';
import { GustError } from '../../errors.js';
import { keyProblem, MAX_KEY_BYTES } from '../../services/buckets.js';
import { hasPresignedSigV4, hasSigV4, verifySigV4 } from '../sigv4.js';
import { S3Error } from './errors.js';
import { type Payload, readPayload } from './payload.js';
import { type XmlTree, xmlDocument } from './xml.js';

export interface S3Request {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly requestId: string;
  readonly query: URLSearchParams;
  /** '' for the service (ListBuckets). */
  readonly bucket: string;
  /** '' for a bucket's own operations. */
  readonly key: string;
  readonly caller: KeyRecord;
  /** The body, decoded and checked as it is read (see payload.ts). */
  payload(): Payload;
}

export function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export const newRequestId = () => randomBytes(8).toString('hex').toUpperCase();

/** Splits `/bucket/key...`; the key percent-decoded, refused if it is not a key S3 (and Gust) takes. */
export function splitPath(rawPath: string): { bucket: string; key: string } {
  const slash = rawPath.indexOf('/', 1);
  const rawBucket = slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash);
  const rawKey = slash < 0 ? '' : rawPath.slice(slash + 1);
  let bucket: string;
  let key: string;
  try {
    bucket = decodeURIComponent(rawBucket);
    key = decodeURIComponent(rawKey);
  } catch {
    throw new S3Error(
      'InvalidArgument',
      'the path is not valid percent-encoded UTF-8',
      rawPath.slice(0, 200),
    );
  }
  if (key !== '') {
    const problem = keyProblem(key);
    if (problem !== undefined) {
      const code = Buffer.byteLength(key) > MAX_KEY_BYTES ? 'KeyTooLongError' : 'InvalidArgument';
      throw new S3Error(code, problem, `/${bucket}`);
    }
  }
  return { bucket, key };
}

/** Who signed the request; throws the S3 error a refused signature gets. */
export async function authenticateS3(
  req: IncomingMessage,
  rawPath: string,
  rawQuery: string,
  keys: Keys,
): Promise<{
  key: KeyRecord;
  auth: { payloadHash: string; seed: { signature: string; date: string; scope: string }; secret: string };
}> {
  if (!hasSigV4(req.headers) && !hasPresignedSigV4(rawQuery)) {
    if (isSigV2(req, rawQuery)) {
      throw new S3Error(
        'InvalidRequest',
        'The authorization mechanism you have provided is not supported: Gust takes AWS Signature Version 4 (AWS4-HMAC-SHA256) only. The AWS CLI v1 presigns with version 2 by default: aws configure set default.s3.signature_version s3v4; s3cmd: signature_v2 = False',
      );
    }
    throw new S3Error(
      'AccessDenied',
      'anonymous requests are refused: sign with AWS Signature Version 4 and a key pair from gust keys create --scope storage',
    );
  }
  let found: { secret: string; record: KeyRecord } | undefined;
  let asked = '';
  const result = await verifySigV4(
    {
      method: req.method ?? 'GET',
      path: rawPath,
      query: rawQuery,
      headers: req.headers,
      body: new Uint8Array(),
    },
    async (id) => {
      asked = id;
      found = await keys.secretFor(id);
      return found?.secret ?? null;
    },
    Date.now(),
    { deferPayload: true },
  );
  if (!result.ok) {
    const r = result.reason;
    if (r.startsWith('unknown access key'))
      throw new S3Error('InvalidAccessKeyId', await keys.refusal(asked));
    if (r.includes('expired')) throw new S3Error('AccessDenied', `Request has expired: ${r}`);
    if (r.includes('15 minutes')) throw new S3Error('RequestTimeTooSkewed', r);
    if (r.startsWith('signature does not match')) throw new S3Error('SignatureDoesNotMatch', r);
    throw new S3Error('AccessDenied', r);
  }
  if (!found) throw new S3Error('InvalidAccessKeyId', 'unknown access key');
  if (result.service !== 's3') {
    throw new S3Error(
      'SignatureDoesNotMatch',
      `the signature was made for ${result.service}, this endpoint is s3`,
    );
  }
  try {
    authorize(found.record, { scope: 'storage' });
    keys.admit(found.record);
  } catch (e) {
    if (e instanceof GustError && e.code === 'RATE_LIMITED') throw new S3Error('SlowDown', e.message);
    if (e instanceof GustError) throw new S3Error('AccessDenied', e.message);
    throw e;
  }
  return {
    key: found.record,
    auth: { payloadHash: result.payloadHash ?? 'UNSIGNED-PAYLOAD', seed: result.seed, secret: found.secret },
  };
}

/** Signature Version 2: `Authorization: AWS id:sig`, or a URL presigned with AWSAccessKeyId and Signature. */
function isSigV2(req: IncomingMessage, rawQuery: string): boolean {
  if (/^AWS [^:\s]+:/.test(header(req, 'authorization') ?? '')) return true;
  const q = new URLSearchParams(rawQuery);
  return q.has('AWSAccessKeyId') && q.has('Signature');
}

export function payloadOf(
  req: IncomingMessage,
  auth: { payloadHash: string; seed: { signature: string; date: string; scope: string }; secret: string },
): Payload {
  return readPayload(req, req.headers, auth);
}

/** The whole of a small body (XML), checked; MalformedXML past `max` bytes. */
export async function smallBody(r: S3Request, max = 1024 * 1024): Promise<string> {
  const payload = r.payload();
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of payload.bytes) {
    size += chunk.byteLength;
    if (size > max) throw new S3Error('MalformedXML', `the request body is over ${max} bytes`);
    parts.push(chunk);
  }
  const verdict = payload.verdict();
  if (verdict instanceof S3Error) throw verdict;
  return Buffer.concat(parts).toString('utf8');
}

export function sendXml(r: S3Request, root: string, tree: XmlTree, status = 200): void {
  const body = xmlDocument(root, tree);
  r.res.writeHead(status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    'x-amz-request-id': r.requestId,
  });
  r.res.end(body);
}

export function sendEmpty(r: S3Request, status: number, headers: Record<string, string> = {}): void {
  r.res.writeHead(status, { 'x-amz-request-id': r.requestId, 'content-length': '0', ...headers });
  r.res.end();
}

/** S3 dates in listings: ISO with milliseconds. */
export const isoDate = (ms: number) => new Date(ms).toISOString();
/** S3 dates in headers: RFC 7231. */
export const httpDate = (ms: number) => new Date(ms).toUTCString();
