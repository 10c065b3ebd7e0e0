/**
 * s3/list: ListObjectsV2 (and V1's marker form): prefix, delimiter with CommonPrefixes, max-keys,
 * continuation-token, start-after, encoding-type=url. Keys come from the index in UTF-8 byte order,
 * a page at a time; a common prefix is reported once and its keys skipped with one seek.
 */
import type { ObjectInfo, ObjectStore } from '../../backends/ports.js';
import { S3Error } from './errors.js';
import { isoDate, type S3Request, sendXml } from './request.js';

const PAGE = 1000;
/** Past every key with a prefix: U+10FFFF sorts above every other character in UTF-8 order. */
const PAST = '\u{10FFFF}';

/** As S3 encodes keys with encoding-type=url: `+` for a space, `/` as it is. */
const urlEncoded = (text: string) => encodeURIComponent(text).replaceAll('%20', '+').replaceAll('%2F', '/');

export async function listObjects(store: ObjectStore, r: S3Request): Promise<void> {
  const q = r.query;
  const v2 = q.get('list-type') === '2';
  const prefix = q.get('prefix') ?? '';
  const delimiter = q.get('delimiter') ?? '';
  const maxText = q.get('max-keys') ?? '1000';
  if (!/^\d{1,9}$/.test(maxText)) throw new S3Error('InvalidArgument', 'max-keys must be a whole number');
  const maxKeys = Math.min(Number(maxText), 1000);
  const encoding = q.get('encoding-type');
  if (encoding !== null && encoding !== 'url')
    throw new S3Error('InvalidArgument', 'encoding-type must be url');
  const token = q.get('continuation-token');
  let cursor = v2 ? (q.get('start-after') ?? '') : (q.get('marker') ?? '');
  if (v2 && token !== null) cursor = readToken(token);
  // V1's NextMarker is the common prefix a page ended on: the next page starts past all its keys
  if (
    !v2 &&
    delimiter !== '' &&
    cursor.length > prefix.length &&
    cursor.startsWith(prefix) &&
    cursor.endsWith(delimiter)
  )
    cursor += PAST;

  const contents: ObjectInfo[] = [];
  const prefixes: string[] = [];
  let truncated = false;
  // max-keys=0 asks for no entry: S3 answers an empty, complete page
  outer: for (; maxKeys > 0; ) {
    const page = await store.list(r.bucket, { prefix, after: cursor, limit: PAGE });
    for (const o of page) {
      if (contents.length + prefixes.length >= maxKeys) {
        truncated = true;
        break outer;
      }
      const at = delimiter === '' ? -1 : o.key.indexOf(delimiter, prefix.length);
      if (at >= 0) {
        const common = o.key.slice(0, at + delimiter.length);
        prefixes.push(common);
        cursor = common + PAST;
        continue outer;
      }
      contents.push(o);
      cursor = o.key;
    }
    if (page.length < PAGE) break;
  }
  const enc = (text: string) => (encoding === 'url' ? urlEncoded(text) : text);
  const common = {
    Name: r.bucket,
    Prefix: enc(prefix),
    ...(v2 ? { KeyCount: contents.length + prefixes.length } : {}),
    MaxKeys: maxKeys,
    Delimiter: delimiter === '' ? undefined : enc(delimiter),
    EncodingType: encoding ?? undefined,
    IsTruncated: truncated,
  };
  const entries = {
    Contents: contents.map((o) => ({
      Key: enc(o.key),
      LastModified: isoDate(o.modifiedAt),
      ETag: o.etag,
      Size: o.size,
      StorageClass: 'STANDARD',
    })),
    CommonPrefixes: prefixes.map((p) => ({ Prefix: enc(p) })),
  };
  if (v2) {
    sendXml(r, 'ListBucketResult', {
      ...common,
      ContinuationToken: token ?? undefined,
      NextContinuationToken: truncated ? Buffer.from(cursor).toString('base64url') : undefined,
      StartAfter: q.has('start-after') ? enc(q.get('start-after') ?? '') : undefined,
      ...entries,
    });
  } else {
    sendXml(r, 'ListBucketResult', {
      ...common,
      Marker: enc(q.get('marker') ?? ''),
      NextMarker: truncated && delimiter !== '' ? enc(cursor.replace(PAST, '')) : undefined,
      ...entries,
    });
  }
}

function readToken(token: string): string {
  if (!/^[A-Za-z0-9_-]{1,2800}$/.test(token)) {
    throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect');
  }
  return Buffer.from(token, 'base64url').toString('utf8');
}
