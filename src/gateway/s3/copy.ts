/**
 * s3/copy: CopyObject: the source streamed into a staged file and committed as any PutObject, its
 * metadata and headers copied or replaced (`x-amz-metadata-directive`), on the conditions of the
 * source (`x-amz-copy-source-if-*`) and of the target (If-Match, If-None-Match).
 */
import type { ObjectInfo, StagedBytes } from '../../backends/ports.js';
import { type Buckets, keyProblem, MAX_PUT_BYTES } from '../../services/buckets.js';
import { S3Error } from './errors.js';
import { conditional, metadataOf, nowSeconds, preconditionFailed, writeCondition } from './objects.js';
import { header, isoDate, type S3Request, sendXml } from './request.js';

export async function copyObject(buckets: Buckets, r: S3Request): Promise<void> {
  const source = copySource(header(r.req, 'x-amz-copy-source') ?? '');
  const directive = (header(r.req, 'x-amz-metadata-directive') ?? 'COPY').toUpperCase();
  if (directive !== 'COPY' && directive !== 'REPLACE') {
    throw new S3Error(
      'InvalidArgument',
      'Unknown metadata directive: x-amz-metadata-directive is COPY or REPLACE',
    );
  }
  if (source.bucket === r.bucket && source.key === r.key && directive === 'COPY') {
    // it would change nothing but the date, and run the bucket's triggers, each time
    throw new S3Error(
      'InvalidRequest',
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata (x-amz-metadata-directive: REPLACE)",
    );
  }
  const condition = writeCondition(r);
  if (!buckets.has(source.bucket)) {
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', source.bucket);
  }
  const opened = await buckets.store.open(source.bucket, source.key);
  if (!opened)
    throw new S3Error('NoSuchKey', 'The specified key does not exist.', `/${source.bucket}/${source.key}`);
  let staged: StagedBytes;
  try {
    // a source that is "not modified" fails too: there is nothing to answer 304 to
    if (conditional(r, opened.info, 'x-amz-copy-source-') !== undefined) throw preconditionFailed();
    staged = await buckets.store.stage(opened.file.createReadStream({ autoClose: false }), MAX_PUT_BYTES);
  } finally {
    await opened.file.close();
  }
  const { contentType, metadata, headers } = directive === 'REPLACE' ? metadataOf(r) : opened.info;
  const info: ObjectInfo = {
    bucket: r.bucket,
    key: r.key,
    size: staged.size,
    etag: `"${staged.md5}"`,
    contentType,
    metadata,
    headers,
    checksum: opened.info.checksum,
    modifiedAt: nowSeconds(),
  };
  try {
    await buckets.commit(staged, info, { condition, how: 'copy' });
  } catch (e) {
    await buckets.store.discard(staged);
    throw e;
  }
  sendXml(r, 'CopyObjectResult', { LastModified: isoDate(info.modifiedAt), ETag: info.etag });
}

function copySource(text: string): { bucket: string; key: string } {
  let decoded: string;
  try {
    decoded = decodeURIComponent(text.split('?')[0] ?? '');
  } catch {
    throw new S3Error('InvalidArgument', 'x-amz-copy-source is not valid percent-encoded UTF-8');
  }
  const path = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  const slash = path.indexOf('/');
  if (slash < 1) throw new S3Error('InvalidArgument', 'x-amz-copy-source must read BUCKET/KEY');
  const key = path.slice(slash + 1);
  const problem = keyProblem(key);
  if (problem !== undefined) throw new S3Error('InvalidArgument', `x-amz-copy-source: ${problem}`);
  return { bucket: path.slice(0, slash), key };
}
