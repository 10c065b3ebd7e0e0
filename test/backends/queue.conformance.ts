/**
 * The DurableQueue conformance suite: what every adapter must do (src/backends/ports.ts). An
 * adapter's test file calls `queueConformance` with a way to open a queue on some storage, and to
 * open it again on the same storage (a restart).
 */
import { describe, expect, it, vi } from 'vitest';
import type { DurableQueue } from '../../src/backends/ports.js';
import { WAIT } from '../helpers/gust.js';

export interface QueueOptions {
  readonly leaseMs: number;
  readonly maxDepth: number;
}

export interface QueueHarness {
  /** A queue on fresh storage. */
  open(opts: QueueOptions): Promise<{ queue: DurableQueue; storage: string }>;
  /** The same storage again, as after a restart (the previous queue is closed first). */
  reopen(storage: string, opts: QueueOptions): Promise<DurableQueue>;
  close(queue: DurableQueue): Promise<void>;
}

const LONG = { leaseMs: 60_000, maxDepth: 100 };
const msg = (queue: string, id: string, body = id, delayMs?: number) => ({
  queue,
  id,
  body,
  ...(delayMs === undefined ? {} : { delayMs }),
});

export function queueConformance(adapter: string, h: QueueHarness): void {
  describe(`DurableQueue conformance: ${adapter}`, () => {
    it('delivers oldest first, each message to one claim, its first delivery as attempt 1', async () => {
      const { queue } = await h.open(LONG);
      await queue.enqueue([msg('q', 'a'), msg('q', 'b'), msg('q', 'c')]);
      const first = await queue.claim('q', 2);
      expect(first.map((m) => [m.id, m.body, m.attempt])).toEqual([
        ['a', 'a', 1],
        ['b', 'b', 1],
      ]);
      const second = await queue.claim('q', 10);
      expect(second.map((m) => m.id)).toEqual(['c']);
      expect(await queue.claim('q', 10)).toEqual([]);
      expect(await queue.claim('other', 10)).toEqual([]);
      await h.close(queue);
    });

    it('forgets an acked message, and gives an unacked one again when its lease ends, attempt counted', async () => {
      const { queue } = await h.open({ leaseMs: 150, maxDepth: 100 });
      await queue.enqueue([msg('q', 'kept'), msg('q', 'dropped')]);
      const [kept, dropped] = await queue.claim('q', 2);
      await queue.ack([kept!.handle]);
      let again: Awaited<ReturnType<DurableQueue['claim']>> = [];
      await vi.waitFor(async () => {
        again = again.length > 0 ? again : await queue.claim('q', 10);
        expect(again.map((m) => m.id)).toEqual(['dropped']);
      }, WAIT);
      expect(again[0]!.attempt).toBe(2);
      // the first delivery's handle no longer acks it: it was given to someone else since
      await queue.ack([dropped!.handle]);
      expect((await queue.depth('q')).leased).toBe(1);
      await queue.ack([again[0]!.handle]);
      expect(await queue.depth('q')).toMatchObject({ waiting: 0, leased: 0 });
      await h.close(queue);
    });

    it('gives a nacked message again only after its delay, without holding up the ones behind it', async () => {
      const { queue } = await h.open(LONG);
      await queue.enqueue([msg('q', 'poison'), msg('q', 'next')]);
      const [poison] = await queue.claim('q', 1);
      await queue.nack(poison!.handle, 1500);
      const behind = await queue.claim('q', 10);
      expect(behind.map((m) => m.id)).toEqual(['next']);
      expect(await queue.claim('q', 10)).toEqual([]);
      let retried: Awaited<ReturnType<DurableQueue['claim']>> = [];
      await vi.waitFor(async () => {
        retried = retried.length > 0 ? retried : await queue.claim('q', 10);
        expect(retried.map((m) => [m.id, m.attempt])).toEqual([['poison', 2]]);
      }, WAIT);
      await h.close(queue);
    });

    it('holds a delayed message until its time', async () => {
      const { queue } = await h.open(LONG);
      await queue.enqueue([msg('q', 'later', 'x', 1500)]);
      expect(await queue.claim('q', 10)).toEqual([]);
      expect((await queue.depth('q')).waiting).toBe(1);
      await vi.waitFor(
        async () => expect((await queue.claim('q', 10)).map((m) => m.id)).toEqual(['later']),
        WAIT,
      );
      await h.close(queue);
    });

    it('ignores an id already waiting in the same queue, but not in another queue', async () => {
      const { queue } = await h.open(LONG);
      expect(await queue.enqueue([msg('q', 'x', 'one')])).toEqual({ ok: true, accepted: 1, duplicates: [] });
      expect(await queue.enqueue([msg('q', 'x', 'two'), msg('r', 'x', 'three')])).toEqual({
        ok: true,
        accepted: 1,
        duplicates: ['x'],
      });
      expect((await queue.claim('q', 10)).map((m) => m.body)).toEqual(['one']);
      expect((await queue.claim('r', 10)).map((m) => m.body)).toEqual(['three']);
      await h.close(queue);
    });

    it('refuses a whole batch that would take a queue past its bound, and takes it once there is room', async () => {
      const { queue } = await h.open({ leaseMs: 60_000, maxDepth: 3 });
      await queue.enqueue([msg('q', '1'), msg('q', '2')]);
      const refused = await queue.enqueue([msg('other', 'o'), msg('q', '3'), msg('q', '4')]);
      expect(refused).toEqual({ ok: false, full: 'q', depth: 2 });
      expect(await queue.claim('other', 10)).toEqual([]); // all or nothing
      const [one] = await queue.claim('q', 1);
      await queue.ack([one!.handle]);
      expect(await queue.enqueue([msg('q', '3'), msg('q', '4')])).toMatchObject({ ok: true, accepted: 2 });
      await h.close(queue);
    });

    it('keeps what was enqueued across a restart, and gives what was leased again', async () => {
      const opts = { leaseMs: 1000, maxDepth: 100 };
      const { queue, storage } = await h.open(opts);
      await queue.enqueue([msg('q', 'a'), msg('q', 'b')]);
      const [a] = await queue.claim('q', 1);
      expect(a!.id).toBe('a');
      await h.close(queue);
      const reopened = await h.reopen(storage, opts);
      // the attempt of each message's first delivery after the restart
      const first = new Map<string, number>();
      await vi.waitFor(async () => {
        const got = await reopened.claim('q', 10);
        for (const m of got) if (!first.has(m.id)) first.set(m.id, m.attempt);
        await reopened.ack(got.map((m) => m.handle));
        expect(Object.fromEntries(first)).toEqual({ a: 2, b: 1 });
      }, WAIT);
      await h.close(reopened);
    });

    it('tells watchers when messages are enqueued and when delayed ones become ready', async () => {
      const { queue } = await h.open(LONG);
      const told: string[] = [];
      const stop = queue.watch((q) => told.push(q));
      await queue.enqueue([msg('now', 'a')]);
      expect(told).toContain('now');
      await queue.enqueue([msg('soon', 'b', 'b', 100)]);
      await vi.waitFor(() => expect(told).toContain('soon'), WAIT);
      stop();
      await h.close(queue);
    });

    it('lets a consumer extend the lease of a long delivery', async () => {
      const { queue } = await h.open({ leaseMs: 1000, maxDepth: 100 });
      await queue.enqueue([msg('q', 'long')]);
      const [m] = await queue.claim('q', 1);
      // extended all along what would have been two leases, it is never given again meanwhile
      const until = Date.now() + 2200;
      while (Date.now() < until) {
        await queue.extend(m!.handle);
        expect(await queue.claim('q', 10)).toEqual([]);
        await new Promise((r) => setTimeout(r, 50));
      }
      await queue.ack([m!.handle]);
      expect((await queue.depth('q')).leased).toBe(0);
      await h.close(queue);
    });

    it('purges a queue whole, and leaves the others', async () => {
      const { queue } = await h.open(LONG);
      await queue.enqueue([msg('gone', 'a'), msg('gone', 'b', 'b', 60_000), msg('kept', 'c')]);
      await queue.claim('gone', 1);
      expect(await queue.purge('gone')).toBe(2);
      expect(await queue.depth('gone')).toEqual({ waiting: 0, leased: 0, oldestMs: 0 });
      expect((await queue.claim('kept', 10)).map((m) => m.id)).toEqual(['c']);
      // the bound counts from zero again
      expect(await queue.enqueue([msg('gone', 'd')])).toMatchObject({ ok: true, accepted: 1 });
      await h.close(queue);
    });

    it('counts waiting and leased messages and the age of the oldest', async () => {
      const { queue } = await h.open(LONG);
      expect(await queue.depth('q')).toEqual({ waiting: 0, leased: 0, oldestMs: 0 });
      await queue.enqueue([msg('q', 'a'), msg('q', 'b'), msg('q', 'c', 'c', 60_000)]);
      await queue.claim('q', 1);
      const d = await queue.depth('q');
      expect(d).toMatchObject({ waiting: 2, leased: 1 });
      expect(d.oldestMs).toBeGreaterThanOrEqual(0);
      await h.close(queue);
    });

    it('gives the messages of every queue that has some and the age of each oldest, in one call', async () => {
      const { queue } = await h.open(LONG);
      expect(await queue.stats()).toEqual([]);
      await queue.enqueue([msg('q', 'a'), msg('q', 'b', 'b', 60_000), msg('r', 'c')]);
      await queue.claim('q', 1);
      const before = Date.now();
      await vi.waitFor(() => expect(Date.now()).toBeGreaterThan(before + 5), WAIT);
      const stats = (await queue.stats()).sort((x, y) => x.queue.localeCompare(y.queue));
      expect(stats.map((s) => [s.queue, s.messages])).toEqual([
        ['q', 2],
        ['r', 1],
      ]);
      // the leased message is still the oldest of q; ages are of enqueue, not of readiness
      for (const s of stats) expect(s.oldestMs).toBeGreaterThan(0);
      const [handle] = (await queue.claim('r', 1)).map((m) => m.handle);
      await queue.ack([handle!]);
      expect((await queue.stats()).map((s) => s.queue)).toEqual(['q']);
      await h.close(queue);
    });
  });
}
