/**
 * backends/ports: every stateful need of Gust as a small interface. embedded/ implements them
 * with SQLite and files; a cluster adapter (PostgreSQL, NATS) implements the same and runs the
 * same conformance suites (test/backends/).
 */
import type { FileHandle } from 'node:fs/promises';
import type { FunctionSpec } from '../manifest/types.js';

export interface VersionRecord {
  readonly function: string;
  readonly version: number;
  /** Hash of the bundle and the normalized spec: same code and config, same hash. */
  readonly hash: string;
  readonly bundleHash: string;
  readonly spec: FunctionSpec;
  readonly createdAt: string;
}

export interface FunctionRecord {
  readonly name: string;
  /** The project that owns it; null for a function deployed before Gust had projects. */
  readonly project: string | null;
  readonly activeVersion: number;
  readonly updatedAt: string;
}

export interface DeployChange {
  readonly spec: FunctionSpec;
  readonly hash: string;
  readonly bundleHash: string;
}

export interface DeployRequest {
  /** Who deploys: the functions end up owned by this project. */
  readonly project: string;
  /** Take functions that another project owns (without it, such a deploy is refused whole). */
  readonly adopt: boolean;
  readonly changes: readonly DeployChange[];
}

export interface DeployedFunction {
  readonly name: string;
  readonly version: number;
  readonly changed: boolean;
  /** Present when the deploy moved the function to this project: its owner before (null: none). */
  readonly movedFrom?: string | null;
}

export type DeployResult =
  | { readonly ok: true; readonly functions: DeployedFunction[] }
  /** Functions another project owns, and `adopt` was not given: nothing changed. */
  | { readonly ok: false; readonly owned: { readonly name: string; readonly project: string }[] };

export interface RegistryStore {
  /** Every function, or those of one project; by name. */
  listFunctions(project?: string): Promise<FunctionRecord[]>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listVersions(name: string): Promise<VersionRecord[]>;
  getVersion(name: string, version: number): Promise<VersionRecord | undefined>;
  /**
   * All or nothing. A change whose hash equals the active version's makes no new version. Version
   * numbers grow per name and are never reused, even after the function was removed.
   */
  deploy(request: DeployRequest): Promise<DeployResult>;
  /** Points the function at an existing version; false if that version does not exist. */
  activate(name: string, version: number): Promise<boolean>;
  /**
   * Removes the oldest versions past `keep`, never the active one nor the newest before it (what
   * `gust rollback` goes back to); returns the bundle hashes that no version uses any more.
   */
  trimVersions(name: string, keep: number): Promise<string[]>;
  /** Whether this version was removed by trimVersions (and the function not removed since). */
  wasTrimmed(name: string, version: number): Promise<boolean>;
  /** Removes the function and its versions (its name keeps its last version number); false if there was none. */
  remove(name: string): Promise<boolean>;
  /** Every declared topic, with the projects that declare it. */
  listTopics(): Promise<{ readonly name: string; readonly projects: readonly string[] }[]>;
  /** The topics a project declares, replacing what it declared before. */
  declareTopics(project: string, names: readonly string[]): Promise<void>;
  /** Every declared KV namespace, with the projects that declare it. */
  listNamespaces(): Promise<{ readonly name: string; readonly projects: readonly string[] }[]>;
  /** The KV namespaces a project declares, replacing what it declared before. */
  declareNamespaces(project: string, names: readonly string[]): Promise<void>;
}

export type KeyScope = 'admin' | 'deploy' | 'invoke' | 'storage' | 'metrics';

