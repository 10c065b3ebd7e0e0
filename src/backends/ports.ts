/**
 * backends/ports: every stateful need of Gust as a small interface. embedded/ implements them
 * with SQLite and files; a cluster adapter (PostgreSQL, NATS) implements the same and runs the
 * same conformance suites (test/backends/).
 */
import type { FunctionSpec } from '../manifest/types.js';

export * from './object-ports.js';
export * from './record-ports.js';

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
