/**
 * gust replay end to end: a failed invocation run again fails alike, and passes on a fixed version
 * (while --version N still fails); an HTTP request runs again as it came, its Gust key never stored;
 * a queued event runs again at once, without being queued again; what is not kept (over the limit,
 * not kept at all, unknown) is said clearly; what was kept outlives a restart; who may replay.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ReplayAnswer } from '../../src/control/replay.js';
import { api, cli, deployProject, type Gust, records, startGust, WAIT } from '../helpers/gust.js';

let g: Gust;

const FILES = {
  'gust.yaml': `
topics: [orders]
functions:
  echo:
    handler: echo.mjs
    triggers:
      - http: { path: /echo/:id }
      - http: { path: /secure/echo, auth: key }
  fulfil:
    handler: fulfil.mjs
    triggers:
      - topic: { name: orders }
`,
  // what the function saw of the request, the per-call traceparent aside
  'echo.mjs': `export default async function (req, ctx) {
  const url = new URL(req.url);
  const body = Buffer.from(await req.arrayBuffer()).toString('base64');
  const headers = [...req.headers].filter(([k]) => k !== 'traceparent');
  return Response.json({ method: req.method, path: url.pathname + url.search, params: ctx.params, headers, body });
}`,
  'fulfil.mjs': `export async function handler(event) {
  console.log('fulfil', event.id);
  return { id: event.id, type: event.type, data: event.data };
}`,
};

const price = (fixed: boolean) => ({
  'gust.yaml': 'project: prices\nfunctions:\n  price:\n    handler: price.mjs\n',
  'price.mjs': `export async function handler(event) {
  console.log('pricing', event.sku);
  if (${fixed ? 'false' : 'true'} && event.qty < 1) throw new RangeError('quantity must be positive, got ' + event.qty);
  return { sku: event.sku, total: event.qty * 2 };
}`,
});

beforeAll(async () => {
  g = await startGust({ env: { GUST_REPLAY_MAX_EVENT_SIZE: '2KB' } });
  await deployProject(g, FILES);
});

afterAll(async () => {
  await g?.stop();
});

async function replay(args: string[], gust: Gust = g) {
  const r = await cli(gust, ['replay', ...args, '--json']);
  return { ...r, answer: r.stdout === '' ? undefined : (JSON.parse(r.stdout) as ReplayAnswer) };
}

describe('a failed invocation', () => {
  it('fails alike when replayed; passes on a fixed version, while --version 1 still fails', async () => {
    await deployProject(g, price(false));
    const failed = await cli(g, ['invoke', 'price', '--data', '{"sku": "A-1", "qty": 0}', '--json']);
    expect(failed.code).toBe(1);
    const { id } = JSON.parse(failed.stdout).invocation as { id: string };

    const again = await replay([id]);
    expect(again.code).toBe(1);
    expect(again.answer).toMatchObject({
      original: { id, status: 'error', version: 1, trigger: 'invoke' },
      replay: {
        status: 'error',
        version: 1,
        trigger: 'replay',
        replayOf: id,
        error: 'RangeError: quantity must be positive, got 0',
      },
      input: { kind: 'event', bytes: Buffer.byteLength('{"sku":"A-1","qty":0}') },
      error: { code: 'FUNCTION_ERROR' },
    });
    expect(again.answer!.replay.id).not.toBe(id);
    expect(again.answer!.replay.logs).toContain('pricing A-1');
    expect(JSON.parse(again.stderr).error.message).toContain(
      `the replay ${again.answer!.replay.id} of ${id} ended error: RangeError: quantity must be positive, got 0`,
    );

    // the fix, deployed as v2: the same event passes on the active version
    await deployProject(g, price(true));
    const fixed = await replay([id]);
    expect(fixed.code).toBe(0);
    expect(fixed.answer).toMatchObject({
      replay: { status: 'ok', version: 2 },
      result: { sku: 'A-1', total: 0 },
    });
    const old = await replay([id, '--version', '1']);
    expect(old.code).toBe(1);
    expect(old.answer?.replay).toMatchObject({ status: 'error', version: 1 });

    // as people read it: the two side by side
    const human = await cli(g, ['replay', id]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/status\s+error\s+ok/);
    expect(human.stdout).toMatch(/version\s+v1\s+v2/);
    expect(human.stdout).toMatch(/error\s+RangeError: quantity must be positive, got 0\s+-/);
    expect(human.stdout).toContain('"total": 0');
    // the replays are records of their own, found by their trigger
    const replays = (await records(g, 'price')).filter((r) => r.trigger === 'replay');
    expect(replays.length).toBe(4);
    expect(replays.every((r) => r.replayOf === id)).toBe(true);
    const listed = await cli(g, ['invocations', 'price', '--trigger', 'replay', '--json']);
    expect(JSON.parse(listed.stdout).invocations).toHaveLength(4);
  });

  it('names a version that does not exist', async () => {
    const r = await cli(g, ['invoke', 'price', '--data', '{"sku": "B", "qty": 1}', '--json']);
    const { id } = JSON.parse(r.stdout).invocation as { id: string };
    const missing = await cli(g, ['replay', id, '--version', '9']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('gust: price has no version 9: gust versions price lists them\n');
    const usage = await cli(g, ['replay', id, '--version', 'two']);
    expect(usage.code).toBe(2);
    expect((await cli(g, ['replay'])).code).toBe(2);
  });
});

describe('an HTTP invocation', () => {
  it('runs again with the same method, path, headers and bytes; the Gust key it carried is never stored', async () => {
    const secret = g.key.slice(-43);
    const bytes = Buffer.from([0, 1, 254, 255, 10]);
    const res = await fetch(`${g.url}/echo/7?x=1&key=${g.key}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${g.key}`, cookie: 'session=abc', 'x-trace-me': 'yes' },
      body: bytes,
    });
    const id = res.headers.get('x-gust-invocation-id')!;
    const original = (await res.json()) as { headers: [string, string][] };
    expect(original.headers).toContainEqual(['authorization', `Bearer ${g.key}`]); // a public route passes it on

    const { code, answer } = await replay([id]);
    expect(code).toBe(0);
    expect(answer).toMatchObject({
      input: { kind: 'http', masked: ['authorization', 'url'] },
      response: { status: 200 },
    });
    const masked = `${g.key.slice(0, -43)}***`;
    expect(JSON.parse(answer!.response!.body)).toEqual({
      ...original,
      path: `/echo/7?x=1&key=${masked}`,
      headers: original.headers.map(([k, v]) => [k, k === 'authorization' ? `Bearer ${masked}` : v]),
    });
    expect(JSON.parse(answer!.response!.body)).toMatchObject({
      method: 'PUT',
      params: { id: '7' },
      body: bytes.toString('base64'),
    });

    const human = await cli(g, ['replay', id]);
    expect(human.stdout).toContain(
      '(the Gust key in the authorization header and the URL was not kept: the replay sent it masked)',
    );
    // one rule for the size: an HTTP request's is its body's
    expect(human.stdout).toContain(`(echo, HTTP request of ${bytes.length} bytes)`);
    expect(answer?.input.bytes).toBe(bytes.length);

    const event = await api<{ request: { headers: [string, string][] } }>(
      g,
      'GET',
      `/invocations/${id}/event`,
    );
    expect(event.status).toBe(200);
    expect(JSON.stringify(event.body)).not.toContain(secret);
    expect(event.body.request.headers).toContainEqual(['cookie', 'session=abc']);
    for (const file of ['gust.db', 'gust.db-wal', 'inputs.db', 'inputs.db-wal']) {
      const content = await readFile(path.join(g.dataDir, file)).catch(() => Buffer.alloc(0));
      expect(content.includes(secret), file).toBe(false);
    }
  });

  it('through a route with auth: key runs again as the same caller, whose key the function never had', async () => {
    const key = await api<{ id: string; key: string }>(g, 'POST', '/keys', { scope: 'invoke' });
    const res = await fetch(`${g.url}/secure/echo`, { headers: { authorization: `Bearer ${key.body.key}` } });
    const original = (await res.json()) as { headers: [string, string][] };
    expect(original.headers).toContainEqual(['x-gust-key-id', key.body.id]);
    const { answer } = await replay([res.headers.get('x-gust-invocation-id')!]);
    expect(answer?.input.masked).toEqual([]);
    expect(JSON.parse(answer!.response!.body)).toEqual(original);
  });
});

describe('a queued event', () => {
  it('runs again at once with the very event, and is not queued again', async () => {
    const published = await cli(g, ['publish', 'orders', '--data', '{"order": 7}', '--json']);
    const eventId = (JSON.parse(published.stdout) as { id: string }).id;
    const [first] = await vi.waitFor(async () => {
      const list = await records(g, 'fulfil');
      expect(list).toHaveLength(1);
      return list;
    }, WAIT);
    const { code, answer } = await replay([first!.id]);
    expect(code).toBe(0);
    expect(answer).toMatchObject({
      original: { trigger: 'topic' },
      replay: { trigger: 'replay', status: 'ok', attempt: 1 },
      result: { id: eventId, type: 'gust.topic.message', data: { order: 7 } },
    });
    // nothing went back to the queue: the original and its replay, no third run
    const queue = await api(g, 'GET', '/functions/fulfil/queue');
    expect(queue.body).toMatchObject({ waiting: 0, leased: 0 });
    expect(await records(g, 'fulfil')).toHaveLength(2);
  });
});

describe('what cannot be replayed', () => {
  it('says an event over the limit was not kept, with its size and the limit', async () => {
    const big = JSON.stringify({ sku: 'C', qty: 1, note: 'x'.repeat(3000) });
    const r = await cli(g, ['invoke', 'price', '--data', big, '--json']);
    const { id } = JSON.parse(r.stdout).invocation as { id: string };
    const again = await cli(g, ['replay', id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      `gust: the event of ${id} was 3 KB, over the 2 KB kept for replay (GUST_REPLAY_MAX_EVENT_SIZE): it cannot be run again\n`,
    );
    const event = await api(g, 'GET', `/invocations/${id}/event`);
    expect(event.body).toMatchObject({ kept: false, bytes: Buffer.byteLength(big) });
  });

  it('says which invocation is unknown, and that what is not an id at all is a usage error', async () => {
    const unknown = '0194c2a1-7f3e-7b2c-9d4e-5f6a7b8c9d0e';
    const r = await cli(g, ['replay', unknown]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`gust: no invocation ${unknown}: gust invocations NAME lists them\n`);
    const malformed = await cli(g, ['replay', 'nonsense']);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toBe(
      'gust: "nonsense" is not an invocation id (one looks like 0194c2a1-7f3e-7b2c-9d4e-5f6a7b8c9d0e): gust invocations NAME lists them\n',
    );
  });

  it('says when the platform keeps no events, and when one is no longer kept', async () => {
    const off = await startGust({ env: { GUST_REPLAY_RETENTION: '0' } });
    await deployProject(off, price(true));
    const r = await cli(off, ['invoke', 'price', '--data', '{"sku": "D", "qty": 1}', '--json']);
    const { id } = JSON.parse(r.stdout).invocation as { id: string };
    const none = await cli(off, ['replay', id]);
    expect(none.stderr).toBe(
      `gust: the event of ${id} is not kept: this platform keeps no events for replay (--replay-retention 0)\n`,
    );
    expect(existsSync(path.join(off.dataDir, 'inputs.db'))).toBe(false);
    await off.stop();
    const on = await startGust({ dataDir: off.dataDir });
    try {
      const gone = await cli(on, ['replay', id]);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(
        new RegExp(
          `^gust: the event of ${id} is not kept: events are kept for replay for 1d \\(--replay-retention\\)`,
        ),
      );
    } finally {
      await on.stop();
    }
  });
});

describe('kept across a restart', () => {
  it('replays an event kept before the platform stopped, from its own file', async () => {
    const first = await startGust();
    await deployProject(first, price(true));
    const r = await cli(first, ['invoke', 'price', '--data', '{"sku": "F", "qty": 3}', '--json']);
    const { id } = JSON.parse(r.stdout).invocation as { id: string };
    await first.stop(); // the input was handed to its writer when the records were flushed at the stop
    expect(existsSync(path.join(first.dataDir, 'inputs.db'))).toBe(true);
    const again = await startGust({ dataDir: first.dataDir });
    try {
      const { code, answer } = await replay([id], again);
      expect(code).toBe(0);
      expect(answer).toMatchObject({ original: { id }, result: { sku: 'F', total: 6 } });
    } finally {
      await again.stop();
    }
  });
});

describe('who may replay', () => {
  it('takes a deploy key, refuses an invoke key, and keeps --inspect to admin keys', async () => {
    const r = await cli(g, ['invoke', 'price', '--data', '{"sku": "E", "qty": 1}', '--json']);
    const { id } = JSON.parse(r.stdout).invocation as { id: string };
    const deployKey = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'deploy' })).body.key;
    const invokeKey = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'invoke' })).body.key;
    expect((await cli(g, ['replay', id], { GUST_API_KEY: deployKey })).code).toBe(0);
    const refused = await cli(g, ['replay', id], { GUST_API_KEY: invokeKey });
    expect(refused.stderr).toBe(
      'gust: this invoke key cannot do that: it needs a key of scope deploy or admin\n',
    );
    const inspect = await cli(g, ['replay', id, '--inspect'], { GUST_API_KEY: deployKey });
    expect(inspect.code).toBe(1);
    expect(inspect.stderr).toMatch(
      /^gust: this deploy key cannot replay under the debugger: it needs an admin key/,
    );
  });
});