export interface KeyRecord {
  readonly id: string;
  /** sha256 of the whole bearer key. */
  readonly hash: string;
  readonly scope: KeyScope;
  readonly function: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** Requests a second it may make (a token bucket of one second's worth); null: no limit. */
  readonly rate: number | null;
  /** Requests at once (the bucket's size); null: one second's worth (keys made before bursts). */
  readonly burst: number | null;
}

export interface KeyStore {
  putKey(key: KeyRecord): Promise<void>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** false if there is no such key. */
  revokeKey(id: string, at: string): Promise<boolean>;
}

export type InvocationStatus = 'ok' | 'error' | 'timeout' | 'crashed' | 'throttled' | 'rejected';

/** The invocation record users see (README, docs/API.md), field for field. */
export interface InvocationRecord {
  readonly id: string;
  /** 1, or the delivery of a queued event this is (its retries keep its id). */
  readonly attempt: number;
  readonly function: string;
  readonly version: number;
  readonly trigger: string;
  readonly instance: string | null;
  readonly start: string;
  /** From arrival to the start of the run: waiting for a free instance, or for a cold start. */
  readonly queuedMs: number;
  /** The run alone. */
  readonly durationMs: number;
  readonly billedMs: number;
  readonly memoryMb: number;
  readonly gbSeconds: number;
  readonly cold: boolean;
  readonly initMs: number;
  readonly status: InvocationStatus;
  readonly error: string | null;
  /** The error's stack, its frames in the author's source files (source-mapped); null without one. */
  readonly stack: string | null;
  /** Binding calls (ctx.publish, ctx.kv, ...) that its permissions refused. */
  readonly deniedCalls: number;
  readonly logs: string;
  readonly traceId: string;
  /** Its span in the trace (observe/traces.ts); null in records made before Gust kept it. */
  readonly spanId: string | null;
  /** The span of what caused it (a caller, the producer of its event); null: it began the trace. */
  readonly parentSpanId: string | null;
  /** The invocation this one ran again (`gust replay`, trigger `replay`); null for every other. */
  readonly replayOf: string | null;
}

/**
 * What an invocation got, kept for `gust replay` (observe/inputs.ts makes it): its event, or its
 * HTTP request, as JSON text. One per invocation id (the retries of a queued event share it).
 */
export interface KeptInput {
  readonly id: string;
  readonly function: string;
  readonly kind: 'event' | 'http';
  /** Epoch ms it was written. */
  readonly keptAt: number;
  /** Bytes of its JSON text: of `input`, or of what was not kept for being over the limit. */
  readonly bytes: number;
  /** The JSON text; null when it was over the per-event limit: only its size is kept. */
  readonly input: string | null;
}

/**
 * The kept inputs, apart from the records: written and pruned (observe/retention.ts InputPruner),
 * for their own time and size, by a thread of their own (observe/input-worker.ts).
 */
export interface InputStore {
  get(id: string): Promise<KeptInput | undefined>;
  /**
   * Deletes up to `limit` of the oldest inputs, only those kept before `before` (epoch ms) when
   * given: how many it deleted, and `done` once none is left to delete. One short step.
   */
  prune(opts: { before?: number; limit: number }): Promise<{ deleted: number; done: boolean }>;
  /** How many inputs are kept, and about how many bytes they take (their text and their rows). */
  size(): Promise<{ inputs: number; bytes: number }>;
}

/** The records of one trace: every attempt (a retry is a span of its own). */
export interface TraceQuery {
  readonly traceId: string;
  /** A record of it known to the caller: where the root of a trace started here is looked for. */
  readonly around?: string;
  readonly limit: number;
}

export interface TraceRecords {
  /** Oldest start first. */
  readonly records: InvocationRecord[];
  /** False when the limit left some out. */
  readonly complete: boolean;
}

export interface InvocationQuery {
  readonly function?: string;
  /** `failed`: every status but ok. */
  readonly status?: InvocationStatus | 'failed';
  readonly trigger?: string;
  /** ISO times: only records that started at or after `since`, and before `until`. */
  readonly since?: string;
  readonly until?: string;
  /** From an earlier page: the records after it (older ones, as pages go newest first). */
  readonly cursor?: string;
  readonly limit: number;
}

export interface InvocationPage {
  /** Newest first. */
  readonly records: InvocationRecord[];
  /** Where the next page starts; null when this one holds the last record. */
  readonly cursor: string | null;
}

export interface LogQuery {
  readonly function: string;
  readonly invocation?: string;
  /** Cursor from an earlier answer: only what was recorded after it. */
  readonly after?: number;
  readonly limit: number;
}

export interface LogEntry {
  readonly invocation: string;
  /** The version that ran it, and how long it ran, as in the record (`gust dev` shows both). */
  readonly version: number;
  readonly durationMs: number;
  readonly start: string;
  readonly status: InvocationStatus;
  readonly logs: string;
  /** As in the record: why it failed, and where (null when it did not, or has no stack). */
  readonly error: string | null;
  readonly stack: string | null;
}

/** Usage over a time range: per function, or per UTC day (of every function, or of one). */
export interface UsageQuery {
  /** Epoch ms: from the minute it falls in; to the minute `until` falls in, not included. */
  readonly since: number;
  readonly until: number;
  readonly by: 'function' | 'day';
  readonly function?: string;
}

/** Latency over time: the records of one function in [since, until), cut into equal steps. */
export interface LatencyQuery {
  readonly function: string;
  /** ISO times. */
  readonly since: string;
  readonly until: string;
  readonly stepMs: number;
  /** The newest this many records at most are looked at: the work stays bounded on a busy function. */
  readonly maxRecords: number;
}

/** One step of a latency series; latency is what a caller waited: queued + run, in ms. */
export interface LatencyStep {
  /** Index of the step from `since`. */
  readonly step: number;
  /** Calls that ran (billed), and of those, how many failed and how many started cold. */
  readonly count: number;
  readonly errors: number;
  readonly cold: number;
  /** Calls that never ran (throttled, refused by a budget or an input schema): in no other field. */
  readonly notRun: number;
  /** Latency (queued + run) of the calls that ran; null in a step where none did. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

export interface UsageRow {
  /** The function (by function), or the UTC day `YYYY-MM-DD` (by day). */
  readonly key: string;
  /** Invocations that ran (and were billed); throttled and rejected calls are not among them. */
  readonly requests: number;
  /** Of those, the ones whose status is not ok. */
  readonly failed: number;
  readonly coldStarts: number;
  readonly billedMs: number;
  readonly gbSeconds: number;
  /** Instances kept warm by `scale.min`, metered apart (like provisioned concurrency). */
  readonly warmGbSeconds: number;
}

export interface InvocationStore {
  /** Also rolls them up into usage, in the same transaction: usage stays exact once records go. */
  add(records: readonly InvocationRecord[]): Promise<void>;
  /** Adds what instances kept warm by scale.min cost, per function, at a moment (epoch ms). */
  addWarm(at: number, gbSecondsByFunction: ReadonlyMap<string, number>): Promise<void>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /**
   * Latency percentiles and cold starts per step (steps without records are left out); `looked`:
   * records of the window read; `complete`: false when the bound left older ones of it unread.
   */
  latency(query: LatencyQuery): Promise<{ steps: LatencyStep[]; looked: number; complete: boolean }>;
  /** The latest attempt of that invocation. */
  get(id: string): Promise<InvocationRecord | undefined>;
  /** The records of a trace (dashboard waterfall); bounded work, however many records there are. */
  trace(query: TraceQuery): Promise<TraceRecords>;
  /** Newest first, a page at a time. A cursor that is not one this store made is refused (RangeError). */
  list(query: InvocationQuery): Promise<InvocationPage>;
  /** Oldest first, with the cursor to ask for what comes next. */
  logs(query: LogQuery): Promise<{ entries: LogEntry[]; cursor: number }>;
  /**
   * Deletes up to `limit` of the oldest records that started before `before` (ISO), only those
   * that ended `ok` when `okOnly`: how many it deleted, and `done` once none is left to delete.
   * One short step: callers repeat it until done.
   */
  prune(opts: {
    before: string;
    okOnly: boolean;
    limit: number;
  }): Promise<{ deleted: number; done: boolean }>;
  /** How many records there are, and about how many bytes each takes (logs and indexes included). */
  size(): Promise<{ records: number; bytesPerRecord: number }>;
}

/** Content-addressed bundles; `localPath` gives a file an instance can load. */
export interface BundleStore {
  put(code: string): Promise<string>;
  localPath(hash: string): Promise<string>;
  /** Deletes a bundle no version uses (gone already: nothing to do). */
  remove(hash: string): Promise<void>;
}

/**
 * A message of a durable queue, as a consumer gets it. `handle` names this delivery (not the
 * message): acking or nacking a delivery whose lease ran out, and which went to another consumer
 * since, does nothing.
 */
export interface QueuedMessage {
  readonly id: string;
  readonly queue: string;
  readonly body: string;
  /** Deliveries so far, this one included: 1 on the first. */
  readonly attempt: number;
  /** Epoch ms it was enqueued. */
  readonly enqueuedAt: number;
  readonly handle: string;
}

export interface Enqueue {
  readonly queue: string;
  /** Unique per message: enqueuing an id already waiting in the queue does nothing (dedupe). */
  readonly id: string;
  readonly body: string;
  /** Ready only after this long (a retry's backoff, a scheduled event). */
  readonly delayMs?: number;
}

export type EnqueueResult =
  | { readonly ok: true; readonly accepted: number; readonly duplicates: readonly string[] }
  /** A queue is at its bound: nothing of the batch was enqueued. */
  | { readonly ok: false; readonly full: string; readonly depth: number };

export interface QueueDepth {
  /** Messages waiting, ready or delayed, and not leased. */
  readonly waiting: number;
  /** Messages delivered and not yet acked or nacked. */
  readonly leased: number;
  /** Age in ms of the oldest message, 0 when empty. */
  readonly oldestMs: number;
}

export interface QueueStats {
  readonly queue: string;
  readonly messages: number;
  /** Age in ms of the oldest message (the first enqueued of those still there). */
  readonly oldestMs: number;
}

/**
 * DurableQueue: at-least-once work queues, by name. The semantics are those of a NATS JetStream
 * work-queue stream with a pull consumer, so a cluster adapter can provide them:
 * - `enqueue` resolves once the messages are durable (all of a batch, or none);
 * - `claim` leases ready messages (oldest first) for the queue's lease time; a message not acked
 *   or nacked within it is delivered again, its attempt counted up (a consumer that died);
 * - `ack` deletes; `nack` makes a message ready again after a delay (a retry's backoff), and
 *   delayed messages never hold up the ready ones behind them;
 * - every queue is bounded: past `maxDepth` waiting messages, enqueue refuses the batch.
 * One conformance suite (test/backends/queue.conformance.ts) runs against every adapter.
 */
export interface DurableQueue {
  enqueue(items: readonly Enqueue[]): Promise<EnqueueResult>;
  claim(queue: string, max: number): Promise<QueuedMessage[]>;
  ack(handles: readonly string[]): Promise<void>;
  nack(handle: string, delayMs: number): Promise<void>;
  /** Pushes the lease of a delivery still being worked on (a long run) out by a lease time. */
  extend(handle: string): Promise<void>;
  depth(queue: string): Promise<QueueDepth>;
  /**
   * Every queue holding messages, with how many (waiting, delayed or leased) and the oldest's age:
   * read at each metrics scrape, so one cheap pass for all queues, not one query per queue.
   */
  stats(): Promise<QueueStats[]>;
  /** Deletes every message of a queue (its consumer is gone for good); how many there were. */
  purge(queue: string): Promise<number>;
  /** Calls `listener` with a queue's name when messages may have become ready on it (a hint, not a promise). */
  watch(listener: (queue: string) => void): () => void;
}

export interface SealedSecret {
  readonly name: string;
  /** Encrypted by services/secrets.ts; the store never sees a value. */
  readonly sealed: Buffer;
  readonly updatedAt: string;
}

export interface SecretStore {
  putSecret(secret: SealedSecret): Promise<void>;
  listSecrets(): Promise<SealedSecret[]>;
  /** false if there was none. */
  removeSecret(name: string): Promise<boolean>;
}

/** A postgres trigger's capture, in the user's database, that a removal has not reached yet. */
export interface CaptureTeardown {
  readonly function: string;
  /** The secret whose connection string reaches the database. */
  readonly connection: string;
  readonly schema: string;
  readonly table: string;
}

/** Captures still to remove, kept across restarts, so that none is left behind in a user's database. */
export interface CaptureTeardowns {
  list(): CaptureTeardown[];
  add(t: CaptureTeardown): void;
  remove(t: CaptureTeardown): void;
}

/**
 * Where the last fired tick of each schedule is kept (by function and schedule key). Claiming a
 * tick is atomic: of two claims of one tick, one wins (cluster mode: across nodes).
 */
export interface ScheduleState {
  lastTick(fn: string, schedule: string): Date | null;
  /** Records `tick` as fired unless it (or a later one) already was: whether this call claimed it. */
  claim(fn: string, schedule: string, tick: Date): boolean;
  /** A schedule seen for the first time starts from now: ticks before it are not owed. */
  start(fn: string, schedule: string, at: Date): void;
  /** The function was removed: what its schedules fired is forgotten (deployed again, it owes nothing). */
  forget(fn: string): void;
}

export interface KvEntry {
  readonly key: string;
  readonly value: string;
  /** Epoch ms after which the key reads as absent; null: never. */
  readonly expiresAt: number | null;
}

/** A change to a KV namespace; `cas` puts `next` only if the current value is `expected` (null: absent). */
export type KvChange =
  | {
      readonly op: 'put';
      readonly ns: string;
      readonly key: string;
      readonly value: string;
      readonly ttlMs?: number;
    }
  | { readonly op: 'delete'; readonly ns: string; readonly key: string }
  | {
      readonly op: 'cas';
      readonly ns: string;
      readonly key: string;
      readonly expected: string | null;
      readonly next: string;
      readonly ttlMs?: number;
    };

export interface KvPage {
  readonly keys: readonly { readonly key: string; readonly expiresAt: number | null }[];
  /** Where the next page starts; null on the last. */
  readonly cursor: string | null;
}

/**
 * KvStore: string values by namespace and key. An expired key is never returned: it reads as
 * absent from the moment it expires, and is purged later. `write` applies one change and, only if
 * it happened (a cas that matched, a delete of a key that was there), enqueues the events that
 * `events` makes of it, in the same transaction: a kv trigger never misses a change nor sees one
 * that did not happen.
 */
export interface KvStore {
  get(ns: string, key: string): Promise<KvEntry | undefined>;
  write(
    change: KvChange,
    events: (change: KvChange) => readonly Enqueue[],
  ): Promise<{ readonly changed: boolean }>;
  list(
    ns: string,
    opts: { readonly prefix?: string; readonly cursor?: string; readonly limit: number },
  ): Promise<KvPage>;
  /** Deletes up to `max` expired keys; how many. */
  purgeExpired(max: number): Promise<number>;
}

/** What a function's webhook deliveries store says of a delivery id being claimed. */
export type DeliveryClaim =
  /** Never seen: claimed now, under the invocation id given. */
  | { readonly type: 'new' }
  /** Claimed and queued before: a duplicate; the invocation id it was queued under. */
  | { readonly type: 'queued'; readonly invocationId: string }
  /** Claimed before but never said queued (the process died in between): its invocation id. */
  | { readonly type: 'pending'; readonly invocationId: string };

/**
 * The webhook delivery ids each function has taken (the sender's ids: GitHub `X-GitHub-Delivery`,
 * Stripe's event id), so that a delivery sent again is acknowledged and not processed twice.
 * Claiming is atomic: of two claims of one id, one is `new` (cluster mode: across nodes).
 */
export interface WebhookDeliveryStore {
  claim(fn: string, deliveryId: string, invocationId: string, at: number): Promise<DeliveryClaim>;
  /** The claimed delivery is durable on the function's queue. */
  queued(fn: string, deliveryId: string): Promise<void>;
  /** The claimed delivery could not be queued (a full queue): the sender's retry is a new delivery. */
  release(fn: string, deliveryId: string): Promise<void>;
  /** The function was removed: its delivery ids are forgotten; how many. */
  forget(fn: string): Promise<number>;
  /** Drops ids received before `before` (epoch ms), and each function's oldest past `maxPerFunction`; how many. */
  purge(before: number, maxPerFunction: number): Promise<number>;
}

/** One stored object as the index knows it. */
export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly size: number;
  /** Quoted as S3 sends it: `"<md5 hex>"`, or `"<hex>-N"` for an object made of N parts. */
  readonly etag: string;
  readonly contentType: string;
  /** `x-amz-meta-*` names (lower case, without the prefix) and values. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The HTTP headers kept with it (cache-control, content-disposition, content-encoding, content-language, expires). */
  readonly headers: Readonly<Record<string, string>>;
  /** The flexible checksum the upload carried (`CRC32:<base64>`), or null. */
  readonly checksum: string | null;
  /** Epoch ms, to the second (S3 dates have no milliseconds). */
  readonly modifiedAt: number;
}

