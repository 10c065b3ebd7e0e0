/**
 * trace: the invocations of one trace as a waterfall: each a row under the one that caused it
 * (its parent span), placed on one time axis from the trace's first arrival, its wait and run as
 * bars. The one being looked at is marked; the others link to their own page.
 */
import type { InvocationRecord, TraceRecords } from '../api';
import { ms, shortId } from '../format';
import { useApi } from '../hooks';
import { Problem, Status, WaterfallTable } from './parts';

interface Row {
  readonly r: InvocationRecord;
  readonly depth: number;
}

/** Depth first from the roots (records whose parent is not in the trace), children by start. */
export function treeOf(records: readonly InvocationRecord[]): Row[] {
  const spans = new Set(records.map((r) => r.spanId).filter((s) => s !== null));
  const children = new Map<string | null, InvocationRecord[]>();
  for (const r of records) {
    const parent = r.parentSpanId !== null && spans.has(r.parentSpanId) ? r.parentSpanId : null;
    children.set(parent, [...(children.get(parent) ?? []), r]);
  }
  const rows: Row[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      rows.push({ r, depth });
      // a record without a span id (made before Gust kept them) has no children to show
      if (r.spanId !== null && depth < 32) walk(r.spanId, depth + 1);
    }
  };
  walk(null, 0);
  return rows;
}

export function TraceWaterfall({ record }: { record: InvocationRecord }) {
  const { data, error } = useApi<TraceRecords>(`/traces/${record.traceId}?invocation=${record.id}`);
  if (error) return <Problem error={error} />;
  if (!data) return <p class="muted">Loading the trace…</p>;
  const rows = treeOf(data.records);
  const t0 = Math.min(...data.records.map((r) => Date.parse(r.start)));
  const end = Math.max(...data.records.map((r) => Date.parse(r.start) - t0 + r.queuedMs + r.durationMs));
  const total = Math.max(1, end);
  const pct = (v: number) => `${(v / total) * 100}%`;
  const caption = (
    <>
      Trace <code>{record.traceId}</code>: {rows.length} invocation{rows.length === 1 ? '' : 's'} over{' '}
      {ms(end)}
      {data.complete ? '' : ' (the first ones only)'}
    </>
  );
  return (
    <WaterfallTable id="trace-caption" caption={caption} columns={['Invocation', 'Status']}>
      {rows.map(({ r, depth }) => {
        const from = Date.parse(r.start) - t0;
        const here = r.id === record.id && r.attempt === record.attempt;
        const label = `${r.function}${r.attempt > 1 ? ` (attempt ${r.attempt})` : ''}`;
        return (
          <tr
            key={`${r.id}/${r.attempt}`}
            aria-current={here ? 'true' : undefined}
            class={here ? 'here' : ''}
          >
            <th scope="row" style={{ paddingLeft: `${depth * 16 + 4}px` }}>
              {here ? (
                <strong>{label}</strong>
              ) : (
                <a href={`#/invocations/${r.id}`} aria-label={`Invocation ${r.id} of ${r.function}`}>
                  {label}
                </a>
              )}{' '}
              <span class="muted">
                {r.trigger} {shortId(r.id)}
              </span>
            </th>
            <td>
              <Status status={r.status} />
            </td>
            <td class="num">+{ms(from)}</td>
            <td class="num">{ms(r.queuedMs + r.durationMs)}</td>
            <td class="bar-col" aria-hidden="true">
              <span class="bars">
                <span style={{ width: pct(from) }} />
                <span class="bar bar-wait" style={{ width: pct(r.queuedMs) }} />
                <span class="bar bar-run" style={{ width: pct(Math.max(r.durationMs, total / 200)) }} />
              </span>
            </td>
          </tr>
        );
      })}
    </WaterfallTable>
  );
}
