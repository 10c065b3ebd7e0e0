/**
 * Asynchronous invocations: accepted durably (202) before they run, retried with backoff, checked
 * against `input` before any instance, drained within the function's capacity, and never lost when
 * the platform is killed in the middle of a burst.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  api,
  deployProject,
  type Gust,
  type InvocationRecord,
  records,
  startGust,
  WAIT,
} from '../helpers/gust.js';

interface Accepted {
  invocation: { id: string; function: string; status: string };
}

const post = (g: Gust, fn: string, data: unknown) =>
  api<Accepted & { error?: { code: string; details?: string[] } }>(g, 'POST', `/functions/${fn}/invoke`, {
    data,
    async: true,
  });

async function recordsOf(
  g: Gust,
  fn: string,
  until: (r: InvocationRecord[]) => boolean,
): Promise<InvocationRecord[]> {
  let found: InvocationRecord[] = [];
  await vi.waitFor(async () => {
    found = await records(g, fn, 1000);
    expect(until(found)).toBe(true);
  }, WAIT);
  return found;
}

describe('an async invocation', () => {
  let g: Gust;

  beforeAll(async () => {
    g = await startGust();
    await deployProject(g, {
      'gust.yaml': `
topics: [failed]
functions:
  fails:
    handler: fns.mjs#fails
    retries: { max: 2, backoff: 200ms }
  strict:
    handler: fns.mjs#ok
    input: { type: object, required: [id], properties: { id: { type: integer } } }
    retries: { deadLetter: failed }
  narrow:
    handler: fns.mjs#slow
    scale: { max: 1 }
  letters:
    handler: fns.mjs#letters
    triggers:
      - topic: { name: failed }
`,
      'fns.mjs': `
export const fails = async () => { throw new Error('it fails'); };
export const ok = async (e) => ({ got: e });
export const slow = async () => { await new Promise((r) => setTimeout(r, 20)); return 'done'; };
export const letters = async (e) => { console.log('letter ' + JSON.stringify(e.data)); };
`,
    });
  });

  afterAll(async () => {
    await g?.stop();
  });

  it('answers 202 with its id at once, and is retried with a growing backoff up to retries.max', async () => {
    const accepted = await post(g, 'fails', { n: 1 });
    expect(accepted.status).toBe(202);
    const { id } = accepted.body.invocation;
    const tries = await recordsOf(g, 'fails', (r) => r.filter((x) => x.id === id).length === 3);
    const mine = tries.filter((x) => x.id === id).sort((a, b) => a.attempt - b.attempt);
    expect(mine.map((r) => [r.attempt, r.status, r.trigger])).toEqual([
      [1, 'error', 'invoke'],
      [2, 'error', 'invoke'],
      [3, 'error', 'invoke'],
    ]);
    // backoff 200 ms, doubled, with jitter of -50%..+50%: at least 100 ms, then at least 200 ms
    const at = mine.map((r) => Date.parse(r.start));
    expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(100);
    expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(200);
    // and no fourth attempt comes
    const last = await api<InvocationRecord>(g, 'GET', `/invocations/${id}`);
    expect(last.body.attempt).toBe(3);
  });

  it('that does not match input is refused with the schema errors when sync, and dead-lettered when async', async () => {
    const sync = await api<{ error: { code: string; details: string[] } }>(
      g,
      'POST',
      '/functions/strict/invoke',
      {
        data: { id: 'seven' },
      },
    );
    expect(sync.status).toBe(400);
    expect(sync.body.error.details.join(' ')).toContain('/id: must be integer');
    expect(await records(g, 'strict')).toEqual([]); // no instance ran

    const accepted = await post(g, 'strict', { name: 'no id' });
    expect(accepted.status).toBe(202);
    let letter = '';
    await vi.waitFor(async () => {
      letter = (await records(g, 'letters')).map((r) => r.logs).join('');
      expect(letter).toContain(accepted.body.invocation.id);
    }, WAIT);
    expect(letter).toContain("must have required property 'id'");
    // no instance ran it, and its record says why
    const [refused, ...others] = await records(g, 'strict');
    expect(others).toEqual([]);
    expect(refused).toMatchObject({
      id: accepted.body.invocation.id,
      status: 'rejected',
      instance: null,
      billedMs: 0,
      error: "the event does not match input: (the event): must have required property 'id'",
    });
    // a good one runs
    const good = await post(g, 'strict', { id: 7 });
    await recordsOf(g, 'strict', (r) => r.some((x) => x.id === good.body.invocation.id && x.status === 'ok'));
  });

  it('waits for capacity instead of being throttled: 30 events through one instance all run', async () => {
    const ids = await Promise.all(
      Array.from({ length: 30 }, async (_, n) => (await post(g, 'narrow', n)).body.invocation.id),
    );
    const done = await recordsOf(g, 'narrow', (r) =>
      ids.every((id) => r.some((x) => x.id === id && x.status === 'ok')),
    );
    expect(done.filter((r) => ids.includes(r.id)).every((r) => r.status === 'ok')).toBe(true);
  });

  it('is refused with 413 over 256 KB, and with 404 for a function that does not exist', async () => {
    expect((await post(g, 'narrow', 'x'.repeat(300 * 1024))).status).toBe(413);
    expect((await post(g, 'nobody', 1)).status).toBe(404);
  });
});

describe('events accepted before a SIGKILL', () => {
  it('are all delivered after a restart: 2,000 in a burst, the platform killed in the middle', async () => {
    // The function reports each event to this sink before it returns: evidence independent of records.
    const seen = new Set<string>();
    const sink = createServer((req, res) => {
      seen.add(new URL(req.url ?? '/', 'http://x').searchParams.get('id') ?? '');
      res.end('ok');
    });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/`;
    const g = await startGust();
    let again: Gust | undefined;
    try {
      await deployProject(g, {
        // one instance, 10 at a time, 20 ms each: delivering 2,000 takes 4 s at least, so the kill
        // below comes in the middle of it
        'gust.yaml': `functions:\n  tally:\n    handler: t.mjs\n    concurrency: 10\n    scale: { max: 1 }\n    env: { SINK: "${sinkUrl}" }\n`,
        't.mjs': `export const handler = async (e) => {
  await new Promise((r) => setTimeout(r, 20));
  await fetch(process.env.SINK + '?id=' + e.id);
};`,
      });
      const accepted: string[] = [];
      let sent = 0;
      const worker = async () => {
        while (sent < 2000) {
          const id = `e-${sent++}`;
          const res = await fetch(`${g.url}/_gust/api/v1/functions/tally/invoke`, {
            method: 'POST',
            headers: { authorization: `Bearer ${g.key}`, 'content-type': 'application/json' },
            body: JSON.stringify({ data: { id }, async: true }),
          });
          if (res.status === 202) accepted.push(id);
          await res.arrayBuffer();
        }
      };
      await Promise.all(Array.from({ length: 20 }, worker));
      expect(accepted).toHaveLength(2000);
      // killed in the middle of delivering them
      await vi.waitFor(() => expect(seen.size).toBeGreaterThan(0), WAIT);
      await g.stop('SIGKILL');
      expect(seen.size).toBeLessThan(2000);
      again = await startGust({ dataDir: g.dataDir });
      await vi.waitFor(() => expect(accepted.filter((id) => !seen.has(id))).toEqual([]), {
        ...WAIT,
        timeout: 60_000,
      });
    } finally {
      await again?.stop();
      await g.stop('SIGKILL');
      sink.closeAllConnections();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
    }
  }, 120_000);
});
