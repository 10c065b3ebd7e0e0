/** Live logs: the function's logs API polled from a cursor, the newest lines kept. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type LogEntry } from '../api';
import { shortId } from '../format';
import { useEvery } from '../hooks';
import { Problem, Section } from './parts';

const KEEP = 500;

export function LiveLogs({ name }: { name: string }) {
  const [lines, setLines] = useState<{ key: string; text: string; bad: boolean }[]>([]);
  const [error, setError] = useState<string>();
  const [paused, setPaused] = useState(false);
  const cursor = useRef<number | undefined>(undefined);
  const busy = useRef(false);
  const poll = () => {
    if (busy.current || paused) return;
    busy.current = true;
    const after = cursor.current === undefined ? '' : `&after=${cursor.current}`;
    api<{ logs: LogEntry[]; cursor: number }>(`/functions/${name}/logs?limit=100${after}`)
      .then(({ logs, cursor: next }) => {
        cursor.current = next;
        setError(undefined);
        if (logs.length === 0) return;
        const added = logs.flatMap((e) => toLines(e));
        setLines((old) => [...old, ...added].slice(-KEEP));
      })
      .catch((e: Error) => setError(e.message))
      .finally(() => {
        busy.current = false;
      });
  };
  // deps: a new function starts afresh
  useEffect(() => {
    cursor.current = undefined;
    setLines([]);
    poll();
  }, [name]);
  useEvery(2000, poll);
  return (
    <Section id="logs" title="Live logs">
      <button type="button" aria-pressed={paused} onClick={() => setPaused(!paused)}>
        {paused ? 'Resume' : 'Pause'}
      </button>
      <Problem error={error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a region that scrolls must be reachable by keyboard */}
      <pre class="logs" role="log" aria-live="polite" aria-label={`Logs of ${name}`} tabIndex={0}>
        {lines.length === 0 ? 'No log lines yet.' : null}
        {lines.map((l) => (
          <span key={l.key} class={l.bad ? 'bad' : undefined}>
            {l.text}
            {'\n'}
          </span>
        ))}
      </pre>
    </Section>
  );
}

function toLines(e: LogEntry): { key: string; text: string; bad: boolean }[] {
  const text = [
    ...e.logs.split('\n').filter((l) => l !== ''),
    ...(e.error ? [`${e.status}: ${e.error}`] : []),
  ];
  return text.map((t, i) => ({
    key: `${e.invocation}.${e.start}.${i}`,
    text: `${shortId(e.invocation)} ${t}`, // lines carry their own time and level
    bad: e.error !== null && i === text.length - 1,
  }));
}
