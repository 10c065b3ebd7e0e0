/**
 * s3/objects: PutObject (streamed to a staged file, checked, then committed), GetObject and
 * HeadObject (Range with If-Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since),
 * DeleteObject and DeleteObjects (CopyObject: copy.ts). User metadata (`x-amz-meta-*`), Content-Type
 * and the kept headers round trip; the ETag is the MD5 of the bytes.
 */
import { pipeline } from 'node:stream/promises';
import { type ObjectInfo, type StagedBytes, TooLarge, type WriteCondition } from '../../backends/ports.js';
import { type Buckets, keyProblem, MAX_PUT_BYTES } from '../../services/buckets.js';
import { S3Error } from './errors.js';
import { header, httpDate, type S3Request, sendEmpty, sendXml, smallBody } from './request.js';
import { parseXml } from './xml.js';

const MAX_METADATA_BYTES = 2048;
const DEFAULT_TYPE = 'binary/octet-stream';

/** The HTTP headers an object keeps and sends back with its bytes. */
const KEPT_HEADERS = [
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'expires',
];

/** GetObject's query overrides of the headers it answers (presigned URLs use them). */
const OVERRIDES: Readonly<Record<string, string>> = {
  'response-content-type': 'content-type',
  'response-content-language': 'content-language',
  'response-expires': 'expires',
  'response-cache-control': 'cache-control',
  'response-content-disposition': 'content-disposition',
  'response-content-encoding': 'content-encoding',
};

/** The user metadata, content type and kept headers a write sets. */
export function metadataOf(r: S3Request): Pick<ObjectInfo, 'contentType' | 'metadata' | 'headers'> {
  const metadata: Record<string, string> = Object.create(null);
  let bytes = 0;
  for (const [name, value] of Object.entries(r.req.headers)) {
    if (!name.startsWith('x-amz-meta-') || value === undefined) continue;
    const text = Array.isArray(value) ? value.join(',') : value;
    metadata[name.slice('x-amz-meta-'.length)] = text;
    bytes += Buffer.byteLength(name) - 'x-amz-meta-'.length + Buffer.byteLength(text);
  }
  if (bytes > MAX_METADATA_BYTES) {
    throw new S3Error('MetadataTooLarge', `user metadata is ${bytes} bytes; at most ${MAX_METADATA_BYTES}`);
  }
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    let value = header(r.req, name);
    // aws-chunked says how this request's body is framed, not how the object is encoded
    if (name === 'content-encoding' && value !== undefined) {
      value = value
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && t.toLowerCase() !== 'aws-chunked')
        .join(',');
    }
    if (value) headers[name] = value;
  }
  return {
    contentType: header(r.req, 'content-type') ?? DEFAULT_TYPE,
    metadata: { ...metadata },
    headers,
  };
}

/** The conditions of a write as S3 takes them: If-Match an ETag, If-None-Match only `*`. */
export function writeCondition(r: S3Request): WriteCondition | undefined {
  const ifMatch = header(r.req, 'if-match');
  const ifNoneMatch = header(r.req, 'if-none-match');
  if (ifNoneMatch !== undefined && ifNoneMatch.trim() !== '*') {
    throw new S3Error(
      'NotImplemented',
      'If-None-Match on a write takes only * (write only if no object exists)',
    );
  }
  if (ifMatch === undefined && ifNoneMatch === undefined) return undefined;
  return {
    ...(ifMatch === undefined ? {} : { ifMatch }),
    ...(ifNoneMatch === undefined ? {} : { ifNoneMatch: '*' }),
  };
}

/** Refuses, from the head alone, a body that would be over `max`. */
export function checkLength(r: S3Request, max: number): void {
  const declared = header(r.req, 'x-amz-decoded-content-length') ?? header(r.req, 'content-length');
  if (declared === undefined && header(r.req, 'transfer-encoding') === undefined) {
    throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
  }
  if (declared !== undefined && Number(declared) > max) {
    throw new S3Error(
      'EntityTooLarge',
      `Your proposed upload exceeds the maximum allowed size (${max} bytes)`,
    );
  }
}

