/**
 * body: the JSON objects the control API takes. Only the fields named are accepted: a misspelt
 * field must not be silently ignored.
 */
import { GustError } from '../errors.js';
import { type EdgeRequest, parseJsonBody } from '../gateway/http.js';

/** The request body; `optional`: an empty body reads as `{}` (a JSON `null` is still refused). */
export function bodyOf(
  req: EdgeRequest,
  fields: readonly string[],
  { optional = false } = {},
): Record<string, unknown> {
  const value = parseJsonBody(req);
  if (value === undefined && optional) return {};
  return objectOf(value, fields, 'the request body');
}

/** `value` as an object of these fields only; `what` names it in the error (`the request body`, `http`). */
export function objectOf(value: unknown, fields: readonly string[], what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new GustError('BAD_REQUEST', `${what} must be a JSON object`);
  }
  const unknown = Object.keys(value).find((k) => !fields.includes(k));
  if (unknown !== undefined) {
    const name = JSON.stringify(unknown.slice(0, 40));
    throw new GustError(
      'BAD_REQUEST',
      `unknown field ${name} in ${what}; the fields there are ${fields.join(', ')}`,
    );
  }
  return value as Record<string, unknown>;
}
