/**
 * embedded/object-files: the bytes of objects and parts, as files under `<data>/buckets` (the
 * layout and the crash story are in objects.ts's comment). A write is staged in `tmp/<id>` and
 * synced, then placed at `objects/<aa>/<id>` with its folder synced; `id` is random hex, never a
 * key. Nothing here knows rows: objects.ts decides what a file is for and when it may go.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { type StagedBytes, TooLarge } from '../ports.js';

export class ObjectFiles {
  constructor(private readonly dir: string) {}

  /** Writes `body` to a new file in tmp/ and syncs it; past `maxBytes`, TooLarge and no file. */
  async stage(
    body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    maxBytes: number,
  ): Promise<StagedBytes> {
    const id = randomBytes(16).toString('hex');
    const tmp = this.tmpPath(id);
    const file = await open(tmp, 'wx', 0o600);
    const md5 = createHash('md5');
    let size = 0;
    try {
      for await (const chunk of body) {
        size += chunk.byteLength;
        if (size > maxBytes) throw new TooLarge(`over ${maxBytes} bytes`);
        md5.update(chunk);
        let written = 0;
        while (written < chunk.byteLength) {
          written += (await file.write(chunk, written)).bytesWritten;
        }
      }
      await file.sync();
    } catch (e) {
      await file.close().catch(() => {});
      await rm(tmp, { force: true });
      throw e;
    }
    await file.close();
    return { id, size, md5: md5.digest('hex') };
  }

  /** A staged file not wanted after all, placed or not. */
  async discard(staged: StagedBytes): Promise<void> {
    await rm(this.tmpPath(staged.id), { force: true });
    await rm(this.objectPath(staged.id), { force: true });
  }

  /** tmp/<id> -> objects/<aa>/<id>, and the folder synced so the rename survives a power cut. */
  async place(staged: StagedBytes): Promise<void> {
    const target = this.objectPath(staged.id);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
    await rename(this.tmpPath(staged.id), target);
    const dir = await open(path.dirname(target), 'r');
    await dir.sync().finally(() => dir.close());
  }

  open(file: string): Promise<FileHandle> {
    return open(this.objectPath(file), 'r');
  }

  /** The bytes of placed files one after the other (the parts of an upload, in order). */
  async *read(files: readonly string[]): AsyncGenerator<Uint8Array> {
    for (const p of files.map((f) => this.objectPath(f)))
      yield* createReadStream(p, { highWaterMark: 1024 * 1024 });
  }

  /** A placed file no row names any more; gone already is fine. */
  async unlink(file: string): Promise<void> {
    await unlink(this.objectPath(file)).catch(() => {});
  }

  /** At start: tmp/ emptied, and the files of objects/ that no row names (`known`) removed. */
  async sweep(known: ReadonlySet<string>): Promise<void> {
    await rm(path.join(this.dir, 'tmp'), { recursive: true, force: true });
    await mkdir(path.join(this.dir, 'tmp'), { recursive: true, mode: 0o700 });
    await mkdir(path.join(this.dir, 'objects'), { recursive: true, mode: 0o700 });
    const root = path.join(this.dir, 'objects');
    for (const fan of await readdir(root)) {
      for (const name of await readdir(path.join(root, fan)).catch(() => [] as string[])) {
        if (!known.has(name)) await rm(path.join(root, fan, name), { force: true });
      }
    }
  }

  private tmpPath(id: string): string {
    return path.join(this.dir, 'tmp', id);
  }

  private objectPath(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw new Error(`not an object file id: ${id.slice(0, 40)}`);
    return path.join(this.dir, 'objects', id.slice(0, 2), id);
  }
}
