/**
 * services/buckets: buckets of objects, reached through the S3 API (gateway/s3) and `ctx.bucket`.
 * A bucket exists once a project declares it (`buckets:` in gust.yaml: created if missing) or a
 * client creates it through the S3 API; it is shared by name, like topics. A project that stops
 * declaring a bucket leaves it and its objects in place (deleting data is never a side effect of a
 * deploy): DeleteBucket removes an empty one. Every change runs the functions whose `bucket`
 * trigger wants it (on, prefix, suffix), queued in the same transaction as the index change.
 */
import type {
  Enqueue,
  ObjectChange,
  ObjectInfo,
  ObjectStore,
  StagedBytes,
  UploadInfo,
  WriteCondition,
} from '../backends/ports.js';
import { usesOf } from '../control/references.js';
import { queueOf } from '../dispatch/deliveries.js';
import { newInvocationId } from '../dispatch/invocation.js';
import type { QueuedEvent } from '../events/types.js';
import type { BucketTrigger, FunctionSpec } from '../manifest/types.js';
import { newTrace, type TraceLink } from '../observe/trace-context.js';
import { Declared } from './declared.js';

/** S3's limit on one PutObject (5 GiB); multipart objects may be up to 10,000 parts of it. */
export const MAX_PUT_BYTES = 5 * 1024 ** 3;
export const MAX_KEY_BYTES = 1024;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const hasControl = (key: string) => {
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
};

/** Why a key is refused, or undefined (S3 allows any UTF-8 up to 1,024 bytes; Gust refuses a few more). */
export function keyProblem(key: string): string | undefined {
  if (key === '') return 'a key must not be empty';
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) return `the key is ${bytes} bytes; keys are at most ${MAX_KEY_BYTES} bytes`;
  if (LONE_SURROGATE.test(key)) return 'the key is not valid UTF-8';
  if (hasControl(key)) return 'a key must not contain control characters (NUL, newline...)';
  if (key.split('/').some((s) => s === '.' || s === '..')) {
    return 'a key must not have . or .. segments (they mean other paths to many tools)';
  }
  return undefined;
}

type Watch = Pick<BucketTrigger, 'on' | 'prefix' | 'suffix'>;

export class Buckets {
  private readonly declared: Declared;
  /** Bucket -> function -> its triggers on that bucket. */
  private readonly watchers = new Map<string, Map<string, readonly Watch[]>>();
  /** Function -> the buckets its triggers and permissions name. */
  private readonly users = new Map<string, ReadonlySet<string>>();

  private constructor(readonly store: ObjectStore) {
    this.declared = new Declared({
      list: () => store.listDeclared(),
      declare: (project, names) => store.declare(project, names),
    });
  }

  static async open(store: ObjectStore): Promise<Buckets> {
    const b = new Buckets(store);
    await b.declared.load();
    return b;
  }

  async declare(project: string, names: readonly string[]): Promise<void> {
    await this.declared.declare(project, names);
  }

  /** The buckets that would exist were `project` to declare `names`: those that exist, and these. */
  async namesWith(names: readonly string[]): Promise<Set<string>> {
    return new Set([...(await this.store.listBuckets()).map((b) => b.name), ...names]);
  }

  has(name: string): boolean {
    return this.store.hasBucket(name);
  }

  /** Declared by a project: such a bucket is not deleted through the S3 API. */
  declaredBy(name: string): readonly string[] {
    return this.declared.entries().find(([n]) => n === name)?.[1] ?? [];
  }

  /** Deployed functions that name the bucket (a trigger or a permission): it is not deleted under them. */
  usedBy(name: string): string[] {
    return [...this.users].flatMap(([fn, names]) => (names.has(name) ? [fn] : []));
  }

  /** Follows a function's active version: its bucket triggers, and the buckets it names. */
  serve(spec: FunctionSpec): void {
    this.forget(spec.name);
    this.users.set(spec.name, new Set(usesOf(spec).buckets.map(([, name]) => name)));
    for (const t of spec.triggers) {
      if (t.type !== 'bucket') continue;
      const fns = this.watchers.get(t.name) ?? new Map<string, readonly Watch[]>();
      fns.set(spec.name, [...(fns.get(spec.name) ?? []), { on: t.on, prefix: t.prefix, suffix: t.suffix }]);
      this.watchers.set(t.name, fns);
    }
  }

  forget(fn: string): void {
    for (const fns of this.watchers.values()) fns.delete(fn);
    this.users.delete(fn);
  }

  commit(
    staged: StagedBytes,
    info: ObjectInfo,
    {
      trace = newTrace(),
      condition,
      how = 'put',
    }: { trace?: TraceLink; condition?: WriteCondition | undefined; how?: 'put' | 'copy' } = {},
  ): Promise<void> {
    return this.store.commit(staged, info, (c) => this.events(c, trace, how), condition);
  }

  delete(
    bucket: string,
    keys: readonly string[],
    { trace = newTrace(), condition }: { trace?: TraceLink; condition?: WriteCondition | undefined } = {},
  ): Promise<string[]> {
    return this.store.delete(bucket, keys, (c) => this.events(c, trace), condition);
  }

  completeUpload(
    upload: UploadInfo,
    staged: StagedBytes,
    info: ObjectInfo,
    condition?: WriteCondition,
  ): Promise<boolean> {
    return this.store.completeUpload(
      upload.id,
      staged,
      info,
      (c) => this.events(c, newTrace(), 'multipart'),
      condition,
    );
  }

  /** The queued events of changes that happened: one per change and function whose trigger wants it. */
  private events(
    changes: readonly ObjectChange[],
    trace: TraceLink,
    how: 'put' | 'copy' | 'multipart' = 'put',
  ): Enqueue[] {
    const out: Enqueue[] = [];
    const at = new Date().toISOString();
    for (const change of changes) {
      const bucket = change.op === 'created' ? change.info.bucket : change.bucket;
      const key = change.op === 'created' ? change.info.key : change.key;
      for (const [fn, watches] of this.watchers.get(bucket) ?? []) {
        const wanted = watches.some(
          (w) => w.on.includes(change.op) && key.startsWith(w.prefix) && key.endsWith(w.suffix),
        );
        if (!wanted) continue;
        const event: QueuedEvent = {
          v: 1,
          function: fn,
          trigger: 'bucket',
          invocationId: newInvocationId(),
          ...trace,
          source: {
            kind: 'bucket',
            bucket,
            key,
            op: change.op,
            at,
            ...(change.op === 'created'
              ? {
                  how,
                  size: change.info.size,
                  etag: change.info.etag.replaceAll('"', ''),
                  contentType: change.info.contentType,
                }
              : {}),
          },
        };
        out.push({ queue: queueOf(fn), id: event.invocationId, body: JSON.stringify(event) });
      }
    }
    return out;
  }
}
