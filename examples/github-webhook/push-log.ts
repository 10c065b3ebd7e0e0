import type { Context } from 'gust';
import type { PushMessage } from './push.js';

/** Subscribed to `pushes`: each push the webhook function published, as a CloudEvent. */
export async function handler(event: { readonly data: PushMessage }, ctx: Context): Promise<void> {
  const p = event.data;
  ctx.log.info(
    `${p.pusher} pushed ${p.commits} commit(s) to ${p.repository}@${p.branch} (${p.head.slice(0, 7)})`,
  );
}
