import type { Context } from 'gust';

/**
 * Subscribed to `orders`, like fulfil, with retries: it fails the first two deliveries of each
 * order, as a busy mail server would, and succeeds on the third (ctx.attempt counts them).
 */
export async function handler(event: { data: { orderId: string } }, ctx: Context): Promise<void> {
  if (ctx.attempt <= 2) throw new Error(`mail server busy (attempt ${ctx.attempt})`);
  ctx.log.info(`confirmation sent for order ${event.data.orderId} on attempt ${ctx.attempt}`);
}
