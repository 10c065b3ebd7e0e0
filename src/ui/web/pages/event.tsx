/** What an invocation got (its event, or its HTTP request), as kept for replay: collapsed JSON. */
import { useApi } from '../hooks';
import { Section } from './parts';

interface KeptEvent {
  kind: 'event' | 'http';
  bytes: number;
  kept: boolean;
  event?: unknown;
  request?: unknown;
}

export function EventSection({ id }: { id: string }) {
  const { data, error } = useApi<KeptEvent>(`/invocations/${id}/event`);
  const what = data?.kind === 'http' ? 'Request' : 'Event';
  return (
    <Section id="event" title="Event">
      {error !== undefined && <p class="muted">{error}</p>}
      {data && !data.kept && (
        <p class="muted">
          {what} of {data.bytes} bytes: over the size kept for replay, so only its size is kept.
        </p>
      )}
      {data?.kept && (
        <details>
          <summary>
            {what} of {data.bytes} bytes (<code>gust replay {id}</code> runs it again)
          </summary>
          <pre class="logs">{JSON.stringify(data.event ?? data.request, null, 2)}</pre>
        </details>
      )}
    </Section>
  );
}
