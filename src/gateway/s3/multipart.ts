/**
 * s3/multipart: CreateMultipartUpload, UploadPart, ListParts, CompleteMultipartUpload and
 * AbortMultipartUpload. Each part is staged and kept as its own file; completing concatenates the
 * parts named into one staged file and commits it as any PutObject, with S3's ETag of the MD5s of
 * the parts' MD5s, `-N`. Parts but the last must be at least 5 MiB, as on S3.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { ObjectInfo, PartInfo } from '../../backends/ports.js';
import { type Buckets, MAX_PUT_BYTES } from '../../services/buckets.js';
import { S3Error } from './errors.js';
import { checksumHeaders, metadataOf, stageBody, writeCondition } from './objects.js';
import { isoDate, type S3Request, sendEmpty, sendXml, smallBody } from './request.js';
import { parseXml } from './xml.js';

const MIN_PART_BYTES = 5 * 1024 * 1024;
const MAX_PARTS = 10_000;
const MAX_OBJECT_BYTES = 5 * 1024 ** 4;

async function upload(buckets: Buckets, r: S3Request) {
  const id = r.query.get('uploadId') ?? '';
  const found = /^[0-9a-f]{32}$/.test(id) ? await buckets.store.getUpload(id) : undefined;
  if (!found || found.bucket !== r.bucket || found.key !== r.key) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
    );
  }
  return found;
}

export async function createUpload(buckets: Buckets, r: S3Request): Promise<void> {
  const id = randomBytes(16).toString('hex');
  await buckets.store.createUpload({
    id,
    bucket: r.bucket,
    key: r.key,
    ...metadataOf(r),
    createdAt: Date.now(),
  });
  sendXml(r, 'InitiateMultipartUploadResult', { Bucket: r.bucket, Key: r.key, UploadId: id });
}

export async function uploadPart(buckets: Buckets, r: S3Request): Promise<void> {
  if (r.req.headers['x-amz-copy-source'] !== undefined) {
    throw new S3Error('NotImplemented', 'UploadPartCopy is not supported by Gust: upload the part');
  }
  const number = partNumber(r.query.get('partNumber'));
  const found = await upload(buckets, r);
  const { staged, checksum } = await stageBody(buckets, r, MAX_PUT_BYTES);
  const etag = `"${staged.md5}"`;
  if (!(await buckets.store.putPart(found.id, number, staged, etag))) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified multipart upload does not exist (it was aborted or completed meanwhile)',
    );
  }
  sendEmpty(r, 200, { etag, ...checksumHeaders(checksum) });
}

function partNumber(text: string | null): number {
  const n = /^\d{1,5}$/.test(text ?? '') ? Number(text) : 0;
  if (n < 1 || n > MAX_PARTS)
    throw new S3Error('InvalidArgument', 'Part number must be an integer between 1 and 10000, inclusive');
  return n;
}

export async function listParts(buckets: Buckets, r: S3Request): Promise<void> {
  const found = await upload(buckets, r);
  const marker = Number(r.query.get('part-number-marker') ?? '0') || 0;
  const max = Math.min(Number(r.query.get('max-parts') ?? '1000') || 1000, 1000);
  const all = (await buckets.store.listParts(found.id)).filter((p) => p.part > marker);
  const page = all.slice(0, max);
  const truncated = all.length > max;
  sendXml(r, 'ListPartsResult', {
    Bucket: r.bucket,
    Key: r.key,
    UploadId: found.id,
    PartNumberMarker: marker,
    NextPartNumberMarker: page.at(-1)?.part ?? marker,
    MaxParts: max,
    IsTruncated: truncated,
    Part: page.map((p) => ({
      PartNumber: p.part,
      LastModified: isoDate(p.modifiedAt),
      ETag: p.etag,
      Size: p.size,
    })),
    StorageClass: 'STANDARD',
  });
}

export async function completeUpload(buckets: Buckets, r: S3Request): Promise<void> {
  const found = await upload(buckets, r);
  const condition = writeCondition(r);
  const asked = requestedParts(parseXml(await smallBody(r)));
  const stored = new Map((await buckets.store.listParts(found.id)).map((p) => [p.part, p]));
  const chosen: PartInfo[] = [];
  asked.forEach((a, i) => {
    const part = stored.get(a.number);
    if (!part || part.etag.replaceAll('"', '') !== a.etag.replaceAll('"', '')) {
      throw new S3Error(
        'InvalidPart',
        `part ${a.number}: one or more of the specified parts could not be found, or its ETag does not match`,
      );
    }
    if (i < asked.length - 1 && part.size < MIN_PART_BYTES) {
      throw new S3Error(
        'EntityTooSmall',
        `part ${a.number} is ${part.size} bytes; every part but the last must be at least 5 MiB`,
      );
    }
    chosen.push(part);
  });
  const staged = await buckets.store.concat(chosen, MAX_OBJECT_BYTES);
  const md5s = createHash('md5');
  for (const p of chosen) md5s.update(Buffer.from(p.etag.replaceAll('"', ''), 'hex'));
  const info: ObjectInfo = {
    bucket: r.bucket,
    key: r.key,
    size: staged.size,
    etag: `"${md5s.digest('hex')}-${chosen.length}"`,
    contentType: found.contentType,
    metadata: found.metadata,
    headers: found.headers,
    checksum: null,
    modifiedAt: Math.floor(Date.now() / 1000) * 1000,
  };
  if (!(await buckets.completeUpload(found, staged, info, condition))) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified multipart upload does not exist (it was aborted or completed meanwhile)',
    );
  }
  sendXml(r, 'CompleteMultipartUploadResult', {
    Location: `/${r.bucket}/${r.key}`,
    Bucket: r.bucket,
    Key: r.key,
    ETag: info.etag,
  });
}

function requestedParts(doc: Record<string, unknown> | undefined): { number: number; etag: string }[] {
  const malformed = () =>
    new S3Error(
      'MalformedXML',
      'The XML you provided was not well-formed or did not validate against our published schema',
    );
  const root = doc?.CompleteMultipartUpload as { Part?: unknown } | undefined;
  if (!root || typeof root !== 'object' || !Array.isArray(root.Part) || root.Part.length === 0)
    throw malformed();
  const parts = (root.Part as unknown[]).map((p) => {
    const { PartNumber, ETag } = (typeof p === 'object' && p !== null ? p : {}) as Record<string, unknown>;
    if (typeof PartNumber !== 'string' || typeof ETag !== 'string' || !/^\d{1,5}$/.test(PartNumber.trim())) {
      throw malformed();
    }
    return { number: Number(PartNumber.trim()), etag: ETag.trim() };
  });
  parts.forEach((p, i) => {
    if (i > 0 && p.number <= parts[i - 1]!.number) {
      throw new S3Error(
        'InvalidPartOrder',
        'The list of parts was not in ascending order. Parts must be ordered by part number.',
      );
    }
  });
  return parts;
}

export async function abortUpload(buckets: Buckets, r: S3Request): Promise<void> {
  const found = await upload(buckets, r);
  await buckets.store.abortUpload(found.id);
  sendEmpty(r, 204);
}

/** ListMultipartUploads: the uploads in progress (to find and abort what a client left behind). */
export async function listUploads(buckets: Buckets, r: S3Request): Promise<void> {
  const prefix = r.query.get('prefix') ?? '';
  const max = Math.min(Number(r.query.get('max-uploads') ?? '1000') || 1000, 1000);
  const found = await buckets.store.listUploads(r.bucket, { prefix, limit: max + 1 });
  const page = found.slice(0, max);
  sendXml(r, 'ListMultipartUploadsResult', {
    Bucket: r.bucket,
    Prefix: prefix,
    MaxUploads: max,
    IsTruncated: found.length > max,
    Upload: page.map((u) => ({
      Key: u.key,
      UploadId: u.id,
      Initiated: isoDate(u.createdAt),
      StorageClass: 'STANDARD',
    })),
  });
}
