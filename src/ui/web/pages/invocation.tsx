/** One invocation: its record, its timing and its trace as waterfalls, its logs and error, its event if kept. */
import type { InvocationRecord } from '../api';
import { gbs, ms, startOf, time } from '../format';
import { useApi } from '../hooks';
import { EventSection } from './event';
import { Fact, Problem, Section, Status, WaterfallTable } from './parts';
import { TraceWaterfall } from './trace';

export function InvocationPage({ id }: { id: string }) {
  const { data: r, error } = useApi<InvocationRecord>(`/invocations/${id}`);
  return (
    <>
      <h1>
        <span class="muted">Invocation</span> <code class="id">{id}</code>
      </h1>
      <Problem error={error} />
      {r && (
        <>
          <Section id="record" title="Record">
            <dl class="facts">
              <Fact label="Function">
                <a href={`#/functions/${r.function}`}>{r.function}</a> v{r.version}
              </Fact>
              <Fact label="Status">
                <Status status={r.status} />
              </Fact>
              <Fact label="Started">{time(r.start)}</Fact>
              <Fact label="Trigger">
                {r.trigger}
                {r.replayOf && (
                  <>
                    {' of '}
                    <a href={`#/invocations/${r.replayOf}`}>{r.replayOf}</a>
                  </>
                )}
              </Fact>
              <Fact label="Start">
                {r.cold && r.billedMs > 0 ? `cold (init ${ms(r.initMs)})` : startOf(r)}
              </Fact>
              <Fact label="Billed">
                {r.billedMs === 0
                  ? 'nothing: it did not run'
                  : `${ms(r.billedMs)} at ${r.memoryMb} MB (${gbs(r.gbSeconds)} GB-s)`}
              </Fact>
              <Fact label="Attempt">{r.attempt}</Fact>
              <Fact label="Instance">{r.instance ?? '–'}</Fact>
              <Fact label="Trace">
                <code>{r.traceId}</code>
              </Fact>
            </dl>
          </Section>
          <Section id="timing" title="Timing">
            <Waterfall r={r} />
          </Section>
          <Section id="trace" title="Trace">
            <TraceWaterfall record={r} />
          </Section>
          <Section id="inv-logs" title="Logs">
            {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must be reachable by keyboard */}
            <pre class="logs" tabIndex={0}>
              {r.logs || 'No log lines.'}
            </pre>
            {r.error && (
              <>
                <h3>Error</h3>
                <pre class="logs bad">{r.stack ?? r.error}</pre>
              </>
            )}
          </Section>
          <EventSection id={id} />
        </>
      )}
    </>
  );
}

interface Span {
  name: string;
  from: number;
  ms: number;
  kind: string;
}

/**
 * From the record's fields: the wait from arrival to an instance (queuedMs), which holds the cold
 * start when there was one (initMs, at its end), then the run (durationMs).
 */
export function spans(r: InvocationRecord): Span[] {
  const out: Span[] = [{ name: 'queued', from: 0, ms: r.queuedMs, kind: 'wait' }];
  if (r.cold && r.initMs > 0) {
    const init = Math.min(r.initMs, r.queuedMs || r.initMs);
    out.push({ name: 'cold start (init)', from: Math.max(0, r.queuedMs - init), ms: init, kind: 'init' });
  }
  out.push({ name: 'run', from: r.queuedMs, ms: r.durationMs, kind: 'run' });
  return out;
}

function Waterfall({ r }: { r: InvocationRecord }) {
  const list = spans(r);
  const total = Math.max(1, ...list.map((s) => s.from + s.ms));
  const caption = (
    <>
      From arrival to answer: {ms(r.queuedMs + r.durationMs)} (trace <code>{r.traceId.slice(0, 16)}</code>)
    </>
  );
  return (
    <WaterfallTable id="timing-caption" caption={caption} columns={['Span']}>
      {list.map((s) => (
        <tr key={s.name}>
          <th scope="row">{s.name}</th>
          <td class="num">+{ms(s.from)}</td>
          <td class="num">{ms(s.ms)}</td>
          <td class="bar-col" aria-hidden="true">
            <span
              class={`bar bar-${s.kind}`}
              style={{
                marginLeft: `${(s.from / total) * 100}%`,
                width: `${Math.max(0.5, (s.ms / total) * 100)}%`,
              }}
            />
          </td>
        </tr>
      ))}
    </WaterfallTable>
  );
}
