/** KV end to end: ctx.kv with permissions, cas under contention, TTL, bounds, the CLI and the API. */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gate } from '../helpers/gate.js';
import {
  api,
  cli,
  deployProject,
  type Gust,
  invoke,
  records,
  startGust,
  WAIT,
  writeProject,
} from '../helpers/gust.js';

let g: Gust;

const FNS = `
export const counter = async (_e, ctx) => {
  const ns = ctx.kv('carts');
  for (;;) {
    const now = await ns.get('count');
    const next = String(Number(now ?? 0) + 1);
    if (await ns.cas('count', now, next)) return Number(next);
  }
};
export const store = async (e, ctx) => {
  const ns = ctx.kv('carts');
  try {
    if (e.op === 'put') return await ns.put(e.key, e.value, e.ttl ? { ttl: e.ttl } : undefined) ?? 'put';
    if (e.op === 'get') return await ns.get(e.key);
    if (e.op === 'delete') return await ns.delete(e.key);
    if (e.op === 'list') return await ns.list(e.options);
    if (e.op === 'cas') return await ns.cas(e.key, e.expected, e.next);
  } catch (err) {
    return { error: err.name + ': ' + err.message };
  }
};
`;

beforeAll(async () => {
  g = await startGust();
  await deployProject(g, {
    'gust.yaml': `
kv: [carts]
functions:
  counter:
    handler: f.mjs#counter
    concurrency: 20
    permissions: [kv:carts:write]
  writer:
    handler: f.mjs#store
    permissions: [kv:carts:write]
  reader:
    handler: f.mjs#store
    permissions: [kv:carts:read]
  stranger:
    handler: f.mjs#store
`,
    'f.mjs': FNS,
  });
});

afterAll(async () => {
  await g?.stop();
});

const call = async (fn: string, event: unknown) => (await invoke(g, fn, event)).body.result;

describe('ctx.kv', () => {
  it('puts, gets, lists and deletes with kv:NS:write; cas counts exactly under contention', async () => {
    expect(await call('writer', { op: 'put', key: 'a', value: 'one' })).toBe('put');
    expect(await call('writer', { op: 'get', key: 'a' })).toBe('one');
    expect(await call('writer', { op: 'get', key: 'nothing' })).toBeNull();
    expect(await call('writer', { op: 'cas', key: 'a', expected: 'wrong', next: 'x' })).toBe(false);
    expect(await call('writer', { op: 'cas', key: 'a', expected: 'one', next: 'two' })).toBe(true);
    expect(await call('writer', { op: 'cas', key: 'fresh', expected: null, next: 'new' })).toBe(true);
    expect(await call('writer', { op: 'cas', key: 'fresh', expected: null, next: 'again' })).toBe(false);
    expect(await call('writer', { op: 'list', options: { prefix: 'fr' } })).toEqual({
      keys: [{ name: 'fresh', expiration: null }],
      cursor: null,
    });
    expect(await call('writer', { op: 'delete', key: 'fresh' })).toBe(true);
    expect(await call('writer', { op: 'delete', key: 'fresh' })).toBe(false);

    const counts = await Promise.all(Array.from({ length: 20 }, () => call('counter', {})));
    expect(new Set(counts).size).toBe(20); // every increment saw its own value: none lost
    expect(await call('writer', { op: 'get', key: 'count' })).toBe('20');
  });

  it('reads with kv:NS:read but cannot write; without a permission nothing, each refusal counted', async () => {
    expect(await call('reader', { op: 'get', key: 'a' })).toBe('two');
    expect(await call('reader', { op: 'put', key: 'a', value: 'hacked' })).toEqual({
      error: expect.stringMatching(/^PermissionError: .*reader needs the permission kv:carts:write/),
    });
    expect(await call('stranger', { op: 'get', key: 'a' })).toEqual({
      error: expect.stringMatching(/^PermissionError: .*kv:carts:read/),
    });
    expect(await call('writer', { op: 'get', key: 'a' })).toBe('two');
    const [refused] = await records(g, 'stranger', 1);
    expect(refused!.deniedCalls).toBe(1);
  });

  it('never returns a key past its ttl', async () => {
    await call('writer', { op: 'put', key: 'short', value: 'lived', ttl: 1 });
    expect(await call('writer', { op: 'get', key: 'short' })).toBe('lived');
    await vi.waitFor(async () => expect(await call('writer', { op: 'get', key: 'short' })).toBeNull(), WAIT);
    expect(await call('writer', { op: 'list', options: { prefix: 'short' } })).toEqual({
      keys: [],
      cursor: null,
    });
    // once expired, the key can be created again as new
    expect(await call('writer', { op: 'cas', key: 'short', expected: null, next: 'again' })).toBe(true);
  });

  it('refuses keys over 512 bytes, values over 1 MB and values that are not strings, with clear errors', async () => {
    expect(await call('writer', { op: 'put', key: 'k'.repeat(513), value: 'v' })).toEqual({
      error: expect.stringMatching(/^TypeError: the key is 513 bytes; keys are at most 512 bytes/),
    });
    expect(await call('writer', { op: 'put', key: 'big', value: 'v'.repeat(1024 * 1024 + 1) })).toEqual({
      error: expect.stringMatching(/^PayloadTooLarge: the value is 1048577 bytes/),
    });
    expect(await call('writer', { op: 'put', key: 'obj', value: { a: 1 } })).toEqual({
      error: expect.stringMatching(/^TypeError: a value must be a string/),
    });
    // a value of exactly 1 MB is taken
    expect(await call('writer', { op: 'put', key: 'big', value: 'v'.repeat(1024 * 1024) })).toBe('put');
  });
});