/** Bytes written whole and flushed to disk, not yet visible under any key. */
export interface StagedBytes {
  readonly id: string;
  readonly size: number;
  /** MD5 of the bytes, hex. */
  readonly md5: string;
}

/** What an index change did, for the events of bucket triggers. */
export type ObjectChange =
  | { readonly op: 'created'; readonly info: ObjectInfo }
  | { readonly op: 'deleted'; readonly bucket: string; readonly key: string };

export type ObjectEvents = (changes: readonly ObjectChange[]) => readonly Enqueue[];

/**
 * What a conditional write expects of the object it replaces or deletes, checked in the step that
 * writes: `ifMatch` its ETag (quotes optional), `ifNoneMatch: '*'` that there is none.
 */
export interface WriteCondition {
  readonly ifMatch?: string;
  readonly ifNoneMatch?: '*';
}

/** Thrown by `ObjectStore.stage` past its limit; the partial file is gone. */
export class TooLarge extends Error {
  override name = 'TooLarge';
}

/** A conditional write whose condition did not hold; nothing was changed. */
export class ConditionFailed extends Error {
  override name = 'ConditionFailed';
  /** There was no object where `ifMatch` expected one. */
  constructor(readonly missing: boolean) {
    super(missing ? 'no object to match' : 'the object does not match the condition');
  }
}

