/**
 * triggers/webhook/door: the HTTP answer to a POST on a webhook trigger's path. The gateway's
 * function door hands such requests here instead of running the function: the sender is answered
 * as soon as the delivery is durable on the function's queue (202), never after the function ran
 * (senders give up after about 10 s, and retry). The function runs later, at least once.
 * - 202 `{"accepted": true, "id"}`: queued; `id` is the invocation id (also `x-gust-invocation-id`).
 * - 200 `{"duplicate": true, "id"}`: this delivery id was queued before (id: that invocation).
 * - 401 SIGNATURE_INVALID: the signature is missing or wrong; the message says which, never what
 *   the signature should have been. Nothing is queued and nothing is recorded.
 * - 400 BAD_REQUEST: signed, but a delivery id over the bound.
 * - 503 QUEUE_FULL with Retry-After: the function's queue is full; nothing was queued.
 */
import { type ErrorCode, GustError } from '../../errors.js';
import type { EdgeRequest, EdgeResponse } from '../../gateway/http.js';
import { json } from '../../gateway/http.js';
import type { WebhookTrigger } from '../../manifest/types.js';
import type { Webhooks } from './accept.js';

/** Seconds a sender is asked to wait when the queue is full: time for the function to drain some. */
const FULL_RETRY_AFTER_S = 30;

export type WebhookDoor = (
  req: EdgeRequest,
  route: { readonly function: string; readonly trigger: WebhookTrigger },
) => Promise<EdgeResponse>;

export function webhookDoor(webhooks: Pick<Webhooks, 'receive'>): WebhookDoor {
  return async (req, route) => {
    const outcome = await webhooks.receive({
      function: route.function,
      trigger: route.trigger,
      pathname: req.pathname,
      headers: req.headers,
      body: req.body,
    });
    switch (outcome.type) {
      case 'accepted':
        return json(
          202,
          { accepted: true, id: outcome.invocationId },
          { 'x-gust-invocation-id': outcome.invocationId },
        );
      case 'duplicate':
        return json(
          200,
          { duplicate: true, id: outcome.invocationId },
          { 'x-gust-invocation-id': outcome.invocationId },
        );
      case 'refused':
        return error('SIGNATURE_INVALID', `webhook ${req.pathname}: ${outcome.reason}`);
      case 'invalid':
        return error('BAD_REQUEST', `webhook ${req.pathname}: ${outcome.reason}`);
      case 'full':
        return error(
          'QUEUE_FULL',
          `webhook ${req.pathname}: the queue of its function is full (${outcome.depth} events waiting); nothing was queued: retry later`,
          { 'retry-after': String(FULL_RETRY_AFTER_S) },
        );
    }
  };
}

function error(code: ErrorCode, message: string, headers: Record<string, string> = {}): EdgeResponse {
  const e = new GustError(code, message);
  return json(e.status, e.toJSON(), headers);
}