describe('gust kv and the API', () => {
  it('put, get, list with paging, and delete', async () => {
    expect((await cli(g, ['kv', 'put', 'carts', 'cli/key', 'hello'])).stdout).toBe('put cli/key in carts\n');
    expect((await cli(g, ['kv', 'get', 'carts', 'cli/key'])).stdout).toBe('hello\n');
    for (let n = 0; n < 150; n++) {
      const r = await api(
        g,
        'PUT',
        `/kv/carts/keys/${encodeURIComponent(`page/${String(n).padStart(3, '0')}`)}`,
        {
          value: String(n),
        },
      );
      expect(r.status).toBe(200);
    }
    const first = await cli(g, ['kv', 'list', 'carts', '--prefix', 'page/', '--limit', '100', '--json']);
    const page1 = JSON.parse(first.stdout) as { keys: { key: string }[]; cursor: string };
    expect(page1.keys).toHaveLength(100);
    const second = await cli(g, [
      'kv',
      'list',
      'carts',
      '--prefix',
      'page/',
      '--cursor',
      page1.cursor,
      '--json',
    ]);
    const page2 = JSON.parse(second.stdout) as { keys: { key: string }[]; cursor: string | null };
    expect(page2.keys.map((k) => k.key)).toEqual(
      Array.from({ length: 50 }, (_, i) => `page/${String(100 + i).padStart(3, '0')}`),
    );
    expect(page2.cursor).toBeNull();
    const human = await cli(g, ['kv', 'list', 'carts', '--prefix', 'page/', '--limit', '100']);
    // the next page's command keeps the filters of this one
    expect(human.stderr).toBe(
      `more: gust kv list carts --prefix page/ --limit 100 --cursor ${page1.cursor}\n`,
    );
    expect((await cli(g, ['kv', 'delete', 'carts', 'cli/key'])).stdout).toBe('deleted cli/key\n');
    const gone = await cli(g, ['kv', 'get', 'carts', 'cli/key']);
    expect(gone.code).toBe(1);
    const again = await cli(g, ['kv', 'delete', 'carts', 'cli/key']);
    expect([again.code, again.stdout, again.stderr]).toEqual([1, '', 'gust: no key cli/key in carts\n']);
    expect((await cli(g, ['kv', 'get', 'nowhere', 'k'])).stderr).toContain('no KV namespace nowhere');
  });

  it('needs a storage or admin key, and refuses a deploy that names an undeclared namespace', async () => {
    const invokeKey = (await api<{ key: string }>(g, 'POST', '/keys', { scope: 'invoke' })).body.key;
    expect((await api(g, 'GET', '/kv/carts/keys', undefined, invokeKey)).status).toBe(403);
    const dir = await writeProject(
      {
        'gust.yaml': 'functions:\n  lost:\n    handler: a.mjs\n    permissions: [kv:ghost:read]\n',
        'a.mjs': 'export const handler = async () => {};\n',
      },
      'lost',
    );
    const r = await cli(g, ['deploy', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('functions.lost.permissions[0]: no KV namespace ghost');
  });
});

describe('a kv trigger', () => {
  it('runs on put and delete with the change, once per change, in the writer’s trace; on: [delete] only on deletes', async () => {
    await deployProject(g, {
      'gust.yaml': `
project: watchers
kv: [jobs]
functions:
  watcher:
    handler: w.mjs#watch
    triggers:
      - kv: { namespace: jobs }
  reaper:
    handler: w.mjs#watch
    triggers:
      - kv: { namespace: jobs, on: [delete] }
  jobber:
    handler: w.mjs#put
    permissions: [kv:jobs:write]
`,
      'w.mjs': `
export const watch = async (event) => { console.log('change ' + JSON.stringify(event)); };
export const put = async (e, ctx) => { await ctx.kv('jobs').put(e.key, e.value); return 'put'; };
`,
    });
    expect((await cli(g, ['kv', 'put', 'jobs', 'j/1', 'first'])).code).toBe(0);
    const byFunction = await invoke(g, 'jobber', { key: 'j/2', value: 'second' });
    expect(byFunction.body.result).toBe('put');
    expect((await cli(g, ['kv', 'delete', 'jobs', 'j/1'])).code).toBe(0);
    // deleting a key that is not there changes nothing, and runs nothing
    expect((await cli(g, ['kv', 'delete', 'jobs', 'j/none'])).code).toBe(1);

    type Change = { type: string; source: string; subject: string; data: { key: string; value?: string } };
    const changes = async (fn: string) =>
      (await records(g, fn, 100))
        .filter((r) => r.trigger === 'kv' && r.status === 'ok')
        .flatMap((r) => r.logs.split('\n'))
        .map((line) => line.split('\t')[2] ?? '')
        .filter((text) => text.startsWith('change '))
        .map((text) => JSON.parse(text.slice(7)) as Change)
        .map((c) => [c.type, c.source, c.subject, c.data.value ?? null])
        .sort();
    await vi.waitFor(async () => {
      expect(await changes('watcher')).toEqual([
        ['gust.kv.delete', '/gust/kv/jobs', 'j/1', null],
        ['gust.kv.put', '/gust/kv/jobs', 'j/1', 'first'],
        ['gust.kv.put', '/gust/kv/jobs', 'j/2', 'second'],
      ]);
      expect(await changes('reaper')).toEqual([['gust.kv.delete', '/gust/kv/jobs', 'j/1', null]]);
    }, WAIT);
    const [putByJobber] = (await records(g, 'watcher', 100)).filter((r) =>
      r.logs.includes('"subject":"j/2"'),
    );
    expect(putByJobber!.traceId).toBe(byFunction.body.invocation.traceId);
  });

  it('when its queue is full, refuses the change itself: the value and its event are written together or not at all', async () => {
    const door = await gate();
    const small = await startGust({ env: { GUST_QUEUE_DEPTH: '2' } });
    try {
      await deployProject(small, {
        'gust.yaml': `
kv: [jobs]
functions:
  slow:
    handler: w.mjs
    scale: { max: 1 }
    triggers:
      - kv: { namespace: jobs, on: [put] }
`,
        'w.mjs': `export default async () => { await fetch(${JSON.stringify(door.url)}); };`,
      });
      expect((await cli(small, ['kv', 'put', 'jobs', 'a', '1'])).code).toBe(0);
      await vi.waitFor(() => expect(door.arrived()).toBe(1), WAIT); // running, its message leased
      expect((await cli(small, ['kv', 'put', 'jobs', 'b', '2'])).code).toBe(0); // waiting
      const refused = await api(small, 'PUT', '/kv/jobs/keys/c', { value: '3' });
      expect(refused.status).toBe(429);
      expect(JSON.stringify(refused.body)).toContain(
        'the queue of slow, which a kv trigger runs on this change, is full',
      );
      expect((await api(small, 'GET', '/kv/jobs/keys/c')).status).toBe(404);

      door.open();
      await vi.waitFor(async () => {
        expect((await records(small, 'slow')).filter((r) => r.status === 'ok')).toHaveLength(2);
      }, WAIT);
      expect((await api(small, 'PUT', '/kv/jobs/keys/c', { value: '3' })).status).toBe(200);
      await vi.waitFor(async () => {
        expect((await records(small, 'slow')).filter((r) => r.status === 'ok')).toHaveLength(3);
      }, WAIT);
    } finally {
      door.open();
      await small.stop();
      await door.close();
    }
  });
});