export interface UploadInfo {
  readonly id: string;
  readonly bucket: string;
  readonly key: string;
  readonly contentType: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly headers: Readonly<Record<string, string>>;
  readonly createdAt: number;
}

export interface PartInfo {
  readonly part: number;
  readonly size: number;
  /** Quoted MD5 of the part. */
  readonly etag: string;
  readonly modifiedAt: number;
  readonly staged: string;
}

/**
 * ObjectStore: buckets of objects. Bytes are staged first (written whole and synced, invisible),
 * then `commit` makes them the object of a key in one transaction with the events that change
 * makes: a reader sees the old object or the new one, never part of one, and a crash leaves one of
 * the two (a staged file of a crashed upload is removed at the next start). Keys never name files.
 */
export interface ObjectStore {
  listBuckets(): Promise<{ readonly name: string; readonly createdAt: number }[]>;
  hasBucket(name: string): boolean;
  /** false when it existed already. */
  createBucket(name: string): Promise<boolean>;
  deleteBucket(name: string): Promise<'deleted' | 'missing' | 'not-empty'>;
  /** Who declares which bucket (`buckets:` of gust.yaml), as Declared reads it. */
  listDeclared(): Promise<{ readonly name: string; readonly projects: readonly string[] }[]>;
  /** The buckets a project declares, replacing what it declared before; each is created if missing. */
  declare(project: string, names: readonly string[]): Promise<void>;