/** The request's body staged and checked; the caller commits or discards it. */
export async function stageBody(
  buckets: Buckets,
  r: S3Request,
  max: number,
): Promise<{ staged: StagedBytes; checksum: string | null }> {
  checkLength(r, max);
  const payload = r.payload();
  let staged: StagedBytes;
  try {
    staged = await buckets.store.stage(payload.bytes, max);
  } catch (e) {
    if (e instanceof TooLarge) {
      throw new S3Error(
        'EntityTooLarge',
        `Your proposed upload exceeds the maximum allowed size (${max} bytes)`,
      );
    }
    if ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as Error).message === 'aborted') {
      throw new S3Error('IncompleteBody', 'the client closed the connection before the body was whole');
    }
    throw e;
  }
  const verdict = payload.verdict();
  if (verdict instanceof S3Error) {
    await buckets.store.discard(staged);
    throw verdict;
  }
  return { staged, checksum: verdict.checksum };
}

export const nowSeconds = () => Math.floor(Date.now() / 1000) * 1000;

export async function putObject(buckets: Buckets, r: S3Request): Promise<void> {
  const meta = metadataOf(r);
  const condition = writeCondition(r);
  const { staged, checksum } = await stageBody(buckets, r, MAX_PUT_BYTES);
  const info: ObjectInfo = {
    bucket: r.bucket,
    key: r.key,
    size: staged.size,
    etag: `"${staged.md5}"`,
    ...meta,
    checksum,
    modifiedAt: nowSeconds(),
  };
  try {
    await buckets.commit(staged, info, { condition });
  } catch (e) {
    await buckets.store.discard(staged);
    throw e;
  }
  sendEmpty(r, 200, { etag: info.etag, ...checksumHeaders(checksum) });
}

export function checksumHeaders(checksum: string | null): Record<string, string> {
  if (checksum === null) return {};
  const [algorithm = '', value = ''] = checksum.split(':');
  return { [`x-amz-checksum-${algorithm.toLowerCase()}`]: value };
}

