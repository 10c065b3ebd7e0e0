/**
 * triggers/webhook/accept: what becomes of a webhook delivery. It is verified with the secret's
 * current value (a secret changed with `gust secrets set` counts from the next delivery), then
 * queued on the function's durable queue (trigger `webhook`) once per sender's delivery id.
 *
 * Once: the delivery id is claimed in the function's table of ids (WebhookDeliveryStore) before
 * the event is queued, and marked queued after: three transactions (claim, enqueue, mark), not
 * one: the queue is a port (a NATS JetStream work queue in cluster mode) that this code does
 * not reach into. The order makes a crash safe to retry (the sender retries what it got no 2xx for):
 * - dead after the claim, before the enqueue: the id is claimed but `pending`; the retry finds it so,
 *   and queues the event under the invocation id of the claim. Nothing lost, nothing twice.
 * - dead after the enqueue, before the mark: the same; the queue refuses a second message of one id
 *   while the first is on it, so the event runs twice only if it had run and been acked already
 *   (at least once, as every queued event is).
 * - dead after the mark, before the 202 left: the retry is answered as a duplicate; the event is queued.
 * A claim `pending` because another request of this process is queueing it right now is told apart
 * by `inflight`: that request's outcome is awaited and answered (a duplicate, or its refusal).
 * Deliveries without an id (hmac-sha256 without X-Delivery-Id) are queued each time.
 *
 * Ids are kept 7 days, at most MAX_IDS_PER_FUNCTION per function (the oldest go first), purged
 * every PURGE_EVERY_MS; a sender's retry later than that is taken as a new delivery.
 */

import type { WebhookDeliveryStore } from '../../backends/ports.js';
import type { Deliveries } from '../../dispatch/deliveries.js';
import { newInvocationId } from '../../dispatch/invocation.js';
import type { QueuedEvent } from '../../events/types.js';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../../lib/json-depth.js';
import type { WebhookTrigger } from '../../manifest/types.js';
import { traceFrom } from '../../observe/trace-context.js';
import { verifyWebhook, type WebhookRequest } from './verify.js';

export const KEEP_IDS_MS = 7 * 24 * 3600_000;
export const MAX_IDS_PER_FUNCTION = 100_000;
const PURGE_EVERY_MS = 10 * 60_000;
/** Ids are the sender's, stored as given: bounded. GitHub's are 36 characters, Stripe's about 30. */
export const MAX_DELIVERY_ID = 256;

export type WebhookOutcome =
  /** Durable on the function's queue: the sender may be told 202. */
  | { readonly type: 'accepted'; readonly invocationId: string }
  /** This delivery id was queued before (its invocation id): nothing more was queued. */
  | { readonly type: 'duplicate'; readonly invocationId: string }
  /** The signature is missing or wrong (401): the reason is for the sender. */
  | { readonly type: 'refused'; readonly reason: string }
  /** Signed, but not something Gust can take (400). */
  | { readonly type: 'invalid'; readonly reason: string }
  /** The function's queue is full (503): nothing was queued, the sender should retry later. */
  | { readonly type: 'full'; readonly depth: number };

export interface WebhookDelivery extends WebhookRequest {
  readonly function: string;
  readonly trigger: WebhookTrigger;
  /** The path the delivery was posted to. */
  readonly pathname: string;
}

export interface WebhooksDeps {
  readonly store: WebhookDeliveryStore;
  readonly deliveries: Pick<Deliveries, 'submit'>;
  /** A secret's current value, or undefined when there is none. */
  readonly secret: (name: string) => string | undefined;
  readonly onError: (e: unknown, what: string) => void;
  readonly now?: () => number;
}

export class Webhooks {
  private readonly now: () => number;
  /** `fn \n deliveryId` -> the outcome of the request of this process queueing it now. */
  private readonly inflight = new Map<string, Promise<WebhookOutcome>>();
  private readonly purger: NodeJS.Timeout;

