/**
 * The ObjectStore conformance suite: what every adapter must do (src/backends/ports.ts). An
 * adapter's test file calls `objectsConformance` with a way to open a store on some storage, and to
 * open it again on the same storage (a restart, maybe after a crash).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ConditionFailed,
  type Enqueue,
  type ObjectInfo,
  type ObjectStore,
} from '../../src/backends/ports.js';

export interface ObjectsHarness {
  /** A store on fresh storage; `enqueued` collects what its commits queue. */
  open(): Promise<{ store: ObjectStore; storage: string; enqueued: Enqueue[] }>;
  /** The same storage again, as after a restart: the previous store is dropped without closing. */
  reopen(storage: string): Promise<ObjectStore>;
  /** Files the adapter keeps for bytes (staged or stored), to see what a crash leaves. */
  files(storage: string): Promise<string[]>;
}

const info = (key: string, body: string, over: Partial<ObjectInfo> = {}): ObjectInfo => ({
  bucket: 'b',
  key,
  size: Buffer.byteLength(body),
  etag: `"${createHash('md5').update(body).digest('hex')}"`,
  contentType: 'text/plain',
  metadata: { a: '1' },
  headers: { 'cache-control': 'max-age=60' },
  checksum: null,
  modifiedAt: 1_700_000_000_000,
  ...over,
});

async function text(store: ObjectStore, key: string): Promise<string | undefined> {
  const opened = await store.open('b', key);
  if (!opened) return undefined;
  try {
    return (await opened.file.readFile()).toString();
  } finally {
    await opened.file.close();
  }
}

async function put(store: ObjectStore, key: string, body: string, events = () => [] as Enqueue[]) {
  const staged = await store.stage([Buffer.from(body)], 1024);
  await store.commit(staged, info(key, body), events);
  return staged;
}

