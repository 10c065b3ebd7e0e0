/** Invocation records: paging past 1,000 with a cursor, filters, and the time spent waiting. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteInvocations } from '../../src/backends/embedded/invocations.js';
import { type Gate, gate } from '../helpers/gate.js';
import {
  api,
  cli,
  deployProject,
  type Gust,
  type InvocationRecord,
  invoke,
  sleep,
  startGust,
  tempDir,
  WAIT,
} from '../helpers/gust.js';

let g: Gust;

const HANDLER = `export default async (req) => {
  const q = new URL(req.url).searchParams;
  if (q.get('fail') === '1') throw new Error('asked to fail');
  if (q.get('wait') === '1') await fetch(process.env.GATE);
  return new Response('ok');
};
`;

let door: Gate;

beforeAll(async () => {
  g = await startGust();
  door = await gate();
  await deployProject(g, {
    'gust.yaml':
      'functions:\n  many:\n    handler: h.mjs\n    concurrency: 50\n    triggers:\n      - http: { path: /many }\n' +
      `  one-at-a-time:\n    handler: h.mjs\n    env: { GATE: "${door.url}" }\n    scale: { max: 1 }\n` +
      '    triggers:\n      - http: { path: /single }\n',
    'h.mjs': HANDLER,
  });
});

afterAll(async () => {
  await door?.close();
  await g?.stop();
});

/** Sends `total` requests, `parallel` at a time. */
async function load(path: string, total: number, parallel: number): Promise<void> {
  let sent = 0;
  const worker = async () => {
    while (sent < total) {
      sent++;
      const res = await fetch(`${g.url}${path}`);
      await res.arrayBuffer();
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
}

interface Page {
  invocations: InvocationRecord[];
  cursor: string | null;
}

const page = (query: string) => api<Page>(g, 'GET', `/functions/many/invocations?${query}`);

describe('gust invocations', () => {
  it('pages through 2,500 records with a cursor, newest first, each record once', async () => {
    await load('/many', 2500, 25);
    const seen: InvocationRecord[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: { status: number; body: Page } = await page(
        `limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(r.status).toBe(200);
      seen.push(...r.body.invocations);
      cursor = r.body.cursor;
      pages++;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toHaveLength(2500);
    expect(new Set(seen.map((r) => r.id)).size).toBe(2500);
    const ids = seen.map((r) => r.id);

    // the CLI says how to get the next page, and --cursor gets it
    const first = await cli(g, ['invocations', 'many', '--limit', '1000']);
    expect(first.code).toBe(0);
    const next = /more: gust invocations many --cursor (\S+) --limit 1000/.exec(first.stderr)?.[1];
    expect(next).toBeDefined();
    const second = await cli(g, ['invocations', 'many', '--limit', '1000', '--cursor', next!, '--json']);
    const secondPage = JSON.parse(second.stdout) as Page;
    expect(secondPage.invocations.map((r) => r.id)).toEqual(ids.slice(1000, 2000));
  });

  it('filters by status, trigger and time', async () => {
    await fetch(`${g.url}/many?fail=1`);
    const byInvoke = await invoke(g, 'many', { via: 'invoke' });
    expect(byInvoke.status).toBe(200);

    const failed = await page('status=failed&limit=1000');
    expect(failed.body.invocations.length).toBeGreaterThanOrEqual(1);
    expect(failed.body.invocations.every((r) => r.status !== 'ok')).toBe(true);

    const invoked = await page('trigger=invoke&limit=1000');
    expect(invoked.body.invocations.map((r) => r.id)).toEqual([byInvoke.body.invocation.id]);
    const cliInvoked = await cli(g, ['invocations', 'many', '--trigger', 'invoke', '--json']);
    expect((JSON.parse(cliInvoked.stdout) as Page).invocations.map((r) => r.trigger)).toEqual(['invoke']);

    const since = byInvoke.body.invocation.start;
    const recent = await page(`since=${encodeURIComponent(since)}&limit=1000`);
    expect(recent.body.invocations.map((r) => r.id)).toContain(byInvoke.body.invocation.id);
    expect(recent.body.invocations.every((r) => r.start >= since)).toBe(true);
    // a time to come is a usage error in the CLI; the API answers an empty page
    const future = await cli(g, ['invocations', 'many', '--since', '2999-01-01T00:00:00Z']);
    expect(future).toMatchObject({ code: 2, stdout: '' });
    expect(future.stderr).toMatch(/that is in the future/);
    const ahead = await page(`since=${encodeURIComponent('2999-01-01T00:00:00Z')}&limit=5`);
    expect(ahead.body.invocations).toEqual([]);
    // a duration back from now
    const lastHour = await page('since=1h&limit=5');
    expect(lastHour.body.invocations).toHaveLength(5);
  });

  it('refuses a cursor it did not make, a bad time and a limit past 1,000, with clear errors', async () => {
    expect((await page('cursor=nonsense')).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    expect((await page('since=yesterday')).body).toMatchObject({ error: { code: 'BAD_REQUEST' } });
    const tooMany = await cli(g, ['invocations', 'many', '--limit', '5000']);
    expect(tooMany.code).toBe(2);
    expect(tooMany.stderr).toContain('--cursor');
  });
});

describe('records', () => {
  it('keep the wait for an instance in queuedMs, apart from the run in durationMs', async () => {
    // one instance at most: the second call waits until the first, held at the gate, is let through
    const first = fetch(`${g.url}/single?wait=1`);
    await vi.waitFor(() => expect(door.arrived()).toBe(1), WAIT);
    const second = fetch(`${g.url}/single`);
    // Time is the subject here: the second call waits for the instance while the first is held.
    await sleep(200);
    door.open();
    const [a, b] = await Promise.all(
      [first, second].map(async (p) => {
        const res = await p;
        expect(await res.text()).toBe('ok');
        return res.headers.get('x-gust-invocation-id')!;
      }),
    );
    const r = await api<Page>(g, 'GET', '/functions/one-at-a-time/invocations?limit=10');
    const byId = new Map(r.body.invocations.map((x) => [x.id, x]));
    const held1 = byId.get(a!)!;
    const waited = byId.get(b!)!;
    expect(held1.durationMs).toBeGreaterThanOrEqual(200);
    // it waited at least as long as the first was held, and none of that is its run or its bill
    expect(waited.queuedMs).toBeGreaterThanOrEqual(200);
    expect(waited.durationMs).toBeLessThan(waited.queuedMs);
    expect(waited.billedMs).toBeLessThan(waited.queuedMs);
  });
});

describe('retention', () => {
  it('a platform drops records past --retention (failed ones past --failed-retention), and usage stays', async () => {
    // a data folder holding records of long ago, as a platform that ran then would have left
    const dataDir = await tempDir('gust-data-');
    const db = openDatabase(path.join(dataDir, 'gust.db'));
    const old = (id: string, hoursAgo: number, status: 'ok' | 'error') => ({
      id,
      attempt: 1,
      function: 'gone-fn',
      version: 1,
      trigger: 'http',
      instance: null,
      start: new Date(Date.now() - hoursAgo * 3_600_000).toISOString(),
      queuedMs: 0,
      durationMs: 5,
      billedMs: 5,
      memoryMb: 128,
      gbSeconds: 0.000625,
      cold: false,
      initMs: 0,
      status,
      error: status === 'ok' ? null : 'boom',
      stack: null,
      deniedCalls: 0,
      logs: 'a log line\n',
      traceId: 't',
      spanId: null,
      parentSpanId: null,
      replayOf: null,
    });
    await new SqliteInvocations(db).add([
      // in the order they ended, as a platform writes them
      old('failed-30h', 30, 'error'),
      old('ok-3h', 3, 'ok'),
      old('failed-3h', 3, 'error'),
      old('ok-10m', 1 / 6, 'ok'),
    ]);
    db.close();
    const p = await startGust({ dataDir, env: { GUST_RETENTION: '1h', GUST_FAILED_RETENTION: '1d' } });
    const ids = async () =>
      (await api<Page>(p, 'GET', '/functions/gone-fn/invocations?limit=10')).body.invocations
        .map((r) => r.id)
        .sort();
    await vi.waitFor(async () => expect(await ids()).toEqual(['failed-3h', 'ok-10m']), WAIT);
    const usage = await cli(p, ['usage', '--since', '2d', '--json']);
    expect(JSON.parse(usage.stdout).total).toMatchObject({ requests: 4, failed: 2 });
  });
});
