/**
 * /_gust/metrics: Prometheus text that a real parser reads, counters that move by exactly the
 * invocations made, states read at scrape time, a key of scope metrics (or admin) and nothing
 * else, and a Grafana dashboard whose every expression names metrics the platform exports.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { getMetricsFromIterator, type PromHistogramData, type PromMetrics } from 'prom2javascript';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type Gate, gate } from '../helpers/gate.js';
import { api, cli, deployProject, type Gust, ROOT, records, startGust, WAIT } from '../helpers/gust.js';

async function scrape(g: Pick<Gust, 'url'>, key: string): Promise<PromMetrics> {
  const res = await fetch(`${g.url}/_gust/metrics`, { headers: { authorization: `Bearer ${key}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`scrape answered ${res.status}: ${text}`);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
}

/** The value of the sample of `name` whose labels include `labels`; 0 when there is none (a counter not yet moved). */
function value(m: PromMetrics, name: string, labels: Record<string, string>): number {
  const samples = (m[name]?.data ?? []) as { labels: Record<string, string>; value: number }[];
  const hit = samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  return hit?.value ?? 0;
}

function histogram(m: PromMetrics, name: string, fn: string): { count: number; sum: number } {
  const data = (m[name]?.data ?? []) as PromHistogramData[];
  const hit = data.find((d) => d.labels.function === fn);
  return { count: hit?.count ?? 0, sum: hit?.sum ?? 0 };
}

const call = (g: Gust, route: string, key?: string) =>
  fetch(`${g.url}${route}`, key ? { headers: { authorization: `Bearer ${key}` } } : {});

