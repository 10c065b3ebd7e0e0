/**
 * usage-text: how usage reads, the same in the CLI (`gust usage`) and in the dashboard (its Usage
 * page, src/ui/web/format.ts): GB-s, dollars and the price plan as text, and which rows a usage
 * table shows. Never scientific notation (`2.21e-7` beside `0.00000234` in one column is hard to
 * compare). Pure: it imports nothing, so the browser bundle may take it.
 */

/** `n` rounded to `digits` significant digits, written out in full: 2.214e-7 -> `0.000000221`. */
export function significant(n: number, digits: number): string {
  if (n === 0 || !Number.isFinite(n)) return String(n);
  const rounded = Number(n.toPrecision(digits));
  const places = digits - 1 - Math.floor(Math.log10(Math.abs(rounded)));
  return rounded.toFixed(Math.min(100, Math.max(0, places)));
}

/** Dollars: three significant digits below a dollar (`$0.00494`, `$0.320`), cents from one (`$12.34`). */
export function dollars(n: number): string {
  if (n === 0) return '$0';
  return `$${Math.abs(n) < 1 ? significant(n, 3) : n.toFixed(2)}`;
}

/** A number as given, in full: a price such as 0.0000166667 or 1e-7 (`0.0000001`). */
export function plain(n: number): string {
  const text = String(n);
  return text.includes('e') ? significant(n, 15).replace(/\.?0+$/, '') : text;
}

/** The price plan of a usage report (docs/API.md, `prices`). */
export interface PricePlan {
  readonly perMillionRequests: number;
  readonly perGbSecond: number;
  readonly perWarmGbSecond: number;
  /** `aws-lambda-x86`: Gust's default; `custom`: set with GUST_PRICE_*. Absent from older platforms. */
  readonly plan?: string;
}

/** `AWS Lambda's x86 list prices: $0.2 per million requests, $0.0000166667 per GB-s, …`. */
export function pricePlanText(p: PricePlan): string {
  const name =
    p.plan === 'aws-lambda-x86'
      ? "AWS Lambda's x86 list prices"
      : p.plan === 'custom'
        ? 'prices set with GUST_PRICE_*'
        : 'prices';
  return (
    `${name}: $${plain(p.perMillionRequests)} per million requests, $${plain(p.perGbSecond)} per GB-s, ` +
    `$${plain(p.perWarmGbSecond)} per warm GB-s (scale.min)`
  );
}

/** A usage row of no call: its columns (docs/API.md, `/usage`) at 0. */
const NO_USE = {
  requests: 0,
  failed: 0,
  coldStarts: 0,
  billedMs: 0,
  gbSeconds: 0,
  warmGbSeconds: 0,
  cost: 0,
};

/** The columns of a usage row, by function or by day (`key`). */
export type UsageCells = Readonly<typeof NO_USE> & { readonly key: string };

/**
 * Rows by function, and a row of zeros for each function of `budgeted` that has none, by name: its
 * budget shows whether it was called in the window or not.
 */
export function withBudgetRows(rows: readonly UsageCells[], budgeted: Iterable<string>): UsageCells[] {
  const shown = new Set(rows.map((row) => row.key));
  const idle = [...budgeted].filter((fn) => !shown.has(fn)).map((key) => ({ ...NO_USE, key }));
  return [...rows, ...idle].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
