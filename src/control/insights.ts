/**
 * insights: read-only views the dashboard needs that no other endpoint gives: a function's latency
 * percentiles and cold starts over time (computed in SQL over its newest records, so the work is
 * bounded on a busy function) and its queue. Both are deploy-scope reads, like the records.
 */
import type { InvocationStore, QueueDepth } from '../backends/ports.js';
import { GustError } from '../errors.js';
import type { Recorder } from '../observe/records.js';
import type { Route } from './api.js';
import type { FunctionControl } from './functions.js';
import { intParam, timeParam } from './params.js';

export interface InsightDeps {
  readonly control: Pick<FunctionControl, 'need'>;
  readonly invocations: Pick<InvocationStore, 'latency'>;
  readonly recorder: Pick<Recorder, 'flush'>;
  readonly deliveries: { depth(name: string): Promise<QueueDepth> };
}

/** Records looked at per latency series at most: about 20 ms of SQLite here. */
export const LATENCY_MAX_RECORDS = 10_000;
const MAX_WINDOW_MS = 7 * 86_400_000;

export interface LatencyPoint {
  /** Start of the step (ISO). */
  readonly at: string;
  /** Calls that ran, and of those the failed ones. */
  readonly count: number;
  readonly errors: number;
  /** Calls that never ran (throttled, refused): in no percentile nor ratio, which they would skew. */
  readonly notRun: number;
  /** Cold starts / count; null for a step where no call ran, as are the percentiles. */
  readonly coldRatio: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

export function insightRoutes(deps: InsightDeps): Route[] {
  return [
    [
      'GET',
      '/functions/:name/latency',
      'deploy',
      async ({ params, query }) => {
        const name = params.name!;
        const until = timeParam(query, 'until') ?? new Date().toISOString();
        const since = timeParam(query, 'since') ?? new Date(Date.parse(until) - 3_600_000).toISOString();
        const span = Date.parse(until) - Date.parse(since);
        if (span <= 0 || span > MAX_WINDOW_MS) {
          throw new GustError('BAD_REQUEST', 'since must be before until, and at most 7 days before it');
        }
        const count = intParam(query, 'steps', { fallback: 30, max: 240 });
        const stepMs = Math.ceil(span / count);
        await deps.control.need(name);
        await deps.recorder.flush(); // what was answered is counted
        const { steps, looked, complete } = await deps.invocations.latency({
          function: name,
          since,
          until,
          stepMs,
          maxRecords: LATENCY_MAX_RECORDS,
        });
        const byStep = new Map(steps.map((s) => [s.step, s]));
        const points: LatencyPoint[] = Array.from({ length: count }, (_, i) => {
          const s = byStep.get(i);
          return {
            at: new Date(Date.parse(since) + i * stepMs).toISOString(),
            count: s?.count ?? 0,
            errors: s?.errors ?? 0,
            notRun: s?.notRun ?? 0,
            coldRatio: s && s.count > 0 ? s.cold / s.count : null,
            p50: s?.p50 ?? null,
            p90: s?.p90 ?? null,
            p99: s?.p99 ?? null,
          };
        });
        // not complete: the older steps miss records (only the newest were read)
        return { function: name, since, until, stepMs, looked, complete, points };
      },
    ],
    [
      'GET',
      '/functions/:name/queue',
      'deploy',
      async ({ params }) => {
        const name = params.name!;
        await deps.control.need(name);
        return { function: name, ...(await deps.deliveries.depth(name)) };
      },
    ],
  ];
}
