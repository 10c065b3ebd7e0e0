/**
 * Metrics alone: what each record, retry, dead letter and refusal adds, and the states read at
 * scrape time, through the exposition text a real parser reads (the platform's own path is
 * test/e2e/metrics.test.ts).
 */
import { getMetricsFromIterator, type PromHistogramData, type PromMetrics } from 'prom2javascript';
import { describe, expect, it } from 'vitest';
import type { InvocationRecord } from '../../src/backends/ports.js';
import { Metrics, type Snapshot } from '../../src/observe/metrics.js';
import { aRecord } from '../helpers/records.js';

function record(fields: Partial<InvocationRecord>): InvocationRecord {
  return aRecord({
    id: 'i',
    instance: 'x',
    durationMs: 20,
    billedMs: 20,
    memoryMb: 1024,
    gbSeconds: 0.02,
    ...fields,
  });
}

const EMPTY: Snapshot = {
  instances: () => [],
  stemCells: () => [],
  queues: async () => [],
  subscriptions: () => [],
  functions: () => [],
  budgets: () => [],
  budgetRejections: () => new Map(),
};

async function read(metrics: Metrics): Promise<PromMetrics> {
  return getMetricsFromIterator((await metrics.text()).split('\n')[Symbol.iterator]());
}

function value(m: PromMetrics, name: string, labels: Record<string, string>): number | undefined {
  const samples = (m[name]?.data ?? []) as { labels: Record<string, string>; value: number }[];
  return samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('Metrics', () => {
  it('counts each record once by function, trigger and status, and times only the calls that ran', async () => {
    const metrics = new Metrics(EMPTY);
    metrics.recorded(record({ cold: true, initMs: 30 }));
    metrics.recorded(record({}));
    metrics.recorded(record({ trigger: 'topic', status: 'error' }));
    metrics.recorded(
      record({
        function: 'g',
        status: 'throttled',
        durationMs: 0,
        billedMs: 0,
        gbSeconds: 0,
        instance: null,
      }),
    );
    metrics.recorded(
      record({ function: 'g', status: 'rejected', durationMs: 0, billedMs: 0, gbSeconds: 0, instance: null }),
    );
    const m = await read(metrics);
    expect(value(m, 'gust_invocations_total', { function: 'f', trigger: 'http', status: 'ok' })).toBe(2);
    expect(value(m, 'gust_invocations_total', { function: 'f', trigger: 'topic', status: 'error' })).toBe(1);
    expect(value(m, 'gust_invocations_total', { function: 'g', trigger: 'http', status: 'throttled' })).toBe(
      1,
    );
    expect(value(m, 'gust_invocations_total', { function: 'g', trigger: 'http', status: 'rejected' })).toBe(
      1,
    );
    expect(value(m, 'gust_throttles_total', { function: 'g', reason: 'capacity' })).toBe(1);
    expect(value(m, 'gust_cold_starts_total', { function: 'f' })).toBe(1);
    expect(value(m, 'gust_gb_seconds_total', { function: 'f' })).toBeCloseTo(0.06, 12);
    const durations = m.gust_invocation_duration_seconds?.data as PromHistogramData[];
    // g's calls never ran: its histogram is there, empty
    expect(durations.map((d) => [d.labels.function, d.count])).toEqual([
      ['f', 3],
      ['g', 0],
    ]);
    expect(durations[0]?.sum).toBeCloseTo(0.06, 12);
    const inits = m.gust_init_duration_seconds?.data as PromHistogramData[];
    expect(inits.map((d) => [d.labels.function, d.count, d.sum])).toEqual([
      ['f', 1, 0.03],
      ['g', 0, 0],
    ]);
  });

  it('counts retries, dead letters sent or dropped, full queues and warm GB-s where they are told', async () => {
    const metrics = new Metrics(EMPTY);
    metrics.retried('f');
    metrics.retried('f');
    metrics.gaveUp('f', true);
    metrics.gaveUp('g', false);
    metrics.queueFull('f', 3);
    metrics.warmMetered(new Map([['w', 0.5]]));
    metrics.warmMetered(new Map([['w', 0.25]]));
    const m = await read(metrics);
    expect(value(m, 'gust_retries_total', { function: 'f' })).toBe(2);
    expect(value(m, 'gust_dead_letters_total', { function: 'f', sent: 'true' })).toBe(1);
    expect(value(m, 'gust_dead_letters_total', { function: 'g', sent: 'false' })).toBe(1);
    expect(value(m, 'gust_throttles_total', { function: 'f', reason: 'queue_full' })).toBe(3);
    expect(value(m, 'gust_warm_gb_seconds_total', { function: 'w' })).toBe(0.75);
  });

  it('reads instances, stem cells and queues at each scrape, and forgets what is gone', async () => {
    let instances = [{ function: 'f', running: 2, idle: 1, starting: 1 }];
    let queues = [{ function: 'f', messages: 7, oldestMs: 1500 }];
    const metrics = new Metrics({
      ...EMPTY,
      instances: () => instances,
      stemCells: () => [{ memoryMb: 128, ready: 2, starting: 0 }],
      queues: async () => queues,
      subscriptions: () => [{ topic: 'orders', functions: ['f'] }],
      functions: () => ['f', 'g'],
    });
    let m = await read(metrics);
    expect(value(m, 'gust_instances', { function: 'f', state: 'running' })).toBe(2);
    expect(value(m, 'gust_instances', { function: 'f', state: 'idle' })).toBe(1);
    expect(value(m, 'gust_instances', { function: 'f', state: 'starting' })).toBe(1);
    expect(value(m, 'gust_stem_cells', { memory_mb: '128', state: 'ready' })).toBe(2);
    expect(value(m, 'gust_queue_messages', { function: 'f' })).toBe(7);
    expect(value(m, 'gust_queue_oldest_message_age_seconds', { function: 'f' })).toBe(1.5);
    expect(value(m, 'gust_queue_messages', { function: 'g' })).toBe(0); // deployed, queue empty
    expect(value(m, 'gust_topic_subscription', { topic: 'orders', function: 'f' })).toBe(1);
    instances = [];
    queues = [];
    m = await read(metrics);
    expect(value(m, 'gust_instances', { function: 'f', state: 'running' })).toBeUndefined();
    expect(value(m, 'gust_queue_messages', { function: 'f' })).toBe(0);
  });

  it('reads each budget, its use this month and the calls it refused at each scrape', async () => {
    const month = { since: '2026-11-01T00:00:00.000Z', resetsAt: '2026-12-01T00:00:00.000Z' };
    let budgets = [{ function: 'f', gbSeconds: 1000, used: 412.5, exceeded: false, ...month }];
    const rejections = new Map([['f', 3]]);
    const metrics = new Metrics({ ...EMPTY, budgets: () => budgets, budgetRejections: () => rejections });
    let m = await read(metrics);
    expect(value(m, 'gust_budget_gb_seconds', { function: 'f' })).toBe(1000);
    expect(value(m, 'gust_budget_used_gb_seconds', { function: 'f' })).toBe(412.5);
    expect(value(m, 'gust_budget_rejections_total', { function: 'f' })).toBe(3);
    budgets = []; // its budget removed by a deploy
    rejections.set('f', 4);
    m = await read(metrics);
    expect(value(m, 'gust_budget_gb_seconds', { function: 'f' })).toBeUndefined();
    expect(value(m, 'gust_budget_used_gb_seconds', { function: 'f' })).toBeUndefined();
    expect(value(m, 'gust_budget_rejections_total', { function: 'f' })).toBe(4);
  });

  it('leaves out a sample prom-client would write as Nan (no event-loop measurement since the last scrape)', async () => {
    const metrics = new Metrics(EMPTY);
    const texts = [await metrics.text(), await metrics.text()];
    for (const text of texts) expect(text).not.toMatch(/ Nan$/m);
  });
});
