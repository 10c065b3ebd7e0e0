/** params: the query parameters of the control API, read and checked the same way by every route. */
import { GustError } from '../errors.js';
import { parseDuration } from '../manifest/duration.js';

/** An ISO time, or a duration back from now (`1h`, `30m`, `7d`): as an ISO time. */
export function timeParam(query: URLSearchParams, name: string): string | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const ago = parseDuration(raw);
  const at = ago === undefined ? Date.parse(raw) : Date.now() - ago;
  if (!/^\d/.test(raw) || Number.isNaN(at)) {
    throw new GustError(
      'BAD_REQUEST',
      `${name} must be a time (2026-11-30T12:00:00Z) or a duration back from now (30m, 24h, 7d)`,
    );
  }
  return new Date(at).toISOString();
}

/** A whole number from `min` (default 1: a limit or a count of 0 asks for nothing) to `max`. */
export function intParam(
  query: URLSearchParams,
  name: string,
  range: { readonly fallback: number; readonly min?: number; readonly max: number },
): number {
  const raw = query.get(name);
  if (raw === null) return range.fallback;
  const { min = 1, max } = range;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max)
    throw new GustError('BAD_REQUEST', `${name} must be a whole number from ${min} to ${max}`);
  return n;
}

/** A value the caller sent, cut to a readable length for an error message. */
export const clip = (text: string): string => (text.length > 60 ? `${text.slice(0, 60)}…` : text);
