/**
 * bucket-binding: what `ctx.bucket(name)` does, on the platform side, for one invocation. Every
 * call is checked against `bucket:NAME:read|write` first (write implies read). Objects travel in
 * pieces of at most 1 MiB, so neither side holds a large object whole:
 * - `head` gives what `get` shows; `read` gives one piece at an offset, and only of the version
 *   `head` saw (its ETag): an object replaced meanwhile fails the read (`ObjectChanged`) rather
 *   than splice two versions;
 * - `put` takes one piece; `putStart`, `putChunk`..., `putEnd` stream a larger one into a staged
 *   file (each chunk answered once it is on its way to disk), committed at `putEnd` like any S3
 *   upload, events of bucket triggers included. An upload left open is dropped when its invocation
 *   could no longer be running (its timeout, plus a margin).
 */
import type { StagedBytes } from '../backends/ports.js';
import { causedBy, type Invocation } from '../dispatch/invocation.js';
import type { FunctionSpec } from '../manifest/types.js';
import { type Buckets, keyProblem, MAX_PUT_BYTES } from './buckets.js';
import { refusal } from './permissions.js';

/** The largest piece one call carries (base64 in JSON over the channel). */
export const MAX_PIECE_BYTES = 1024 * 1024;
const MAX_OPEN_UPLOADS = 8;
const MAX_METADATA_BYTES = 2048;
const MAX_LIST = 1000;
const WRITES = new Set(['put', 'putStart', 'putChunk', 'putEnd', 'putAbort', 'delete']);
const METHODS = new Set([...WRITES, 'head', 'read', 'list']);
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

type Args = Record<string, unknown>;

export function bucketBinding(buckets: Buckets, spec: FunctionSpec, inv: Invocation) {
  const uploads = new Map<string, Upload>();
  let nextUpload = 0;
  return async (args: Args): Promise<{ json: string }> => {
    const name = typeof args.bucket === 'string' && NAME.test(args.bucket) ? args.bucket : undefined;
    if (name === undefined) throw named('TypeError', 'ctx.bucket(name): name must be a bucket name');
    const method = String(args.method);
    if (!METHODS.has(method))
      throw named('TypeError', `ctx.bucket('${name}') has no method ${method.slice(0, 20)}`);
    const access = WRITES.has(method) ? 'write' : 'read';
    const why = refusal(spec, `bucket:${name}:${access}`, `ctx.bucket('${name}').${publicName(method)}`);
    if (why !== undefined) throw named('PermissionError', why);
    if (!buckets.has(name)) throw named('NotFound', `ctx.bucket('${name}'): there is no bucket ${name}`);
    const answer = (value: unknown) => ({ json: JSON.stringify(value ?? null) });
    switch (method) {
      case 'head': {
        const info = await buckets.store.head(name, key(args.key));
        return answer(
          info && {
            size: info.size,
            etag: info.etag.replaceAll('"', ''),
            contentType: info.contentType,
            metadata: info.metadata,
            modified: info.modifiedAt,
          },
        );
      }
      case 'read':
        return answer({ data: await read(buckets, name, args) });
      case 'list':
        return answer(await list(buckets, name, args));
      case 'delete':
        return answer((await buckets.delete(name, [key(args.key)], { trace: causedBy(inv) })).length === 1);
      case 'put': {
        const k = key(args.key);
        const bytes = piece(args.data);
        const staged = await buckets.store.stage([bytes], MAX_PUT_BYTES);
        return answer(await commit(buckets, staged, name, k, args, inv));
      }
      case 'putStart': {
        if (uploads.size >= MAX_OPEN_UPLOADS)
          throw named('TypeError', `more than ${MAX_OPEN_UPLOADS} puts open at once`);
        const id = String(++nextUpload);
        const upload = new Upload(buckets, name, key(args.key), spec.timeoutMs + 10_000, () =>
          uploads.delete(id),
        );
        uploads.set(id, upload);
        return answer({ upload: id });
      }
      case 'putChunk':
        await openUpload(uploads, args).push(piece(args.data));
        return answer(null);
      case 'putEnd': {
        const upload = openUpload(uploads, args);
        const staged = await upload.end();
        if (upload.bucket !== name) throw named('TypeError', 'putEnd: the upload is of another bucket');
        return answer(await commit(buckets, staged, name, upload.key, args, inv));
      }
      default: {
        const upload = uploads.get(String(args.upload));
        upload?.abort(new Error('aborted'));
        return answer(null);
      }
    }
  };
}

