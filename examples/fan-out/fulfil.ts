import type { Context } from 'gust';

/** Subscribed to `orders`: gets each order as a CloudEvent (type gust.topic.message). */
export async function handler(
  event: { data: { orderId: string; item: string } },
  ctx: Context,
): Promise<void> {
  ctx.log.info(`fulfilling ${event.data.item} for order ${event.data.orderId}`);
}