describe('metrics', () => {
  let g: Gust;
  let metricsKey: string;
  let door: Gate;

  beforeAll(async () => {
    g = await startGust();
    door = await gate();
    await deployProject(g, {
      'gust.yaml': `
topics: [dead]
functions:
  hello:
    handler: fns.mjs#hello
    budget: { gbSeconds: 1000000 } # never reached: its series are exported (the dashboard reads them)
    triggers:
      - http: { path: /hello }
  boom:
    handler: fns.mjs#boom
    triggers:
      - http: { path: /boom }
  guarded:
    handler: fns.mjs#hello
    triggers:
      - http: { path: /guarded, auth: key }
  fails:
    handler: fns.mjs#fails
    retries: { max: 1, backoff: 100ms, deadLetter: dead }
  held:
    handler: fns.mjs#held
    env: { GATE: "${door.url}" }
    scale: { max: 1 }
  letters:
    handler: fns.mjs#letter
    triggers:
      - topic: { name: dead }
`,
      'fns.mjs': `
export const hello = async () => new Response('hi');
export const boom = async () => { throw new Error('boom'); };
export const fails = async () => { throw new Error('it fails'); };
export const held = async () => { await fetch(process.env.GATE); return 'done'; };
export const letter = async () => {};
`,
    });
    const created = await cli(g, ['keys', 'create', '--scope', 'metrics', '--json']);
    expect(created.code, created.stderr).toBe(0);
    metricsKey = (JSON.parse(created.stdout) as { key: string; scope: string }).key;
  });

  afterAll(async () => {
    await g?.stop();
    await door?.close();
  });

  it('is Prometheus text a real parser reads, every name prefixed gust_, with the process metrics', async () => {
    const m = await scrape(g, metricsKey);
    for (const name of Object.keys(m)) expect(name).toMatch(/^gust_[a-z0-9_]+$/);
    for (const name of [
      'gust_process_cpu_seconds_total',
      'gust_process_resident_memory_bytes',
      'gust_nodejs_eventloop_lag_seconds',
      'gust_invocations_total',
      'gust_invocation_duration_seconds',
      'gust_init_duration_seconds',
    ]) {
      expect(m[name], name).toBeDefined();
    }
    expect(m.gust_invocation_duration_seconds?.type).toBe('histogram');
    expect(value(m, 'gust_process_resident_memory_bytes', {})).toBeGreaterThan(0);
    // stem cells of the default memory size are kept (GUST_STEM_CELLS=1 in the tests)
    await vi.waitFor(async () => {
      const now = await scrape(g, metricsKey);
      expect(value(now, 'gust_stem_cells', { memory_mb: '128', state: 'ready' })).toBe(1);
    }, WAIT);
  });

  it('counts HTTP invocations by exactly the calls made: ok, error, duration, cold starts and GB-s', async () => {
    const before = await scrape(g, metricsKey);
    for (let i = 0; i < 3; i++) expect((await call(g, '/hello')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await call(g, '/boom')).status).toBe(500);
    const after = await scrape(g, metricsKey);
    const moved = (labels: Record<string, string>) =>
      value(after, 'gust_invocations_total', labels) - value(before, 'gust_invocations_total', labels);
    expect(moved({ function: 'hello', trigger: 'http', status: 'ok' })).toBe(3);
    expect(moved({ function: 'boom', trigger: 'http', status: 'error' })).toBe(2);
    expect(moved({ function: 'boom', trigger: 'http', status: 'ok' })).toBe(0);
    const d0 = histogram(before, 'gust_invocation_duration_seconds', 'hello');
    const d1 = histogram(after, 'gust_invocation_duration_seconds', 'hello');
    expect(d1.count - d0.count).toBe(3);
    expect(d1.sum).toBeGreaterThan(d0.sum);
    // what the records say, the metrics say: cold starts, init times and GB-s of the same calls
    const hello = await records(g, 'hello');
    const cold = hello.filter((r) => r.cold);
    expect(value(after, 'gust_cold_starts_total', { function: 'hello' })).toBe(cold.length);
    expect(histogram(after, 'gust_init_duration_seconds', 'hello').count).toBe(cold.length);
    const gbs = hello.reduce((n, r) => n + r.gbSeconds, 0);
    expect(value(after, 'gust_gb_seconds_total', { function: 'hello' })).toBeCloseTo(gbs, 9);
    // hello's instance is there, serving nothing now
    const running = value(after, 'gust_instances', { function: 'hello', state: 'running' });
    const idle = value(after, 'gust_instances', { function: 'hello', state: 'idle' });
    expect(running + idle).toBe(1);
  });

  it('counts an async invocation that fails: each attempt, the retry, and the dead letter sent', async () => {
    const before = await scrape(g, metricsKey);
    const accepted = await api(g, 'POST', '/functions/fails/invoke', { data: { n: 1 }, async: true });
    expect(accepted.status).toBe(202);
    // max 1 retry: two attempts, then the dead-letter topic, whose subscriber runs once
    await vi.waitFor(async () => {
      const now = await scrape(g, metricsKey);
      expect(value(now, 'gust_dead_letters_total', { function: 'fails', sent: 'true' })).toBe(
        value(before, 'gust_dead_letters_total', { function: 'fails', sent: 'true' }) + 1,
      );
      expect(
        value(now, 'gust_invocations_total', { function: 'letters', trigger: 'topic', status: 'ok' }),
      ).toBe(1);
    }, WAIT);
    const after = await scrape(g, metricsKey);
    const moved = (name: string, labels: Record<string, string>) =>
      value(after, name, labels) - value(before, name, labels);
    expect(moved('gust_invocations_total', { function: 'fails', trigger: 'invoke', status: 'error' })).toBe(
      2,
    );
    expect(moved('gust_retries_total', { function: 'fails' })).toBe(1);
    expect(moved('gust_dead_letters_total', { function: 'fails', sent: 'false' })).toBe(0);
    expect(value(after, 'gust_topic_subscription', { topic: 'dead', function: 'letters' })).toBe(1);
  });

  it('shows the events waiting in a queue and the age of the oldest, then the queue drained', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await api(g, 'POST', '/functions/held/invoke', { data: { i }, async: true })).status).toBe(202);
    }
    // one instance at most, held at the gate: all three are in the queue (one of them being run)
    await vi.waitFor(() => expect(door.arrived()).toBe(1), WAIT);
    const m = await scrape(g, metricsKey);
    expect(value(m, 'gust_queue_messages', { function: 'held' })).toBe(3);
    expect(value(m, 'gust_queue_oldest_message_age_seconds', { function: 'held' })).toBeGreaterThan(0);
    door.open();
    await vi.waitFor(async () => {
      const now = await scrape(g, metricsKey);
      expect(value(now, 'gust_queue_messages', { function: 'held' })).toBe(0);
      expect(value(now, 'gust_queue_oldest_message_age_seconds', { function: 'held' })).toBe(0);
      expect(
        value(now, 'gust_invocations_total', { function: 'held', trigger: 'invoke', status: 'ok' }),
      ).toBe(3);
    }, WAIT);
  });

  it('refuses a missing or bad key, and a key of another scope; takes an admin key', async () => {
    const missing = await call(g, '/_gust/metrics');
    expect(missing.status).toBe(401);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('UNAUTHORIZED');
    expect((await call(g, '/_gust/metrics', 'gust_AAAAAAAAAAAAAAAA_not-a-key')).status).toBe(401);
    for (const scope of ['invoke', 'deploy', 'storage']) {
      const { body } = await api<{ key: string }>(g, 'POST', '/keys', { scope });
      const refused = await call(g, '/_gust/metrics', body.key);
      expect(refused.status, scope).toBe(403);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('metrics');
    }
    expect((await call(g, '/_gust/metrics', g.key)).status).toBe(200);
    expect(
      (
        await fetch(`${g.url}/_gust/metrics`, {
          method: 'POST',
          headers: { authorization: `Bearer ${g.key}` },
        })
      ).status,
    ).toBe(405);
  });

  it('gives a metrics key nothing else: no invoking, no deploying, no reading functions, no publishing', async () => {
    const forbidden = [
      await api(g, 'POST', '/functions/hello/invoke', {}, metricsKey),
      await api(g, 'POST', '/deploy', { manifest: 'functions: {}', bundles: {} }, metricsKey),
      await api(g, 'GET', '/functions', undefined, metricsKey),
      await api(g, 'GET', '/keys', undefined, metricsKey),
    ];
    for (const r of forbidden) expect(r.status).toBe(403);
    expect((await call(g, '/guarded', metricsKey)).status).toBe(403);
    const published = await fetch(`${g.url}/_gust/events/dead`, {
      method: 'POST',
      headers: { authorization: `Bearer ${metricsKey}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(published.status).toBe(403);
  });

  it('has a Grafana dashboard whose every panel queries metrics the platform exports', async () => {
    const exported = new Set<string>();
    for (const [name, family] of Object.entries(await scrape(g, metricsKey))) {
      exported.add(name);
      if (family.type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
    }
    const dashboard = JSON.parse(
      await readFile(path.join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8'),
    ) as Dashboard;
    // what Grafana's import needs: a title, a schema version, a Prometheus data source to choose
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.__inputs?.[0]).toMatchObject({ type: 'datasource', pluginId: 'prometheus' });
    const variable = dashboard.templating.list.find((v) => v.type === 'datasource');
    expect(variable?.query).toBe('prometheus');
    const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThanOrEqual(8);
    const ids = new Set<number>();
    for (const panel of panels) {
      expect(ids.has(panel.id), `panel id ${panel.id} twice`).toBe(false);
      ids.add(panel.id);
      expect(panel.gridPos, panel.title).toBeDefined();
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        const names = target.expr.match(/\bgust_[a-z0-9_]+/g) ?? [];
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) expect(exported, `${panel.title}: ${name}`).toContain(name);
      }
    }
  });
});

interface Dashboard {
  title: string;
  schemaVersion: number;
  __inputs?: { type: string; pluginId: string }[];
  templating: { list: { type: string; query?: string }[] };
  panels: Panel[];
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos?: unknown;
  targets?: { expr: string }[];
  panels?: Panel[];
}

describe('metrics off', () => {
  it('answers 404 saying so, and the platform serves functions as usual', async () => {
    const g = await startGust({ env: { GUST_METRICS: 'off' } });
    try {
      await deployProject(g, {
        'gust.yaml': 'functions:\n  hi:\n    handler: hi.mjs\n    triggers:\n      - http: { path: /hi }\n',
        'hi.mjs': "export default async () => new Response('hi');",
      });
      expect((await call(g, '/hi')).status).toBe(200);
      const res = await call(g, '/_gust/metrics', g.key);
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain(
        'GUST_METRICS=off',
      );
    } finally {
      await g.stop();
    }
  });
});