const publicName = (method: string) =>
  method.startsWith('put') ? 'put' : method === 'head' || method === 'read' ? 'get' : method;

function openUpload(uploads: Map<string, Upload>, args: Args): Upload {
  const upload = uploads.get(String(args.upload));
  if (!upload) throw named('TypeError', 'this put is not open (it ended, failed or took too long)');
  return upload;
}

async function commit(
  buckets: Buckets,
  staged: StagedBytes,
  bucket: string,
  k: string,
  args: Args,
  inv: Invocation,
): Promise<{ size: number; etag: string }> {
  try {
    const info = {
      bucket,
      key: k,
      size: staged.size,
      etag: `"${staged.md5}"`,
      contentType: contentType(args.contentType),
      metadata: metadata(args.metadata),
      headers: {},
      checksum: null,
      modifiedAt: Math.floor(Date.now() / 1000) * 1000,
    };
    await buckets.commit(staged, info, { trace: causedBy(inv) });
    return { size: staged.size, etag: staged.md5 };
  } catch (e) {
    await buckets.store.discard(staged);
    throw e;
  }
}

async function read(buckets: Buckets, bucket: string, args: Args): Promise<string> {
  const k = key(args.key);
  const offset = Number(args.offset);
  const length = Number(args.length);
  if (
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    !Number.isSafeInteger(length) ||
    length < 1 ||
    length > MAX_PIECE_BYTES
  ) {
    throw named('TypeError', `read: offset must be a whole number and length 1 to ${MAX_PIECE_BYTES}`);
  }
  const opened = await buckets.store.open(bucket, k);
  if (!opened)
    throw named(
      'ObjectChanged',
      `ctx.bucket('${bucket}').get('${k}'): the object was deleted while it was read`,
    );
  try {
    if (opened.info.etag.replaceAll('"', '') !== args.etag) {
      throw named(
        'ObjectChanged',
        `ctx.bucket('${bucket}').get('${k}'): the object was replaced while it was read`,
      );
    }
    const buffer = Buffer.alloc(Math.min(length, Math.max(0, opened.info.size - offset)));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await opened.file.read(buffer, filled, buffer.length - filled, offset + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled).toString('base64');
  } finally {
    await opened.file.close();
  }
}

async function list(buckets: Buckets, bucket: string, args: Args) {
  const prefix = args.prefix ?? '';
  if (typeof prefix !== 'string') throw named('TypeError', 'list: prefix must be a string');
  const limit = args.limit ?? 1000;
  if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIST) {
    throw named('TypeError', `list: limit must be a whole number from 1 to ${MAX_LIST}`);
  }
  let after = '';
  if (args.cursor !== undefined && args.cursor !== null) {
    if (typeof args.cursor !== 'string' || !/^[A-Za-z0-9_-]{1,2800}$/.test(args.cursor)) {
      throw named('TypeError', 'list: cursor must be the string a previous list gave');
    }
    after = Buffer.from(args.cursor, 'base64url').toString('utf8');
  }
  const rows = await buckets.store.list(bucket, { prefix, after, limit: (limit as number) + 1 });
  const page = rows.slice(0, limit as number);
  const last = page.at(-1);
  return {
    objects: page.map((o) => ({
      key: o.key,
      size: o.size,
      etag: o.etag.replaceAll('"', ''),
      modified: new Date(o.modifiedAt).toISOString(),
    })),
    cursor: rows.length > (limit as number) && last ? Buffer.from(last.key).toString('base64url') : null,
  };
}

