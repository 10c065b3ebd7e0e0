/**
 * s3/api: the S3 API, path-style (`/bucket/key`), every request signed with SigV4 (header or
 * presigned URL) by a key of scope storage (or admin). Routes each request to its operation:
 * buckets here, objects in objects.ts, multipart uploads in multipart.ts. What Gust does not
 * implement (versioning, ACLs, policies, tagging...) answers NotImplemented, never a wrong success.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConditionFailed } from '../../backends/ports.js';
import type { Keys } from '../../control/keys.js';
import { GustError } from '../../errors.js';
import { BUCKET_NAME } from '../../manifest/triggers.js';
import type { Buckets } from '../../services/buckets.js';
import { copyObject } from './copy.js';
import { S3Error } from './errors.js';
import { listObjects } from './list.js';
import {
  abortUpload,
  completeUpload,
  createUpload,
  listParts,
  listUploads,
  uploadPart,
} from './multipart.js';
import { deleteObject, deleteObjects, getObject, putObject } from './objects.js';
import {
  authenticateS3,
  header,
  isoDate,
  newRequestId,
  payloadOf,
  type S3Request,
  sendEmpty,
  sendXml,
  smallBody,
  splitPath,
} from './request.js';
import { parseXml } from './xml.js';

export interface S3Deps {
  readonly buckets: Buckets;
  readonly keys: Keys;
  readonly onError: (e: unknown) => void;
}

/** Sub-resources of S3 that Gust does not serve. */
const UNSUPPORTED = [
  'acl',
  'policy',
  'versioning',
  'versions',
  'tagging',
  'lifecycle',
  'cors',
  'website',
  'logging',
  'notification',
  'replication',
  'encryption',
  'object-lock',
  'retention',
  'legal-hold',
  'torrent',
  'accelerate',
  'requestPayment',
  'analytics',
  'inventory',
  'metrics',
  'ownershipControls',
  'publicAccessBlock',
  'intelligent-tiering',
  'restore',
  'select',
  'attributes',
];

export function s3Api(deps: S3Deps): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const requestId = newRequestId();
    try {
      await route(deps, req, res, requestId);
    } catch (e) {
      const error = e instanceof S3Error ? e : internal(e, deps);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // a refused upload's body is not read: the connection cannot be reused
      if (!req.complete) res.setHeader('connection', 'close');
      const body = req.method === 'HEAD' ? '' : error.body(requestId);
      res.writeHead(error.status, {
        'content-type': 'application/xml',
        'content-length': Buffer.byteLength(body),
        'x-amz-request-id': requestId,
      });
      res.end(body);
    }
  };
}

function internal(e: unknown, deps: S3Deps): S3Error {
  if (e instanceof ConditionFailed) {
    return e.missing
      ? new S3Error('NoSuchKey', 'The specified key does not exist (If-Match needs an object to match).')
      : new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
  }
  // a full queue of a function a bucket trigger would run: the change was refused whole
  if (e instanceof GustError && e.code === 'THROTTLED') return new S3Error('SlowDown', e.message);
  if (e instanceof Error && (e as NodeJS.ErrnoException).code === 'ENOSPC') {
    return new S3Error('ServiceUnavailable', 'the disk of Gust is full');
  }
  deps.onError(e);
  return new S3Error('InternalError', 'internal error: see the platform log');
}

async function route(deps: S3Deps, req: IncomingMessage, res: ServerResponse, requestId: string) {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? '' : url.slice(q + 1);
  if (!rawPath.startsWith('/')) throw new S3Error('InvalidRequest', 'the request path must start with /');
  const { bucket, key } = splitPath(rawPath);
  refuseVirtualHost(req, bucket, deps.buckets);
  const { key: caller, auth } = await authenticateS3(req, rawPath, rawQuery, deps.keys);
  const query = new URLSearchParams(rawQuery);
  const method = req.method ?? 'GET';
  let payload: ReturnType<typeof payloadOf> | undefined;
  const r: S3Request = {
    req,
    res,
    method,
    requestId,
    query,
    bucket,
    key,
    caller,
    payload: () => {
      payload ??= payloadOf(req, auth);
      return payload;
    },
  };
  const sub = UNSUPPORTED.find((s) => query.has(s));
  if (sub !== undefined) throw new S3Error('NotImplemented', `?${sub} is not supported by Gust`);
  refuseUnsupportedHeaders(req);
  if (bucket === '') {
    if (method !== 'GET') throw new S3Error('MethodNotAllowed', `${method} / is not an S3 operation`);
    return listBuckets(deps, r);
  }
  if (key === '') return bucketOperation(deps, r);
  if (!deps.buckets.has(bucket))
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', bucket);
  const s = deps.buckets;
  switch (method) {
    case 'GET':
      return query.has('uploadId') ? listParts(s, r) : getObject(s, r);
    case 'HEAD':
      return getObject(s, r);
    case 'PUT':
      if (query.has('uploadId') || query.has('partNumber')) return uploadPart(s, r);
      return header(r.req, 'x-amz-copy-source') === undefined ? putObject(s, r) : copyObject(s, r);
    case 'DELETE':
      return query.has('uploadId') ? abortUpload(s, r) : deleteObject(s, r);
    case 'POST':
      if (query.has('uploads')) return createUpload(s, r);
      if (query.has('uploadId')) return completeUpload(s, r);
      throw new S3Error(
        'MethodNotAllowed',
        'POST on an object is CreateMultipartUpload (?uploads) or CompleteMultipartUpload (?uploadId)',
      );
    default:
      throw new S3Error('MethodNotAllowed', `${method} is not an S3 operation`);
  }
}

