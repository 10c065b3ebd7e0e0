/** One function: what it is now, its last invocations, charts, queue, live logs, usage and deploys. */
import type { FunctionComponent } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import {
  api,
  type FunctionSummary,
  type InvocationRecord,
  type LatencySeries,
  type UsageReport,
  type Version,
  type VersionList,
} from '../api';
import { budgetUse, dollars, gbs, ms, time } from '../format';
import { useApi } from '../hooks';
import { Triggers } from './functions';
import { LiveLogs } from './logs';
import { Fact, InvocationTable, Problem, Section } from './parts';

interface Queue {
  waiting: number;
  leased: number;
  oldestMs: number;
}

export function FunctionPage({ name }: { name: string }) {
  const fn = useApi<FunctionSummary>(`/functions/${name}`, 5000);
  const recent = useApi<{ invocations: InvocationRecord[] }>(`/functions/${name}/invocations?limit=20`, 3000);
  const queue = useApi<Queue>(`/functions/${name}/queue`, 3000);
  const f = fn.data;
  return (
    <>
      <h1>
        <span class="muted">Function</span> {name}
      </h1>
      <Problem error={fn.error} />
      {f && (
        <Section id="now" title="Now">
          <dl class="facts">
            <Fact label="Version">v{f.version}</Fact>
            <Fact label="Instances">{f.instances}</Fact>
            <Fact label="Queue">
              {queue.data
                ? `${queue.data.waiting} waiting, ${queue.data.leased} running` +
                  (queue.data.oldestMs > 0 ? `, oldest ${ms(queue.data.oldestMs)}` : '')
                : '–'}
            </Fact>
            <Fact label="Runtime">
              {f.runtime}, {f.memoryMb} MB, {ms(f.timeoutMs)} timeout
            </Fact>
            <Fact label="Scale">
              {f.scale.min}–{f.scale.max} instances, {f.concurrency} at once each
            </Fact>
            {f.nextRun && <Fact label="Next run">{time(f.nextRun)}</Fact>}
            {f.budget && <Fact label={`Budget, ${f.budget.since.slice(0, 7)}`}>{budgetUse(f.budget)}</Fact>}
            <Fact label="Triggers">
              <Triggers f={f} />
            </Fact>
          </dl>
        </Section>
      )}
      <Charts name={name} />
      <Section id="recent" title="Last invocations">
        <Problem error={recent.error} />
        {recent.data && <InvocationTable records={recent.data.invocations} />}
      </Section>
      <LiveLogs name={name} />
      <FunctionUsage name={name} />
      <Versions name={name} onRollback={fn.reload} />
    </>
  );
}

type ChartsModule = { LatencyCharts: FunctionComponent<{ series: LatencySeries }> };

/** uPlot is loaded with the first chart, not with the page. */
function Charts({ name }: { name: string }) {
  const [window, setWindow] = useState('15m');
  const series = useApi<LatencySeries>(`/functions/${name}/latency?since=${window}&steps=30`, 10_000);
  const [mod, setMod] = useState<ChartsModule>();
  useEffect(() => {
    void import('../charts').then(setMod);
  }, []);
  return (
    <Section id="charts" title="Latency and cold starts">
      <label for="window">Window </label>
      <select id="window" value={window} onChange={(e) => setWindow(e.currentTarget.value)}>
        <option value="15m">last 15 minutes</option>
        <option value="1h">last hour</option>
        <option value="24h">last 24 hours</option>
        <option value="7d">last 7 days</option>
      </select>
      <Problem error={series.error} />
      {series.data && !series.data.complete && (
        <p class="muted">Only the newest {series.data.looked} records were read: older steps miss some.</p>
      )}
      {series.data && mod ? <mod.LatencyCharts series={series.data} /> : <p class="muted">Loading…</p>}
    </Section>
  );
}

function FunctionUsage({ name }: { name: string }) {
  const { data, error } = useApi<UsageReport>(`/usage?function=${name}&since=24h`, 15_000);
  const t = data?.total;
  return (
    <Section id="usage" title="Usage and cost, last 24 hours">
      <Problem error={error} />
      {t && (
        <dl class="facts">
          <div>
            <dt>Requests</dt>
            <dd>
              {t.requests} ({t.failed} failed)
            </dd>
          </div>
          <div>
            <dt>Cold starts</dt>
            <dd>{t.coldStarts}</dd>
          </div>
          <div>
            <dt>GB-s</dt>
            <dd>
              {gbs(t.gbSeconds)} (+ {gbs(t.warmGbSeconds)} kept warm)
            </dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd>{dollars(t.cost)}</dd>
          </div>
        </dl>
      )}
    </Section>
  );
}

/**
 * The question asked before a rollback. The active version's budget applies to every call, so it
 * says what the budget becomes, and when the month's use is past it, that calls will be refused.
 */
export function rollbackQuestion(name: string, to: Version, { versions, month }: VersionList): string {
  const ask = `Make v${to.version} the active version of ${name}?`;
  const from = versions.find((v) => v.active);
  if (from === undefined || from.budget === to.budget) return ask;
  if (to.budget === null) {
    return `${ask}\n\nv${to.version} has no budget: its calls are not capped (v${from.version}'s budget is ${from.budget} GB-s a month).`;
  }
  const was = from.budget === null ? 'none' : `${from.budget} GB-s`;
  const change = `v${to.version}'s budget is ${to.budget} GB-s a month (v${from.version}'s: ${was}) and ${gbs(month.used)} GB-s were used this month`;
  return month.used >= to.budget
    ? `${ask}\n\n${change}: its calls will be refused until ${month.resetsAt.slice(0, 10)}.`
    : `${ask}\n\n${change}.`;
}

function Versions({ name, onRollback }: { name: string; onRollback: () => void }) {
  const { data, error, reload } = useApi<VersionList>(`/functions/${name}/versions`);
  const [said, setSaid] = useState<string>();
  const budgeted = data?.versions.some((v) => v.budget !== null) ?? false;
  const rollback = async (to: Version) => {
    if (!data || !confirm(rollbackQuestion(name, to, data))) return;
    const v = to.version;
    try {
      await api(`/functions/${name}/rollback`, { method: 'POST', body: { version: v } });
      setSaid(`${name} now runs v${v}.`);
    } catch (e) {
      setSaid(`Rollback refused: ${(e as Error).message}`);
    }
    reload();
    onRollback();
  };
  return (
    <Section id="versions" title="Deploy history">
      <Problem error={error} />
      <p role="status">{said}</p>
      {data && (
        <div class="scroll">
          <table>
            <caption class="sr-only">Versions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Deployed</th>
                <th scope="col">Bundle</th>
                {budgeted && <th scope="col">Budget a month</th>}
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {[...data.versions].reverse().map((v) => (
                <tr key={v.version}>
                  <th scope="row">v{v.version}</th>
                  <td>{time(v.createdAt)}</td>
                  <td>
                    <code>{v.hash.slice(0, 12)}</code>
                  </td>
                  {budgeted && <td class="num">{v.budget === null ? 'none' : `${v.budget} GB-s`}</td>}
                  <td>
                    {v.active ? (
                      <strong>active</strong>
                    ) : (
                      <button type="button" onClick={() => void rollback(v)}>
                        Roll back to v{v.version}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
