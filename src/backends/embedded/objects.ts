/**
 * embedded/objects: buckets as files under `<data>/buckets`, indexed in SQLite (migration 14).
 * An object's bytes live in `objects/<aa>/<id>`, `id` random: no key ever becomes a path, so no key
 * can reach outside the folder. A write goes to `tmp/<id>`, is synced, then renamed into
 * `objects/` and only then indexed, in one transaction with the events it makes (the queue's
 * in-transaction insert): a reader finds the old object or the new one, never part of one. The
 * file an object replaces or a delete drops is unlinked after the commit; a reader that opened it
 * before keeps reading it (POSIX). What a crash can leave: files in tmp/ (a write under way) or in
 * objects/ that no row names (renamed, not yet indexed; or replaced, not yet unlinked). `open`
 * sweeps both at start, so a crash costs disk space until the next start, never a half object.
 */
import type { FileHandle } from 'node:fs/promises';
import {
  ConditionFailed,
  type Enqueue,
  type ObjectEvents,
  type ObjectInfo,
  type ObjectStore,
  type PartInfo,
  type StagedBytes,
  type UploadInfo,
  type WriteCondition,
} from '../ports.js';
import type { Db } from './database.js';
import { ObjectFiles } from './object-files.js';
import { type ObjectRow, toInfo, toUpload, type UploadRow } from './object-rows.js';

export interface FileObjectsOptions {
  /** The folder of objects (`<data>/buckets`). */
  readonly dir: string;
  /** Queues events inside the current transaction, or throws to roll it back; what to call after commit. */
  readonly enqueue: (items: readonly Enqueue[]) => () => void;
  readonly now?: () => number;
}

export class FileObjects implements ObjectStore {
  private readonly now: () => number;
  private readonly buckets = new Set<string>();
  private readonly sql;
  private readonly files: ObjectFiles;

  private constructor(
    private readonly db: Db,
    private readonly opts: FileObjectsOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.files = new ObjectFiles(opts.dir);
    this.sql = {
      getObject: db.prepare('SELECT * FROM objects WHERE bucket = ? AND key = ?'),
      putObject: db.prepare(
        'INSERT INTO objects (bucket, key, file, size, etag, content_type, metadata, headers, checksum, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (bucket, key) DO UPDATE SET file = excluded.file, size = excluded.size, etag = excluded.etag, content_type = excluded.content_type, metadata = excluded.metadata, headers = excluded.headers, checksum = excluded.checksum, modified_at = excluded.modified_at',
      ),
      deleteObject: db.prepare('DELETE FROM objects WHERE bucket = ? AND key = ? RETURNING file'),
      list: db.prepare(
        'SELECT * FROM objects WHERE bucket = ? AND key > ? AND key >= ? AND key < ? ORDER BY key LIMIT ?',
      ),
      anyObject: db.prepare('SELECT 1 FROM objects WHERE bucket = ? LIMIT 1'),
      anyUpload: db.prepare('SELECT 1 FROM multipart_uploads WHERE bucket = ? LIMIT 1'),
      getUpload: db.prepare('SELECT * FROM multipart_uploads WHERE id = ?'),
      parts: db.prepare('SELECT * FROM multipart_parts WHERE upload_id = ? ORDER BY part'),
      putPart: db.prepare(
        'INSERT INTO multipart_parts (upload_id, part, file, size, etag, modified_at) VALUES (?, ?, ?, ?, ?, ?) ' +
          'ON CONFLICT (upload_id, part) DO UPDATE SET file = excluded.file, size = excluded.size, etag = excluded.etag, modified_at = excluded.modified_at',
      ),
      getPart: db.prepare('SELECT file FROM multipart_parts WHERE upload_id = ? AND part = ?'),
      dropParts: db.prepare('DELETE FROM multipart_parts WHERE upload_id = ? RETURNING file'),
      dropUpload: db.prepare('DELETE FROM multipart_uploads WHERE id = ?'),
    };
  }

  static async open(db: Db, opts: FileObjectsOptions): Promise<FileObjects> {
    const store = new FileObjects(db, opts);
    await store.sweep();
    for (const r of db.prepare('SELECT name FROM buckets').all() as { name: string }[]) {
      store.buckets.add(r.name);
    }
    return store;
  }

