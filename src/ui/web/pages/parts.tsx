/** parts: small pieces the pages share. */
import type { ComponentChildren } from 'preact';
import type { InvocationRecord } from '../api';
import { ms, shortId, startOf, time } from '../format';

export function Problem({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Section({ id, title, children }: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section class="card" aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export function Fact({ label, children }: { label: string; children: ComponentChildren }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>{children}</dd>
    </div>
  );
}

export function Status({ status }: { status: string }) {
  return <span class={`status status-${status === 'ok' ? 'ok' : 'bad'}`}>{status}</span>;
}

export function InvocationTable({ records }: { records: InvocationRecord[] }) {
  if (records.length === 0) return <p class="muted">No invocation yet.</p>;
  return (
    <div class="scroll">
      <table>
        <caption class="sr-only">Last invocations, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Invocation</th>
            <th scope="col">Started</th>
            <th scope="col">Status</th>
            <th scope="col">Start</th>
            <th scope="col">Duration</th>
            <th scope="col">Trigger</th>
            <th scope="col">Version</th>
          </tr>
        </thead>
        <tbody>
          {records.map((r) => (
            <tr key={`${r.id}.${r.attempt}`}>
              <th scope="row">
                <a href={`#/invocations/${r.id}`} aria-label={`Invocation ${r.id}`}>
                  <code>{shortId(r.id)}</code>
                </a>
              </th>
              <td>{time(r.start)}</td>
              <td>
                <Status status={r.status} />
              </td>
              <td>{startOf(r)}</td>
              <td class="num">{ms(r.durationMs)}</td>
              <td>{r.trigger}</td>
              <td>v{r.version}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * A waterfall: its caption above it, then a table of `columns`, Start, Duration and the bars
 * (`children`: its rows). The caption is not the table's `<caption>`: in a table wider than a phone,
 * that would be as wide as the table and scrolled out of sight with it.
 */
export function WaterfallTable({
  id,
  caption,
  columns,
  children,
}: {
  id: string;
  caption: ComponentChildren;
  columns: readonly string[];
  children: ComponentChildren;
}) {
  return (
    <>
      <p id={id} class="caption">
        {caption}
      </p>
      <div class="scroll">
        <table class="waterfall" aria-labelledby={id}>
          <thead>
            <tr>
              {[...columns, 'Start', 'Duration'].map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
              <th scope="col" class="bar-col">
                <span class="sr-only">Timeline</span>
              </th>
            </tr>
          </thead>
          <tbody>{children}</tbody>
        </table>
      </div>
    </>
  );
}
