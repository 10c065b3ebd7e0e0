import type { Context } from 'gust';

/** What a webhook trigger hands its function (`events: cloudevents`, the default). */
interface WebhookEvent {
  readonly specversion: '1.0';
  /** The sender's delivery id (GitHub's X-GitHub-Delivery): the same on every redelivery. */
  readonly id: string;
  readonly type: 'gust.webhook.received';
  readonly source: string;
  readonly time: string;
  /** The payload: parsed JSON, or the text of a body that is not JSON. */
  readonly data: unknown;
  /** GitHub's X-GitHub-Event: push, ping, pull_request, ... */
  readonly webhookevent?: string;
  readonly webhookdelivery?: string;
  readonly webhookverifier: 'github' | 'stripe' | 'hmac-sha256';
}

/** The few fields of GitHub's push payload this example reads. */
interface Push {
  readonly ref: string;
  readonly after: string;
  readonly repository: { readonly full_name: string };
  readonly pusher: { readonly name: string };
  readonly commits?: readonly { readonly id: string; readonly message: string }[];
}

/** The message a push becomes: what a consumer of the `pushes` topic will get. */
export interface PushMessage {
  readonly repository: string;
  readonly branch: string;
  readonly head: string;
  readonly pusher: string;
  readonly commits: number;
  readonly delivery: string;
}

/**
 * Runs after GitHub had its 202: the delivery was verified and queued first. It runs at least
 * once: a retry after a failure brings the same delivery id, so work keyed by it stays idempotent.
 */
export async function handler(event: WebhookEvent, ctx: Context): Promise<PushMessage | null> {
  if (event.webhookevent === 'ping') {
    ctx.log.info('ping from GitHub: the webhook is set up');
    return null;
  }
  if (event.webhookevent !== 'push') {
    ctx.log.info(`not a push (${event.webhookevent ?? 'no event name'}): ignored`);
    return null;
  }
  const push = event.data as Push;
  const message: PushMessage = {
    repository: push.repository.full_name,
    branch: push.ref.replace(/^refs\/heads\//, ''),
    head: push.after,
    pusher: push.pusher.name,
    commits: push.commits?.length ?? 0,
    delivery: event.id,
  };
  ctx.log.info(`push ${JSON.stringify(message)}`);
  // the consumer of the `pushes` topic takes it from here (push-log.ts)
  await ctx.publish('pushes', message);
  return message;
}
