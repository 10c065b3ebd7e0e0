/** outcome: how a finished invocation that did not answer by itself is told to an HTTP caller. */
import type { DispatchResult } from '../dispatch/dispatcher.js';
import { type ErrorCode, GustError } from '../errors.js';
import { type EdgeResponse, json } from './http.js';

const CODES: Record<string, ErrorCode> = {
  error: 'FUNCTION_ERROR',
  timeout: 'FUNCTION_TIMEOUT',
  crashed: 'FUNCTION_CRASHED',
  throttled: 'THROTTLED',
  // The function was removed while the call waited or was on its way.
  rejected: 'NOT_FOUND',
};

/** The error an unsuccessful invocation answers with; undefined when it succeeded. */
export function invocationError({ record, outcome }: DispatchResult): GustError | undefined {
  if (outcome.type === 'rejected' && outcome.budget) {
    // Its message names the function; a client may come back when the month turns.
    const err = new GustError('BUDGET_EXCEEDED', record.error ?? outcome.reason);
    err.retryAfterSeconds = secondsUntil(outcome.budget.resetsAt);
    return err;
  }
  // stopped while it ran (gust rm --force): the route existed, the platform took it away
  const stopped = outcome.type === 'rejected' && outcome.logs !== undefined;
  const code = stopped ? 'UNAVAILABLE' : CODES[record.status];
  if (!code) return undefined;
  return new GustError(
    code,
    `${record.function} (invocation ${record.id}): ${record.error ?? record.status}`,
  );
}

/** Whole seconds from now to an ISO time, at least 1. */
function secondsUntil(iso: string): number {
  return Math.max(1, Math.ceil((Date.parse(iso) - Date.now()) / 1000));
}

export function failureResponse(result: DispatchResult): EdgeResponse {
  const err = invocationError(result) ?? new GustError('INTERNAL', 'the invocation ended without an answer');
  const headers: Record<string, string> = {
    'x-gust-invocation-id': result.record.id,
    'x-gust-status': result.record.status,
  };
  if (err.code === 'THROTTLED') headers['retry-after'] = '1';
  if (err.retryAfterSeconds !== undefined) headers['retry-after'] = String(err.retryAfterSeconds);
  return json(
    err.status,
    { error: { code: err.code, message: err.message, invocationId: result.record.id } },
    headers,
  );
}
