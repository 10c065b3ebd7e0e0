// Database write: each row inserted into `orders` (a postgres trigger, gust.postgres.insert) becomes
// a plain-text receipt in the `receipts` bucket, at receipts/<order id>.txt. The row arrives typed
// as PostgreSQL gives it: numbers, booleans, the jsonb items as JSON, the timestamp as ISO text.
// Delivered at least once: writing the same key again is harmless, so a retry changes nothing.
import type { Context } from 'gust';

interface Order {
  readonly id: number;
  readonly customer: string;
  readonly items: readonly { readonly name: string; readonly qty: number; readonly price: number }[];
  readonly total: number;
  readonly paid: boolean;
  readonly placed_at: string;
}

interface OrderInserted {
  readonly type: 'gust.postgres.insert';
  readonly data: { readonly table: string; readonly new: Order };
}

const money = (n: number) => n.toFixed(2);

export async function handler(event: OrderInserted, ctx: Context) {
  const order = event.data.new;
  const lines = [
    `Receipt for order ${order.id}`,
    `Customer: ${order.customer}`,
    `Placed: ${new Date(order.placed_at).toISOString()}`,
    '',
    ...order.items.map((i) => `${i.qty} x ${i.name} @ ${money(i.price)} = ${money(i.qty * i.price)}`),
    '',
    `Total: ${money(order.total)}${order.paid ? ' (paid)' : ''}`,
  ];
  const key = `${order.id}.txt`;
  await ctx.bucket('receipts').put(key, `${lines.join('\n')}\n`, { contentType: 'text/plain' });
  ctx.log.info(`receipt for order ${order.id} written to receipts/${key}`);
  return { key };
}
