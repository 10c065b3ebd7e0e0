/**
 * Usage: requests, GB-s and cost per function over a window, under the platform's price plan (said
 * above the table). With budgets, a Budget column; a function with a budget and no call in the window
 * gets a row of zeros, so that its budget shows (as in `gust usage`).
 */
import { useState } from 'preact/hooks';
import type { Budget, UsageReport, UsageRow } from '../api';
import { budgetUse, dollars, gbs, ms, pricePlanText, withBudgetRows } from '../format';
import { useApi } from '../hooks';
import { Problem } from './parts';

export function UsagePage() {
  const [since, setSince] = useState('24h');
  const { data, error } = useApi<UsageReport>(`/usage?since=${since}&by=function`, 15_000);
  const budgets = new Map((data?.budgets ?? []).map((b) => [b.function, b]));
  const month = data?.budgets?.[0]?.since.slice(0, 7);
  const rows = withBudgetRows(data?.rows ?? [], budgets.keys());
  return (
    <>
      <h1>Usage and cost</h1>
      <label for="since">Window </label>
      <select id="since" value={since} onChange={(e) => setSince(e.currentTarget.value)}>
        <option value="1h">last hour</option>
        <option value="24h">last 24 hours</option>
        <option value="7d">last 7 days</option>
        <option value="30d">last 30 days</option>
      </select>
      <Problem error={error} />
      {data && <p>Costs at {pricePlanText(data.prices)}.</p>}
      {data && (
        <div class="scroll">
          <table>
            <caption class="sr-only">Usage per function</caption>
            <thead>
              <tr>
                <th scope="col">Function</th>
                <th scope="col">Requests</th>
                <th scope="col">Failed</th>
                <th scope="col">Cold starts</th>
                <th scope="col">Billed</th>
                <th scope="col">GB-s</th>
                <th scope="col">Warm GB-s</th>
                <th scope="col">Cost</th>
                {month && <th scope="col">Budget, {month}</th>}
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <Row
                  key={row.key}
                  row={row}
                  link
                  budget={month ? (budgets.get(row.key) ?? null) : undefined}
                />
              ))}
            </tbody>
            <tfoot>
              <Row row={{ ...data.total, key: 'Total' }} budget={month ? null : undefined} />
            </tfoot>
          </table>
        </div>
      )}
    </>
  );
}

/** `budget`: undefined without a budget column; null for a row without a budget. */
function Row({
  row,
  link = false,
  budget,
}: {
  row: UsageRow;
  link?: boolean;
  budget?: Budget | null | undefined;
}) {
  return (
    <tr>
      <th scope="row">{link ? <a href={`#/functions/${row.key}`}>{row.key}</a> : row.key}</th>
      <td class="num">{row.requests}</td>
      <td class="num">{row.failed}</td>
      <td class="num">{row.coldStarts}</td>
      <td class="num">{ms(row.billedMs)}</td>
      <td class="num">{gbs(row.gbSeconds)}</td>
      <td class="num">{gbs(row.warmGbSeconds)}</td>
      <td class="num">{dollars(row.cost)}</td>
      {budget !== undefined && <td>{budget ? budgetUse(budget) : '–'}</td>}
    </tr>
  );
}