function key(value: unknown): string {
  if (typeof value !== 'string') throw named('TypeError', 'a key must be a string');
  const problem = keyProblem(value);
  if (problem !== undefined) throw named('TypeError', problem);
  return value;
}

function piece(value: unknown): Buffer {
  if (typeof value !== 'string' || value.length > Math.ceil(MAX_PIECE_BYTES / 3) * 4) {
    throw named('TypeError', `a piece of an object is base64 of at most ${MAX_PIECE_BYTES} bytes`);
  }
  return Buffer.from(value, 'base64');
}

/**
 * What an HTTP header can carry back to S3 clients, as S3 takes user metadata: printable US-ASCII.
 * Anything else (a newline, an accented letter) is refused here rather than kept and then unsendable.
 */
const HEADER_VALUE = /^[\x20-\x7e]*$/;
const ASCII_ADVICE = 'printable US-ASCII, as on S3 (encode other text, e.g. with encodeURIComponent)';

function contentType(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'application/octet-stream';
  if (typeof value !== 'string' || !HEADER_VALUE.test(value) || value.length > 256) {
    throw named('TypeError', `contentType must be a string of at most 256 characters of ${ASCII_ADVICE}`);
  }
  return value;
}

function metadata(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value))
    throw named('TypeError', 'metadata must be an object of strings');
  const out: Record<string, string> = {};
  let bytes = 0;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string' || !/^[a-z0-9-_.]{1,128}$/i.test(k)) {
      throw named('TypeError', 'metadata names are letters, digits, - _ . and values strings');
    }
    if (!HEADER_VALUE.test(v)) throw named('TypeError', `metadata ${k}: values are ${ASCII_ADVICE}`);
    out[k.toLowerCase()] = v;
    bytes += k.length + Buffer.byteLength(v);
  }
  if (bytes > MAX_METADATA_BYTES)
    throw named('TypeError', `metadata is ${bytes} bytes; at most ${MAX_METADATA_BYTES}`);
  return out;
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/**
 * One streamed put: chunks handed over one at a time to `stage` (an async iterable), each `push`
 * settled once stage has taken it (so a fast writer waits for the disk: bounded memory).
 */
class Upload {
  private readonly staged: Promise<StagedBytes>;
  private waiting: { chunk: Buffer | null; taken: () => void } | undefined;
  private wake: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    buckets: Buckets,
    readonly bucket: string,
    readonly key: string,
    lifetimeMs: number,
    done: () => void,
  ) {
    this.staged = buckets.store.stage(this.feed(), MAX_PUT_BYTES);
    this.staged.catch(() => {}).finally(done);
    this.timer = setTimeout(
      () => this.abort(new Error('the put was left open past its invocation')),
      lifetimeMs,
    );
    this.timer.unref();
  }

  push(chunk: Buffer): Promise<void> {
    return this.hand(chunk);
  }

  async end(): Promise<StagedBytes> {
    await this.hand(null);
    clearTimeout(this.timer);
    return this.staged;
  }

  abort(e: Error): void {
    clearTimeout(this.timer);
    this.failure ??= e;
    this.wake?.();
  }

  private hand(chunk: Buffer | null): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting) return Promise.reject(named('TypeError', 'one chunk of a put at a time: await each'));
    return new Promise<void>((resolve, reject) => {
      this.waiting = { chunk, taken: resolve };
      this.wake?.();
      // a stage that fails (too large, disk full) rejects the chunk waiting on it
      this.staged.catch((e: unknown) => reject(e as Error));
    });
  }

  private async *feed(): AsyncGenerator<Uint8Array> {
    for (;;) {
      while (!this.waiting && !this.failure) await new Promise<void>((r) => (this.wake = r));
      if (this.failure) throw this.failure;
      const { chunk, taken } = this.waiting!;
      this.waiting = undefined;
      if (chunk === null) {
        taken();
        return;
      }
      yield chunk;
      taken();
    }
  }
}
