/** backends/object-ports: the port of buckets and their objects (see ports.ts). */
import type { FileHandle } from 'node:fs/promises';
import type { Enqueue } from './ports.js';

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