  constructor(private readonly deps: WebhooksDeps) {
    this.now = deps.now ?? Date.now;
    this.purger = setInterval(() => {
      this.purge().catch((e: unknown) => deps.onError(e, 'purging old webhook delivery ids'));
    }, PURGE_EVERY_MS);
    this.purger.unref();
  }

  async receive(d: WebhookDelivery): Promise<WebhookOutcome> {
    const now = this.now();
    const secret = this.deps.secret(d.trigger.secret) ?? '';
    const verdict = verifyWebhook(d.trigger.verify, secret, d, now);
    if (!verdict.ok) return { type: 'refused', reason: verdict.reason };
    const { deliveryId } = verdict;
    if (deliveryId !== null && deliveryId.length > MAX_DELIVERY_ID) {
      return {
        type: 'invalid',
        reason: `the delivery id is over ${MAX_DELIVERY_ID} characters: send a shorter one`,
      };
    }
    if (verdict.encoding === 'json' && nestsTooDeepValue(verdict.payload)) {
      return {
        type: 'invalid',
        reason: `the payload nests arrays and objects over ${MAX_JSON_DEPTH} deep`,
      };
    }
    const traceparent = d.headers.traceparent;
    const event = (invocationId: string): QueuedEvent => ({
      v: 1,
      function: d.function,
      trigger: 'webhook',
      invocationId,
      ...traceFrom(Array.isArray(traceparent) ? traceparent[0] : traceparent),
      source: {
        kind: 'webhook',
        path: d.pathname,
        verify: d.trigger.verify,
        eventName: verdict.eventName,
        deliveryId,
        payload: verdict.payload,
        encoding: verdict.encoding,
        receivedAt: new Date(now).toISOString(),
      },
    });
    if (deliveryId === null) return this.enqueue(event(newInvocationId(now)));
    const key = `${d.function}\n${deliveryId}`;
    const running = this.inflight.get(key);
    if (running) {
      const outcome = await running;
      return outcome.type === 'accepted'
        ? { type: 'duplicate', invocationId: outcome.invocationId }
        : outcome;
    }
    const outcome = this.once(d.function, deliveryId, event, now).finally(() => this.inflight.delete(key));
    this.inflight.set(key, outcome);
    return outcome;
  }

  /** The function was removed: its delivery ids go too (a function deployed later under its name starts afresh). */
  async forget(fn: string): Promise<void> {
    await this.deps.store.forget(fn);
  }

  /** Drops the ids past their 7 days, and each function's oldest past the bound. */
  purge(): Promise<number> {
    return this.deps.store.purge(this.now() - KEEP_IDS_MS, MAX_IDS_PER_FUNCTION);
  }

  close(): void {
    clearInterval(this.purger);
  }

  private async once(
    fn: string,
    deliveryId: string,
    event: (invocationId: string) => QueuedEvent,
    now: number,
  ): Promise<WebhookOutcome> {
    const fresh = newInvocationId(now);
    const claim = await this.deps.store.claim(fn, deliveryId, fresh, now);
    if (claim.type === 'queued') return { type: 'duplicate', invocationId: claim.invocationId };
    // `pending`: a process died between claim and mark; its invocation id, so that the queue can
    // tell the event apart if it did get there
    const invocationId = claim.type === 'new' ? fresh : claim.invocationId;
    const outcome = await this.enqueue(event(invocationId));
    if (outcome.type === 'full') await this.deps.store.release(fn, deliveryId);
    else await this.deps.store.queued(fn, deliveryId);
    return outcome;
  }

  private async enqueue(event: QueuedEvent): Promise<WebhookOutcome> {
    const accepted = await this.deps.deliveries.submit([event]);
    if (!accepted.ok) return { type: 'full', depth: accepted.depth };
    return { type: 'accepted', invocationId: event.invocationId };
  }
}

/** Whether a parsed payload nests too deep to travel as JSON (the queue and the instance stringify it again). */
function nestsTooDeepValue(payload: unknown): boolean {
  try {
    return nestsTooDeep(JSON.stringify(payload));
  } catch {
    return true; // so deep that stringify itself overflowed
  }
}