/**
 * A client set to virtual-hosted style names the bucket in the host (`photos.localhost:9000`) and
 * sends the key as the path: read path-style, `PUT /key` would create a bucket named like the key,
 * and DELETE remove one. Refused when the host's first label is a bucket the path does not name,
 * or the host is `<name>.localhost` or `<name>.<IPv4>` (names no DNS gives a path-style endpoint).
 */
function refuseVirtualHost(req: IncomingMessage, pathBucket: string, buckets: Buckets): void {
  const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
  const dot = host.indexOf('.');
  if (dot <= 0) return;
  const label = host.slice(0, dot);
  const rest = host.slice(dot + 1);
  const local = rest === 'localhost' || /^\d{1,3}(\.\d{1,3}){3}$/.test(rest);
  if (local || (buckets.has(label) && label !== pathBucket && !buckets.has(pathBucket))) {
    throw new S3Error(
      'InvalidRequest',
      `virtual-hosted-style requests (the bucket in the host name, here ${label}) are not supported: set the client to path style (AWS SDK: forcePathStyle: true; AWS CLI: aws configure set default.s3.addressing_style path)`,
    );
  }
}

/**
 * Headers asking for what Gust does not do (ACLs, encryption, tagging, object lock, storage
 * classes, redirects): NotImplemented, rather than a success that ignored them. The defaults
 * (`x-amz-acl: private`, `x-amz-storage-class: STANDARD`) are what Gust does, and pass.
 */
function refuseUnsupportedHeaders(req: IncomingMessage): void {
  for (const name of Object.keys(req.headers)) {
    if (!name.startsWith('x-amz-')) continue;
    const value = String(req.headers[name]).trim();
    const refused =
      (name === 'x-amz-acl' && value !== 'private') ||
      (name === 'x-amz-storage-class' && value !== 'STANDARD') ||
      name.startsWith('x-amz-grant-') ||
      name.startsWith('x-amz-server-side-encryption') ||
      name.startsWith('x-amz-copy-source-server-side-encryption') ||
      name.startsWith('x-amz-object-lock-') ||
      name === 'x-amz-tagging' ||
      name === 'x-amz-tagging-directive' ||
      name === 'x-amz-website-redirect-location';
    if (refused) throw new S3Error('NotImplemented', `${name} is not supported by Gust`);
  }
}

async function listBuckets(deps: S3Deps, r: S3Request): Promise<void> {
  const all = await deps.buckets.store.listBuckets();
  sendXml(r, 'ListAllMyBucketsResult', {
    Owner: { ID: 'gust', DisplayName: 'gust' },
    Buckets: { Bucket: all.map((b) => ({ Name: b.name, CreationDate: isoDate(b.createdAt) })) },
  });
}

async function bucketOperation(deps: S3Deps, r: S3Request): Promise<void> {
  const { bucket, method, query } = r;
  if (method === 'PUT') return createBucket(deps, r);
  if (!deps.buckets.has(bucket))
    throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', bucket);
  switch (method) {
    case 'HEAD':
      return sendEmpty(r, 200, { 'x-amz-bucket-region': 'us-east-1' });
    case 'GET':
      if (query.has('location')) return sendXml(r, 'LocationConstraint', {});
      if (query.has('uploads')) return listUploads(deps.buckets, r);
      return listObjects(deps.buckets.store, r);
    case 'DELETE':
      return deleteBucket(deps, r);
    case 'POST':
      if (query.has('delete')) return deleteObjects(deps.buckets, r);
      throw new S3Error('MethodNotAllowed', 'POST on a bucket is DeleteObjects (?delete)');
    default:
      throw new S3Error('MethodNotAllowed', `${method} is not an S3 operation`);
  }
}

async function createBucket(deps: S3Deps, r: S3Request): Promise<void> {
  if (!BUCKET_NAME.test(r.bucket)) {
    throw new S3Error(
      'InvalidBucketName',
      'bucket names are 3 to 63 lower-case letters, digits, . and -, starting and ending with a letter or digit',
      r.bucket,
    );
  }
  const text = await smallBody(r);
  if (text.trim() !== '' && parseXml(text) === undefined) {
    throw new S3Error('MalformedXML', 'the CreateBucketConfiguration is not well-formed XML');
  }
  if (!(await deps.buckets.store.createBucket(r.bucket))) {
    throw new S3Error('BucketAlreadyOwnedByYou', 'the bucket exists already, and it is yours', r.bucket);
  }
  sendEmpty(r, 200, { location: `/${r.bucket}` });
}

async function deleteBucket(deps: S3Deps, r: S3Request): Promise<void> {
  const projects = deps.buckets.declaredBy(r.bucket);
  if (projects.length > 0) {
    throw new S3Error(
      'OperationAborted',
      `the bucket is declared in gust.yaml by ${projects.join(', ')}: remove it from buckets there and deploy first`,
      r.bucket,
    );
  }
  const users = deps.buckets.usedBy(r.bucket);
  if (users.length > 0) {
    throw new S3Error(
      'OperationAborted',
      `the bucket is used by deployed functions (${users.join(', ')}: a bucket trigger or permission): change or remove them first`,
      r.bucket,
    );
  }
  const done = await deps.buckets.store.deleteBucket(r.bucket);
  if (done === 'not-empty') {
    throw new S3Error('BucketNotEmpty', 'The bucket you tried to delete is not empty', r.bucket);
  }
  if (done === 'missing') throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', r.bucket);
  sendEmpty(r, 204);
}
