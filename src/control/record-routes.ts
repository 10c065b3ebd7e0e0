/**
 * record-routes: the control API's reads of invocation records: a function's records a page at a
 * time, one record, a trace's records, and logs. Each reads after the records made so far are
 * written (`flushed`), so what it shows is never behind what was answered.
 */
import type { InvocationStatus } from '../backends/ports.js';
import { GustError } from '../errors.js';
import type { ControlApiDeps, Route } from './api.js';
import { clip, intParam, timeParam } from './params.js';

const STATUSES: readonly (InvocationStatus | 'failed')[] = [
  'ok',
  'error',
  'timeout',
  'crashed',
  'throttled',
  'rejected',
  'failed',
];

export function recordRoutes(
  deps: ControlApiDeps,
  flushed: <T>(read: () => Promise<T>) => Promise<T>,
): Route[] {
  const { control } = deps;
  return [
    [
      'GET',
      '/functions/:name/invocations',
      'deploy',
      async ({ params, query }) => {
        const name = params.name!;
        const status = query.get('status') ?? undefined;
        if (status !== undefined && !STATUSES.includes(status as InvocationStatus | 'failed')) {
          throw new GustError('BAD_REQUEST', `status must be one of ${STATUSES.join(', ')}`);
        }
        const trigger = query.get('trigger') ?? undefined;
        if (trigger !== undefined && !/^[a-z][a-z-]{0,30}$/.test(trigger)) {
          throw new GustError('BAD_REQUEST', 'trigger must be a trigger name, like http, invoke or schedule');
        }
        const since = timeParam(query, 'since');
        const until = timeParam(query, 'until');
        const cursor = query.get('cursor') ?? undefined;
        const limit = intParam(query, 'limit', { fallback: 20, max: 1000 });
        const page = await flushed(() =>
          deps.invocations
            .list({
              function: name,
              limit,
              ...(status ? { status: status as InvocationStatus | 'failed' } : {}),
              ...(trigger ? { trigger } : {}),
              ...(since ? { since } : {}),
              ...(until ? { until } : {}),
              ...(cursor === undefined ? {} : { cursor }),
            })
            .catch((e: unknown) => {
              if (e instanceof RangeError) {
                throw new GustError(
                  'BAD_REQUEST',
                  'cursor is not one this platform gave: pass it back as it came',
                );
              }
              throw e;
            }),
        );
        // The records of a removed function stay readable; a name never deployed is an error.
        if (page.records.length === 0 && cursor === undefined) await control.need(name);
        return { invocations: page.records, cursor: page.cursor };
      },
    ],
    [
      'GET',
      '/invocations/:id',
      'deploy',
      ({ params }) =>
        flushed(async () => {
          const record = await deps.invocations.get(params.id!);
          if (!record) throw new GustError('NOT_FOUND', `no invocation ${params.id}`);
          return record;
        }),
    ],
    [
      'GET',
      '/traces/:id',
      'deploy',
      ({ params, query }) =>
        flushed(async () => {
          const traceId = params.id!;
          if (!/^[\da-f]{32}$/.test(traceId)) {
            throw new GustError(
              'BAD_REQUEST',
              `a trace id is 32 lowercase hex digits, as a record's traceId`,
            );
          }
          const around = query.get('invocation') ?? undefined;
          const limit = intParam(query, 'limit', { fallback: 200, max: 1000 });
          const found = await deps.invocations.trace({ traceId, limit, ...(around ? { around } : {}) });
          if (found.records.length === 0) throw new GustError('NOT_FOUND', `no record of trace ${traceId}`);
          return { traceId, ...found };
        }),
    ],
    [
      'GET',
      '/functions/:name/logs',
      'deploy',
      async ({ params, query }) => {
        const name = params.name!;
        const invocation = query.get('invocation') ?? undefined;
        const after = query.has('after')
          ? intParam(query, 'after', { fallback: 0, min: 0, max: Number.MAX_SAFE_INTEGER })
          : undefined;
        const { entries, cursor } = await flushed(() =>
          deps.invocations.logs({
            function: name,
            limit: intParam(query, 'limit', { fallback: 50, max: 1000 }),
            ...(invocation ? { invocation } : {}),
            ...(after === undefined ? {} : { after }),
          }),
        );
        if (invocation !== undefined && entries.length === 0 && after === undefined) {
          throw new GustError(
            'NOT_FOUND',
            `no invocation ${clip(invocation)} of ${name}: gust invocations ${name} lists them`,
          );
        }
        // As for records: the logs of a removed function stay readable.
        if (entries.length === 0 && after === undefined) await control.need(name);
        return { logs: entries, cursor };
      },
    ],
  ];
}