  /** Writes the bytes to a file, synced; throws `tooLarge` past `maxBytes`. */
  stage(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StagedBytes>;
  /** Drops staged bytes never committed. */
  discard(staged: StagedBytes): Promise<void>;
  head(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** The object and a readable handle on its bytes (valid even if it is replaced meanwhile). */
  open(bucket: string, key: string): Promise<{ info: ObjectInfo; file: FileHandle } | undefined>;
  /** Makes staged bytes the object `info` names, with the events of that change, in one step. */
  commit(
    staged: StagedBytes,
    info: ObjectInfo,
    events: ObjectEvents,
    condition?: WriteCondition,
  ): Promise<void>;
  /** Deletes the keys that exist; those it deleted. A condition applies to each key (S3 sends one). */
  delete(
    bucket: string,
    keys: readonly string[],
    events: ObjectEvents,
    condition?: WriteCondition,
  ): Promise<string[]>;
  /** Objects with `prefix`, keys after `after` (UTF-8 byte order), at most `limit`. */
  list(bucket: string, opts: { prefix: string; after: string; limit: number }): Promise<ObjectInfo[]>;

  createUpload(upload: UploadInfo): Promise<void>;
  getUpload(id: string): Promise<UploadInfo | undefined>;
  /** The uploads in progress in a bucket, by key then start, at most `limit`. */
  listUploads(bucket: string, opts: { prefix: string; limit: number }): Promise<UploadInfo[]>;
  /** Staged bytes become part `part` of the upload (replacing one of that number). */
  putPart(id: string, part: number, staged: StagedBytes, etag: string): Promise<boolean>;
  listParts(id: string): Promise<PartInfo[]>;
  /** The parts' bytes, one after the other, as one staged file. */
  concat(parts: readonly PartInfo[], maxBytes: number): Promise<StagedBytes>;
  /** Commits the object (as `commit`) and drops the upload and its parts in the same step. */
  completeUpload(
    id: string,
    staged: StagedBytes,
    info: ObjectInfo,
    events: ObjectEvents,
    condition?: WriteCondition,
  ): Promise<boolean>;
  abortUpload(id: string): Promise<boolean>;
}
