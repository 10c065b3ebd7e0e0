/** Functions: every deployed function with its triggers, version and instances now. */
import type { FunctionSummary } from '../api';
import { ago } from '../format';
import { useApi } from '../hooks';
import { Problem } from './parts';

export function FunctionsPage() {
  const { data, error } = useApi<{ functions: FunctionSummary[] }>('/functions', 5000);
  return (
    <>
      <h1>Functions</h1>
      <Problem error={error} />
      {data && data.functions.length === 0 && <p>No function is deployed: gust deploy DIR deploys one.</p>}
      {data && data.functions.length > 0 && (
        <div class="scroll">
          <table>
            <caption class="sr-only">Deployed functions</caption>
            <thead>
              <tr>
                <th scope="col">Function</th>
                <th scope="col">Project</th>
                <th scope="col">Version</th>
                <th scope="col">Triggers</th>
                <th scope="col">Instances</th>
                <th scope="col">Deployed</th>
              </tr>
            </thead>
            <tbody>
              {data.functions.map((f) => (
                <tr key={f.name}>
                  <th scope="row">
                    <a href={`#/functions/${f.name}`}>{f.name}</a>
                  </th>
                  <td>{f.project ?? '–'}</td>
                  <td>v{f.version}</td>
                  <td>
                    <Triggers f={f} />
                  </td>
                  <td>{f.instances}</td>
                  <td>{ago(f.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export function Triggers({ f }: { f: FunctionSummary }) {
  const list = f.triggers ?? f.routes;
  if (list.length === 0) return <span class="muted">none (invoke only)</span>;
  return (
    <ul class="plain">
      {list.map((t) => (
        <li key={t}>
          <code>{t}</code>
        </li>
      ))}
    </ul>
  );
}
