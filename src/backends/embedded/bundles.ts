/** embedded/bundles: content-addressed bundle files under <data>/bundles. */
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { exists } from '../../lib/files.js';
import type { BundleStore } from '../ports.js';

export class FileBundles implements BundleStore {
  constructor(private readonly dir: string) {}

  async put(code: string): Promise<string> {
    const hash = createHash('sha256').update(code).digest('hex');
    const file = this.file(hash);
    if (await exists(file)) return hash;
    await mkdir(this.dir, { recursive: true });
    // Written under a temporary name, then renamed: an instance never sees half a bundle.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, code, { mode: 0o644 });
    await rename(tmp, file);
    return hash;
  }

  async localPath(hash: string): Promise<string> {
    return this.file(hash);
  }

  async remove(hash: string): Promise<void> {
    await rm(this.file(hash), { force: true });
  }

  private file(hash: string): string {
    return path.join(this.dir, `${hash}.mjs`);
  }
}
