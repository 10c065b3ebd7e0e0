/** format: numbers, times and sizes as the pages show them. */

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  return `${Math.round(value * 10) / 10} ms`;
}

export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

export const time = (iso: string): string => new Date(iso).toLocaleString();

export const dollars = (value: number): string =>
  value === 0 ? '$0' : value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(2)}`;

export const gbs = (value: number): string => (value < 1 ? value.toPrecision(3) : value.toFixed(1));

/** A budget's use this month: `412.3 of 1000 GB-s`, and said when calls are rejected. */
export const budgetUse = (b: { used: number; gbSeconds: number; exceeded: boolean }): string =>
  `${gbs(b.used)} of ${b.gbSeconds} GB-s${b.exceeded ? ', used up: calls are rejected' : ''}`;

export const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;

/** Ids are UUIDv7, time first: calls of one moment share their start, so their end tells them apart. */
export const shortId = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);
