/** The file-and-SQLite ObjectStore runs the conformance suite. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { FileObjects } from '../../src/backends/embedded/objects.js';
import type { Enqueue } from '../../src/backends/ports.js';
import { tempDir } from '../helpers/gust.js';
import { objectsConformance } from './objects.conformance.js';

function open(storage: string, enqueued: Enqueue[]) {
  const db = openDatabase(path.join(storage, 'gust.db'));
  return FileObjects.open(db, {
    dir: path.join(storage, 'buckets'),
    enqueue: (items) => {
      enqueued.push(...items);
      return () => {};
    },
  });
}

objectsConformance('embedded (files + SQLite)', {
  async open() {
    const storage = await tempDir('gust-objects-');
    const enqueued: Enqueue[] = [];
    return { store: await open(storage, enqueued), storage, enqueued };
  },
  reopen: (storage) => open(storage, []),
  async files(storage) {
    const root = path.join(storage, 'buckets');
    const found: string[] = [];
    for (const sub of ['tmp', ...(await readdir(path.join(root, 'objects'))).map((f) => `objects/${f}`)]) {
      for (const f of await readdir(path.join(root, sub)).catch(() => [] as string[]))
        found.push(`${sub}/${f}`);
    }
    return found.sort();
  },
});
