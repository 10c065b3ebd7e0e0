/** format: numbers, times and sizes as the pages show them. */
import { significant } from '../../lib/usage-text';

/** Dollars, price plans and usage rows as `gust usage` shows them (one module for both). */
export { dollars, pricePlanText, withBudgetRows } from '../../lib/usage-text';

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

/** GB-s: three significant digits below 1 (never `1.25e-4`), a tenth from 1. */
export const gbs = (value: number): string => (value < 1 ? significant(value, 3) : value.toFixed(1));

/** A budget's use this month: `412.3 of 1000 GB-s`, and said when calls are rejected. */
export const budgetUse = (b: { used: number; gbSeconds: number; exceeded: boolean }): string =>
  `${gbs(b.used)} of ${b.gbSeconds} GB-s${b.exceeded ? ', used up: calls are rejected' : ''}`;

/**
 * How a call started: `cold`, `warm`, or `did not run` for a call no instance ran (throttled,
 * refused by its budget or its input schema, or still waiting when its time was up): it is not
 * billed, as `gust usage` counts it.
 */
export const startOf = (r: { cold: boolean; billedMs: number }): string =>
  r.billedMs === 0 ? 'did not run' : r.cold ? 'cold' : 'warm';

export const percent = (ratio: number): string => `${Math.round(ratio * 100)}%`;

/** Ids are UUIDv7, time first: calls of one moment share their start, so their end tells them apart. */
export const shortId = (id: string): string => (id.length > 12 ? `…${id.slice(-8)}` : id);
