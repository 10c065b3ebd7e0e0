/**
 * charts: latency percentiles and the cold-start ratio over time, drawn by uPlot (loaded on demand),
 * of the calls that ran; those that never ran (throttled, refused) are only counted in the summary.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot, { type AlignedData, type Options } from 'uplot';
import type { LatencySeries } from './api';
import { ms, percent } from './format';

export function LatencyCharts({ series }: { series: LatencySeries }) {
  const times = series.points.map((p) => Date.parse(p.at) / 1000);
  const latency: AlignedData = [
    times,
    series.points.map((p) => p.p50),
    series.points.map((p) => p.p90),
    series.points.map((p) => p.p99),
  ];
  const cold: AlignedData = [
    times,
    series.points.map((p) => (p.coldRatio === null ? null : p.coldRatio * 100)),
    series.points.map((p) => p.count),
  ];
  const calls = series.points.reduce((n, p) => n + p.count, 0);
  const p99s = series.points.flatMap((p) => (p.p99 === null ? [] : [p.p99]));
  const colds = series.points.reduce((n, p) => n + (p.coldRatio ?? 0) * p.count, 0);
  const notRun = series.points.reduce((n, p) => n + p.notRun, 0);
  // calls that never ran (throttled, refused) have no latency nor start to count: said apart
  const apart =
    notRun === 0 ? '' : ` ${plural(notRun, 'more call')} never ran (throttled or refused): not counted.`;
  const none = 'No call ran in this window.';
  return (
    <div class="charts">
      <Chart
        title="Latency (queued + run), ms"
        summary={
          (calls === 0
            ? none
            : `${plural(calls, 'call')}; p99 from ${ms(Math.min(...p99s))} to ${ms(Math.max(...p99s))}.`) +
          apart
        }
        data={latency}
        series={[
          { label: 'p50', stroke: '#1d4ed8', width: 2 },
          { label: 'p90', stroke: '#b45309', width: 2 },
          { label: 'p99', stroke: '#b91c1c', width: 2 },
        ]}
      />
      <Chart
        title="Cold starts, % of calls"
        summary={
          (calls === 0 ? none : `${percent(colds / calls)} of ${plural(calls, 'call')} started cold.`) + apart
        }
        data={cold}
        series={[
          { label: 'cold %', stroke: '#6d28d9', width: 2, fill: 'rgba(109, 40, 217, 0.08)' },
          { label: 'calls', stroke: '#047857', width: 1, scale: 'calls' },
        ]}
      />
    </div>
  );
}

function Chart({
  title,
  summary,
  data,
  series,
}: {
  title: string;
  summary: string;
  data: AlignedData;
  series: uPlot.Series[];
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = box.current!;
    const opts: Options = {
      width: el.clientWidth || 320,
      height: 200,
      series: [{}, ...series],
      axes: [{}, {}, ...(series.some((s) => s.scale === 'calls') ? [{ scale: 'calls', side: 1 }] : [])],
      scales: { x: { time: true } },
      legend: { live: false },
    };
    plot.current = new uPlot(opts, data, el);
    const resize = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth, height: 200 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // deps: one chart per mount; data changes below
  }, []);
  useEffect(() => plot.current?.setData(data), [data]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} role="img" aria-label={`${title}. ${summary}`} />
      <p class="muted small">{summary}</p>
    </figure>
  );
}

/** `1 call`, `2 calls`. */
const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