export async function getObject(buckets: Buckets, r: S3Request): Promise<void> {
  const opened = await buckets.store.open(r.bucket, r.key);
  if (!opened) throw new S3Error('NoSuchKey', 'The specified key does not exist.', `/${r.bucket}/${r.key}`);
  const { info, file } = opened;
  try {
    const headers: Record<string, string> = {
      'x-amz-request-id': r.requestId,
      etag: info.etag,
      'last-modified': httpDate(info.modifiedAt),
      'content-type': info.contentType,
      'accept-ranges': 'bytes',
    };
    for (const [name, value] of Object.entries(info.metadata)) headers[`x-amz-meta-${name}`] = value;
    Object.assign(headers, info.headers);
    for (const [param, name] of Object.entries(OVERRIDES)) {
      const value = r.query.get(param);
      if (value === null) continue;
      if (/[^\t\x20-\x7e\x80-\xff]/.test(value)) {
        throw new S3Error('InvalidArgument', `${param} holds characters an HTTP header cannot carry`);
      }
      headers[name] = value;
    }
    const skip = conditional(r, info);
    if (skip !== undefined) {
      if (skip === 412) throw preconditionFailed();
      r.res.writeHead(304, {
        'x-amz-request-id': r.requestId,
        etag: info.etag,
        'last-modified': headers['last-modified']!,
      });
      r.res.end();
      return;
    }
    // If-Range: the range only of the version the client has, else the whole (current) object
    const ifRange = header(r.req, 'if-range');
    const rangeHolds =
      ifRange === undefined ||
      (ifRange.trim().startsWith('"') || ifRange.trim().startsWith('W/')
        ? ifRange.trim().replace(/^W\//, '') === info.etag
        : Date.parse(ifRange) === info.modifiedAt);
    const range = rangeHolds ? rangeOf(header(r.req, 'range'), info.size) : undefined;
    let start = 0;
    let end = info.size - 1;
    let status = 200;
    if (range) {
      ({ start, end } = range);
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${info.size}`;
    } else if (header(r.req, 'x-amz-checksum-mode') === 'ENABLED') {
      Object.assign(headers, checksumHeaders(info.checksum));
    }
    headers['content-length'] = String(Math.max(0, end - start + 1));
    r.res.writeHead(status, headers);
    if (r.method === 'HEAD' || info.size === 0) {
      r.res.end();
      return;
    }
    const stream = file.createReadStream({ start, end, autoClose: false, highWaterMark: 1024 * 1024 });
    await pipeline(stream, r.res).catch(() => {
      // the client left: nothing to answer
    });
  } finally {
    await file.close();
  }
}

/**
 * 304 or 412 when a condition says not to send the object; undefined to send it. `prefix`:
 * CopyObject's conditions on its source are the same four, named `x-amz-copy-source-if-*`.
 */
export function conditional(r: S3Request, info: ObjectInfo, prefix = ''): 304 | 412 | undefined {
  const h = (name: string) => header(r.req, `${prefix}if-${name}`);
  const ifMatch = h('match');
  if (ifMatch !== undefined && !etagIn(ifMatch, info.etag)) return 412;
  const ifUnmodified = h('unmodified-since');
  if (ifMatch === undefined && ifUnmodified !== undefined && info.modifiedAt > Date.parse(ifUnmodified))
    return 412;
  const ifNoneMatch = h('none-match');
  if (ifNoneMatch !== undefined) return etagIn(ifNoneMatch, info.etag) ? 304 : undefined;
  const ifModified = h('modified-since');
  if (ifModified !== undefined && info.modifiedAt <= Date.parse(ifModified)) return 304;
  return undefined;
}

export const preconditionFailed = () =>
  new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');

function etagIn(list: string, etag: string): boolean {
  const bare = etag.replaceAll('"', '');
  return list.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '').replaceAll('"', '');
    return v === '*' || v === bare;
  });
}

/** One byte range (`bytes=a-b`, `bytes=a-`, `bytes=-n`); undefined to send it all (as S3 does for what it ignores). */
function rangeOf(text: string | undefined, size: number): { start: number; end: number } | undefined {
  if (text === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(text.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) throw invalidRange(size);
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
    if (m[2] !== '' && Number(m[2]) < start) return undefined;
  }
  if (start >= size) throw invalidRange(size);
  return { start, end };
}

const invalidRange = (size: number) =>
  new S3Error('InvalidRange', `The requested range is not satisfiable (the object has ${size} bytes)`);

export async function deleteObject(buckets: Buckets, r: S3Request): Promise<void> {
  const ifMatch = header(r.req, 'if-match');
  await buckets.delete(r.bucket, [r.key], ifMatch === undefined ? {} : { condition: { ifMatch } });
  sendEmpty(r, 204);
}

export async function deleteObjects(buckets: Buckets, r: S3Request): Promise<void> {
  const doc = parseXml(await smallBody(r));
  const del = doc?.Delete as { Object?: unknown; Quiet?: unknown } | undefined;
  if (!del || typeof del !== 'object') {
    throw new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema',
    );
  }
  const objects = Array.isArray(del.Object) ? (del.Object as unknown[]) : [];
  if (objects.length === 0 || objects.length > 1000) {
    throw new S3Error('MalformedXML', 'DeleteObjects takes 1 to 1000 keys');
  }
  const keys: string[] = [];
  const errors: { Key: string; Code: string; Message: string }[] = [];
  for (const o of objects) {
    const key = typeof o === 'object' && o !== null ? (o as { Key?: unknown }).Key : undefined;
    if (typeof key !== 'string') throw new S3Error('MalformedXML', 'each Object needs a Key');
    const problem = keyProblem(key);
    if (problem === undefined) keys.push(key);
    else errors.push({ Key: key, Code: 'InvalidArgument', Message: problem });
  }
  await buckets.delete(r.bucket, keys);
  const quiet = String(del.Quiet ?? '').trim() === 'true';
  sendXml(r, 'DeleteResult', {
    Deleted: quiet ? undefined : keys.map((Key) => ({ Key })),
    Error: errors,
  });
}