export function objectsConformance(adapter: string, h: ObjectsHarness): void {
  describe(`ObjectStore conformance: ${adapter}`, () => {
    it('stages bytes with their size and MD5, and commits them as an object with its events', async () => {
      const { store, enqueued } = await h.open();
      await store.createBucket('b');
      const staged = await store.stage([Buffer.from('hello '), Buffer.from('world')], 1024);
      expect(staged).toMatchObject({ size: 11, md5: createHash('md5').update('hello world').digest('hex') });
      expect(await store.head('b', 'k')).toBeUndefined();
      await store.commit(staged, info('k', 'hello world'), (changes) =>
        changes.map((c) => ({ queue: 'q', id: c.op, body: JSON.stringify(c) })),
      );
      expect(await store.head('b', 'k')).toEqual(info('k', 'hello world'));
      expect(await text(store, 'k')).toBe('hello world');
      expect(enqueued.map((e) => e.id)).toEqual(['created']);
    });

    it('refuses to stage past the limit and keeps nothing of it', async () => {
      const { store, storage } = await h.open();
      const before = await h.files(storage);
      await expect(store.stage([Buffer.alloc(600), Buffer.alloc(600)], 1000)).rejects.toThrow(
        /over 1000 bytes/,
      );
      expect(await h.files(storage)).toEqual(before);
    });

    it('replaces an object whole, and a reader that opened the old one still reads it', async () => {
      const { store } = await h.open();
      await store.createBucket('b');
      await put(store, 'k', 'old');
      const reader = await store.open('b', 'k');
      await put(store, 'k', 'new bytes');
      expect((await reader!.file.readFile()).toString()).toBe('old');
      await reader!.file.close();
      expect(await text(store, 'k')).toBe('new bytes');
    });

    it('a commit whose events throw (a full queue) changes nothing', async () => {
      const { store } = await h.open();
      await store.createBucket('b');
      await put(store, 'k', 'kept');
      const staged = await store.stage([Buffer.from('lost')], 1024);
      await expect(
        store.commit(staged, info('k', 'lost'), () => {
          throw new Error('queue full');
        }),
      ).rejects.toThrow('queue full');
      expect(await text(store, 'k')).toBe('kept');
    });

    it('writes and deletes on a condition checked in the same step, changing nothing when it fails', async () => {
      const { store, storage, enqueued } = await h.open();
      await store.createBucket('b');
      const events = (changes: readonly { op: string }[]) =>
        changes.map((c) => ({ queue: 'q', id: c.op, body: '{}' }));
      const etag = info('k', 'v1').etag;
      const first = await store.stage([Buffer.from('v1')], 1024);
      await store.commit(first, info('k', 'v1'), events, { ifNoneMatch: '*' });
      const files = await h.files(storage);
      const second = await store.stage([Buffer.from('v2')], 1024);
      await expect(store.commit(second, info('k', 'v2'), events, { ifNoneMatch: '*' })).rejects.toThrow(
        ConditionFailed,
      );
      const wrong = await store.stage([Buffer.from('v2')], 1024);
      await expect(store.commit(wrong, info('k', 'v2'), events, { ifMatch: '"0123"' })).rejects.toMatchObject(
        { missing: false },
      );
      const none = await store.stage([Buffer.from('v2')], 1024);
      await expect(store.commit(none, info('other', 'v2'), events, { ifMatch: etag })).rejects.toMatchObject({
        missing: true,
      });
      expect(await text(store, 'k')).toBe('v1');
      expect(await h.files(storage)).toEqual(files); // what the failed writes placed is gone
      expect(await store.delete('b', ['k'], events, { ifMatch: '"0123"' }).catch((e) => e)).toBeInstanceOf(
        ConditionFailed,
      );
      expect(enqueued.map((e) => e.id)).toEqual(['created']);
      const third = await store.stage([Buffer.from('v3')], 1024);
      await store.commit(third, info('k', 'v3'), events, { ifMatch: etag.replaceAll('"', '') });
      expect(await text(store, 'k')).toBe('v3');
      expect(await store.delete('b', ['k'], events, { ifMatch: info('k', 'v3').etag })).toEqual(['k']);
      expect(enqueued.map((e) => e.id)).toEqual(['created', 'created', 'deleted']);
    });

    it('lists in UTF-8 byte order by prefix, after a key, a page at a time, and deletes', async () => {
      const { store } = await h.open();
      await store.createBucket('b');
      for (const k of ['a/2', 'a/1', 'b', 'a/é', 'a/z']) await put(store, k, k);
      const page = await store.list('b', { prefix: 'a/', after: '', limit: 3 });
      expect(page.map((o) => o.key)).toEqual(['a/1', 'a/2', 'a/z']);
      const next = await store.list('b', { prefix: 'a/', after: 'a/z', limit: 3 });
      expect(next.map((o) => o.key)).toEqual(['a/é']);
      expect(await store.delete('b', ['a/1', 'missing'], () => [])).toEqual(['a/1']);
      expect(await store.head('b', 'a/1')).toBeUndefined();
    });

    it('refuses to delete a bucket with objects, deletes an empty one', async () => {
      const { store } = await h.open();
      expect(await store.createBucket('b')).toBe(true);
      expect(await store.createBucket('b')).toBe(false);
      await put(store, 'k', 'x');
      expect(await store.deleteBucket('b')).toBe('not-empty');
      await store.delete('b', ['k'], () => []);
      expect(await store.deleteBucket('b')).toBe('deleted');
      expect(await store.deleteBucket('b')).toBe('missing');
      expect(store.hasBucket('b')).toBe(false);
    });

    it('after a crash, keeps committed objects and drops what was staged and never committed', async () => {
      const { store, storage } = await h.open();
      await store.createBucket('b');
      await put(store, 'k', 'committed');
      await store.stage([Buffer.from('half of an upload')], 1024); // the process dies here
      const again = await h.reopen(storage);
      expect(await text(again, 'k')).toBe('committed');
      expect(again.hasBucket('b')).toBe(true);
      expect(await h.files(storage)).toHaveLength(1);
    });

    it('assembles multipart uploads from their parts, and forgets an aborted one', async () => {
      const { store } = await h.open();
      await store.createBucket('b');
      const upload = {
        id: 'f'.repeat(32),
        bucket: 'b',
        key: 'mp',
        contentType: 'x/y',
        metadata: {},
        headers: { 'content-disposition': 'attachment' },
        createdAt: 1,
      };
      await store.createUpload(upload);
      for (const [n, body] of [
        [2, 'world'],
        [1, 'hello '],
      ] as const) {
        expect(
          await store.putPart(upload.id, n, await store.stage([Buffer.from(body)], 1024), `"${n}"`),
        ).toBe(true);
      }
      const parts = await store.listParts(upload.id);
      expect(parts.map((p) => p.part)).toEqual([1, 2]);
      const whole = await store.concat(parts, 1024);
      expect(await store.getUpload(upload.id)).toEqual(upload);
      expect(await store.completeUpload(upload.id, whole, info('mp', 'hello world'), () => [])).toBe(true);
      expect(await text(store, 'mp')).toBe('hello world');
      expect(await store.getUpload(upload.id)).toBeUndefined();
      await store.createUpload({ ...upload, id: 'e'.repeat(32) });
      expect(await store.abortUpload('e'.repeat(32))).toBe(true);
      expect(await store.listParts('e'.repeat(32))).toEqual([]);
    });
  });
}
