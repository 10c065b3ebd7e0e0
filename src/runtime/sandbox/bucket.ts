/**
 * bucket: `ctx.bucket(name)` inside the instance. Objects travel over the channel in pieces of at
 * most 1 MiB, each a binding call the host checks (`bucket:NAME:read|write`): `get` gives a body
 * that reads piece by piece as it is consumed (nothing is read until then), `put` sends a string or
 * bytes in one call when small, else streams them (or a ReadableStream / async iterable) piece by
 * piece, each awaited, so neither side ever holds a large object whole.
 */
import { callHost } from './bindings.js';

const PIECE = 1024 * 1024;

export interface BucketObject {
  /** The bytes, read from the platform as they are consumed. */
  readonly body: ReadableStream<Uint8Array>;
  readonly size: number;
  /** MD5 (hex), or `<hex>-N` for an object uploaded in N parts. */
  readonly etag: string;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type BucketBody =
  | string
  | Uint8Array
  | ArrayBuffer
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array | string>;

export interface Bucket {
  /** The object, or null when there is no such key (needs `bucket:NAME:read`). */
  get(key: string): Promise<BucketObject | null>;
  /** Writes the object whole (needs `bucket:NAME:write`); resolves once it is stored, with its size and etag. */
  put(
    key: string,
    body: BucketBody,
    options?: { readonly contentType?: string; readonly metadata?: Readonly<Record<string, string>> },
  ): Promise<{ readonly size: number; readonly etag: string }>;
  /** Whether there was such an object. */
  delete(key: string): Promise<boolean>;
  /** Objects in key order, a page at a time (`limit` up to 1000); pass `cursor` back for the next. */
  list(options?: {
    readonly prefix?: string;
    readonly cursor?: string | null;
    readonly limit?: number;
  }): Promise<{
    readonly objects: readonly {
      readonly key: string;
      readonly size: number;
      readonly etag: string;
      readonly modified: string;
    }[];
    readonly cursor: string | null;
  }>;
}

interface Head {
  size: number;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
}

export function bucketOf(id: string, bucket: string): Bucket {
  const call = (method: string, args: Record<string, unknown> = {}) =>
    callHost(id, 'bucket', { bucket, method, ...args });
  return {
    get: async (key) => {
      const head = (await call('head', { key })) as Head | null;
      return (
        head && objectOf(head, (offset, length) => call('read', { key, etag: head.etag, offset, length }))
      );
    },
    put: async (key, body, options = {}) => {
      const unknown = Object.keys(options ?? {}).filter((k) => k !== 'contentType' && k !== 'metadata');
      if (unknown.length > 0) {
        throw new TypeError(`put: unknown option ${unknown.join(', ')} (it takes contentType and metadata)`);
      }
      const meta = { contentType: options.contentType, metadata: options.metadata };
      if (typeof body === 'string' || body instanceof Uint8Array || body instanceof ArrayBuffer) {
        const bytes =
          typeof body === 'string'
            ? Buffer.from(body)
            : Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body);
        if (bytes.length <= PIECE) {
          return (await call('put', { key, data: bytes.toString('base64'), ...meta })) as {
            size: number;
            etag: string;
          };
        }
        return streamPut(call, key, pieces([bytes]), meta);
      }
      return streamPut(call, key, pieces(body), meta);
    },
    delete: (key) => call('delete', { key }) as Promise<boolean>,
    list: (options = {}) => call('list', { ...options }) as ReturnType<Bucket['list']>,
  };
}

function objectOf(head: Head, read: (offset: number, length: number) => Promise<unknown>): BucketObject {
  let offset = 0;
  // set once anything read the body (pulls come only from a reader: highWaterMark 0)
  let used = false;
  const fetchAt = async (at: number): Promise<Buffer> => {
    const { data } = (await read(at, Math.min(PIECE, head.size - at))) as { data: string };
    return Buffer.from(data, 'base64');
  };
  // the next piece is asked for while the reader works on this one: one piece ahead, no more
  let ahead: Promise<Buffer> | undefined;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        used = true;
        if (offset >= head.size) {
          controller.close();
          return;
        }
        const bytes = await (ahead ?? fetchAt(offset));
        ahead = undefined;
        if (bytes.length === 0) {
          controller.error(new Error('the object ended before its size'));
          return;
        }
        offset += bytes.length;
        if (offset < head.size) {
          ahead = fetchAt(offset);
          ahead.catch(() => {}); // a reader that stops here never sees it; one that goes on does
        }
        controller.enqueue(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
      },
    },
    { highWaterMark: 0 },
  );
  const whole = async (): Promise<Buffer> => {
    // as fetch's Response: a body is read once (a second text() would answer "")
    if (used || body.locked)
      throw new TypeError('Body is unusable: the body of this object was already read');
    const parts: Uint8Array[] = [];
    for await (const part of body as unknown as AsyncIterable<Uint8Array>) parts.push(part);
    return Buffer.concat(parts);
  };
  return {
    body,
    size: head.size,
    etag: head.etag,
    contentType: head.contentType,
    metadata: head.metadata,
    text: async () => (await whole()).toString('utf8'),
    arrayBuffer: async () => {
      const b = await whole();
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer;
    },
  };
}

/** Any body as pieces of at most PIECE bytes (small ones gathered, large ones cut). */
async function* pieces(
  body: Exclude<BucketBody, string | ArrayBuffer> | Iterable<Uint8Array>,
): AsyncGenerator<Buffer> {
  let pending: Buffer[] = [];
  let size = 0;
  const source = (
    typeof (body as ReadableStream).getReader === 'function' && !(Symbol.asyncIterator in body)
      ? readerIterable(body as ReadableStream<Uint8Array>)
      : body
  ) as AsyncIterable<Uint8Array | string>;
  for await (const chunk of source) {
    let bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    while (bytes.length > 0) {
      const take = bytes.subarray(0, PIECE - size);
      pending.push(take);
      size += take.length;
      bytes = bytes.subarray(take.length);
      if (size === PIECE) {
        yield Buffer.concat(pending);
        pending = [];
        size = 0;
      }
    }
  }
  if (size > 0) yield Buffer.concat(pending);
}

async function* readerIterable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

async function streamPut(
  call: (method: string, args?: Record<string, unknown>) => Promise<unknown>,
  key: string,
  source: AsyncGenerator<Buffer>,
  meta: Record<string, unknown>,
): Promise<{ size: number; etag: string }> {
  const { upload } = (await call('putStart', { key })) as { upload: string };
  try {
    for await (const piece of source) await call('putChunk', { upload, data: piece.toString('base64') });
  } catch (e) {
    await call('putAbort', { upload }).catch(() => {});
    throw e;
  }
  return (await call('putEnd', { upload, ...meta })) as { size: number; etag: string };
}
