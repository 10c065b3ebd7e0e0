/** The SQLite DurableQueue runs the conformance suite. */
import path from 'node:path';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteQueue } from '../../src/backends/embedded/queue.js';
import type { DurableQueue } from '../../src/backends/ports.js';
import { tempDir } from '../helpers/gust.js';
import { queueConformance } from './queue.conformance.js';

const dbs = new Map<DurableQueue, Database.Database>();

function make(file: string, opts: { leaseMs: number; maxDepth: number }): SqliteQueue {
  const db = openDatabase(file);
  const queue = new SqliteQueue(db, opts);
  dbs.set(queue, db);
  return queue;
}

queueConformance('embedded (SQLite)', {
  async open(opts) {
    const storage = path.join(await tempDir('gust-queue-'), 'gust.db');
    return { queue: make(storage, opts), storage };
  },
  async reopen(storage, opts) {
    return make(storage, opts);
  },
  async close(queue) {
    (queue as SqliteQueue).close();
    dbs.get(queue)?.close();
    dbs.delete(queue);
  },
});
