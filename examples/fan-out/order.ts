import type { Context } from 'gust';

/**
 * POST /shop/orders {"item": "umbrella", "quantity": 2}: takes an order and publishes it on the
 * `orders` topic; `fulfil` and `email` each get it, at least once, retried if they fail.
 * The answer comes once the order is durable (202), not once it is processed.
 */
export default async function (req: Request, ctx: Context): Promise<Response> {
  const order = (await req.json().catch(() => null)) as { item?: unknown; quantity?: unknown } | null;
  if (typeof order?.item !== 'string' || order.item === '') {
    return Response.json({ message: 'send {"item": "...", "quantity": n}' }, { status: 400 });
  }
  const placed = { orderId: ctx.invocationId, item: order.item, quantity: Number(order.quantity ?? 1) };
  const { id } = await ctx.publish('orders', placed);
  return Response.json({ ...placed, message: id }, { status: 202 });
}