  async listBuckets(): Promise<{ name: string; createdAt: number }[]> {
    const rows = this.db.prepare('SELECT name, created_at FROM buckets ORDER BY name').all() as {
      name: string;
      created_at: number;
    }[];
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at }));
  }

  hasBucket(name: string): boolean {
    return this.buckets.has(name);
  }

  async createBucket(name: string): Promise<boolean> {
    const made =
      this.db.prepare('INSERT OR IGNORE INTO buckets (name, created_at) VALUES (?, ?)').run(name, this.now())
        .changes === 1;
    this.buckets.add(name);
    return made;
  }

  async deleteBucket(name: string): Promise<'deleted' | 'missing' | 'not-empty'> {
    return this.db.transaction(() => {
      if (!this.buckets.has(name)) return 'missing' as const;
      if (this.sql.anyObject.get(name) || this.sql.anyUpload.get(name)) return 'not-empty' as const;
      this.db.prepare('DELETE FROM buckets WHERE name = ?').run(name);
      this.buckets.delete(name);
      return 'deleted' as const;
    })();
  }

  async listDeclared(): Promise<{ name: string; projects: string[] }[]> {
    const rows = this.db
      .prepare('SELECT name, project FROM bucket_declarations ORDER BY name, project')
      .all() as { name: string; project: string }[];
    const byName = new Map<string, string[]>();
    for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r.project]);
    return [...byName].map(([name, projects]) => ({ name, projects }));
  }

  async declare(project: string, names: readonly string[]): Promise<void> {
    const insert = this.db.prepare('INSERT OR IGNORE INTO bucket_declarations (project, name) VALUES (?, ?)');
    const create = this.db.prepare('INSERT OR IGNORE INTO buckets (name, created_at) VALUES (?, ?)');
    const now = this.now();
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM bucket_declarations WHERE project = ?').run(project);
      for (const name of names) {
        insert.run(project, name);
        create.run(name, now);
      }
    })();
    for (const name of names) this.buckets.add(name);
  }

  stage(body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, maxBytes: number): Promise<StagedBytes> {
    return this.files.stage(body, maxBytes);
  }

  discard(staged: StagedBytes): Promise<void> {
    return this.files.discard(staged);
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    const row = this.sql.getObject.get(bucket, key) as ObjectRow | undefined;
    return row && toInfo(row);
  }

  async open(bucket: string, key: string): Promise<{ info: ObjectInfo; file: FileHandle } | undefined> {
    // a write may replace the file between the lookup and the open: look again then
    for (let attempt = 0; attempt < 3; attempt++) {
      const row = this.sql.getObject.get(bucket, key) as ObjectRow | undefined;
      if (!row) return undefined;
      try {
        return { info: toInfo(row), file: await this.files.open(row.file) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    throw new Error(`the file of ${bucket}/${key} keeps changing under the reader`);
  }

  async commit(
    staged: StagedBytes,
    info: ObjectInfo,
    events: ObjectEvents,
    condition?: WriteCondition,
  ): Promise<void> {
    await this.files.place(staged);
    let committed: (() => void) | undefined;
    let replaced: string | undefined;
    try {
      this.db.transaction(() => {
        replaced = this.current(info.bucket, info.key, condition)?.file;
        this.writeRow(staged.id, info);
        const queued = events([{ op: 'created', info }]);
        if (queued.length > 0) committed = this.opts.enqueue(queued);
      })();
    } catch (e) {
      await this.files.unlink(staged.id);
      throw e;
    }
    committed?.();
    if (replaced !== undefined) await this.files.unlink(replaced);
  }

  async delete(
    bucket: string,
    keys: readonly string[],
    events: ObjectEvents,
    condition?: WriteCondition,
  ): Promise<string[]> {
    let committed: (() => void) | undefined;
    const files: string[] = [];
    const deleted: string[] = [];
    this.db.transaction(() => {
      for (const key of keys) {
        if (condition) this.current(bucket, key, condition);
        const row = this.sql.deleteObject.get(bucket, key) as { file: string } | undefined;
        if (!row) continue;
        files.push(row.file);
        deleted.push(key);
      }
      const queued = events(deleted.map((key) => ({ op: 'deleted' as const, bucket, key })));
      if (queued.length > 0) committed = this.opts.enqueue(queued);
    })();
    committed?.();
    for (const f of files) await this.files.unlink(f);
    return deleted;
  }

  async list(bucket: string, opts: { prefix: string; after: string; limit: number }): Promise<ObjectInfo[]> {
    const rows = this.sql.list.all(
      bucket,
      opts.after,
      opts.prefix,
      `${opts.prefix}\u{10FFFF}`,
      opts.limit,
    ) as ObjectRow[];
    return rows.map(toInfo);
  }

  async createUpload(upload: UploadInfo): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO multipart_uploads (id, bucket, key, content_type, metadata, headers, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        upload.id,
        upload.bucket,
        upload.key,
        upload.contentType,
        JSON.stringify(upload.metadata),
        JSON.stringify(upload.headers),
        upload.createdAt,
      );
  }

  async getUpload(id: string): Promise<UploadInfo | undefined> {
    const r = this.sql.getUpload.get(id) as UploadRow | undefined;
    return r && toUpload(r);
  }

  async listUploads(bucket: string, opts: { prefix: string; limit: number }): Promise<UploadInfo[]> {
    const rows = this.db
      .prepare(
        'SELECT * FROM multipart_uploads WHERE bucket = ? AND key >= ? AND key < ? ORDER BY key, created_at LIMIT ?',
      )
      .all(bucket, opts.prefix, `${opts.prefix}\u{10FFFF}`, opts.limit) as UploadRow[];
    return rows.map(toUpload);
  }

  async putPart(id: string, part: number, staged: StagedBytes, etag: string): Promise<boolean> {
    await this.files.place(staged);
    let replaced: string | undefined;
    const ok = this.db.transaction(() => {
      if (!this.sql.getUpload.get(id)) return false;
      replaced = (this.sql.getPart.get(id, part) as { file: string } | undefined)?.file;
      this.sql.putPart.run(id, part, staged.id, staged.size, etag, this.now());
      return true;
    })();
    if (!ok) await this.files.unlink(staged.id);
    if (replaced !== undefined) await this.files.unlink(replaced);
    return ok;
  }

  async listParts(id: string): Promise<PartInfo[]> {
    const rows = this.sql.parts.all(id) as {
      part: number;
      size: number;
      etag: string;
      modified_at: number;
      file: string;
    }[];
    return rows.map((r) => ({
      part: r.part,
      size: r.size,
      etag: r.etag,
      modifiedAt: r.modified_at,
      staged: r.file,
    }));
  }

  async concat(parts: readonly PartInfo[], maxBytes: number): Promise<StagedBytes> {
    return this.files.stage(this.files.read(parts.map((p) => p.staged)), maxBytes);
  }

  async completeUpload(
    id: string,
    staged: StagedBytes,
    info: ObjectInfo,
    events: ObjectEvents,
    condition?: WriteCondition,
  ): Promise<boolean> {
    await this.files.place(staged);
    let committed: (() => void) | undefined;
    let replaced: string | undefined;
    let partFiles: string[] = [];
    let ok: boolean;
    try {
      ok = this.db.transaction(() => {
        if (!this.sql.getUpload.get(id)) return false;
        replaced = this.current(info.bucket, info.key, condition)?.file;
        this.writeRow(staged.id, info);
        partFiles = (this.sql.dropParts.all(id) as { file: string }[]).map((r) => r.file);
        this.sql.dropUpload.run(id);
        const queued = events([{ op: 'created', info }]);
        if (queued.length > 0) committed = this.opts.enqueue(queued);
        return true;
      })();
    } catch (e) {
      await this.files.unlink(staged.id);
      throw e;
    }
    if (!ok) {
      await this.files.unlink(staged.id);
      return false;
    }
    committed?.();
    for (const f of [...partFiles, ...(replaced === undefined ? [] : [replaced])]) await this.files.unlink(f);
    return true;
  }

  async abortUpload(id: string): Promise<boolean> {
    let files: string[] = [];
    const ok = this.db.transaction(() => {
      if (this.sql.dropUpload.run(id).changes !== 1) return false;
      files = (this.sql.dropParts.all(id) as { file: string }[]).map((r) => r.file);
      return true;
    })();
    for (const f of files) await this.files.unlink(f);
    return ok;
  }

  /** The row a write replaces, once `condition` holds of it (else ConditionFailed, in the transaction). */
  private current(bucket: string, key: string, condition: WriteCondition | undefined): ObjectRow | undefined {
    const row = this.sql.getObject.get(bucket, key) as ObjectRow | undefined;
    if (condition?.ifNoneMatch === '*' && row) throw new ConditionFailed(false);
    if (condition?.ifMatch !== undefined) {
      if (!row) throw new ConditionFailed(true);
      if (row.etag.replaceAll('"', '') !== condition.ifMatch.replaceAll('"', '').trim()) {
        throw new ConditionFailed(false);
      }
    }
    return row;
  }

  private writeRow(file: string, info: ObjectInfo): void {
    this.sql.putObject.run(
      info.bucket,
      info.key,
      file,
      info.size,
      info.etag,
      info.contentType,
      JSON.stringify(info.metadata),
      JSON.stringify(info.headers),
      info.checksum,
      info.modifiedAt,
    );
  }

  /** At start: what a crash left (see the module comment). */
  private async sweep(): Promise<void> {
    const known = new Set<string>();
    for (const r of this.db
      .prepare('SELECT file FROM objects UNION ALL SELECT file FROM multipart_parts')
      .iterate()) {
      known.add((r as { file: string }).file);
    }
    await this.files.sweep(known);
  }
}
