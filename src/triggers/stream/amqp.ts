/**
 * triggers/stream/amqp: AMQP 0-9-1 (RabbitMQ) with amqplib. Consumes a queue with manual acks and a
 * prefetch of `inFlight`; a queue that does not exist is declared durable (one that exists is used
 * as it is, whatever its arguments). Unacked messages go back to the queue when the connection ends.
 */
import { type Channel, type ConsumeMessage, connect } from 'amqplib';
import { type Broker, CONNECT_TIMEOUT_MS, type ConnectOptions, reasonOf, type Session } from './broker.js';

function headersOf(m: ConsumeMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  const { headers: custom, ...props } = m.properties;
  for (const [k, v] of Object.entries({ ...props, ...(custom ?? {}) })) {
    if (v === undefined || v === null) continue;
    headers[k] = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('utf8') : JSON.stringify(v);
  }
  return headers;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the URL given';
  }
}

/** The queue is there, or declared durable; an existing queue is never redeclared (its arguments may differ). */
async function ensureQueue(conn: Awaited<ReturnType<typeof connect>>, channel: Channel, queue: string) {
  const probe = await conn.createChannel();
  probe.on('error', () => {}); // a missing queue closes the probe's channel: expected
  const exists = await probe.checkQueue(queue).then(
    () => true,
    () => false,
  );
  if (exists) await probe.close().catch(() => {});
  else await channel.assertQueue(queue, { durable: true });
}

export const amqpBroker: Broker = {
  async connect({ url, trigger, inFlight, onMessage }: ConnectOptions): Promise<Session> {
    const conn = await connect(url, { timeout: CONNECT_TIMEOUT_MS }).catch((e: unknown) => {
      throw new Error(`AMQP at ${hostOf(url)}: ${reasonOf(e)}`);
    });
    let lastError: string | undefined;
    let live = true;
    conn.on('error', (e: unknown) => {
      lastError = reasonOf(e);
    });
    const lost = new Promise<string>((resolve) => {
      conn.once('close', () => {
        live = false;
        resolve(lastError ?? `the connection to ${hostOf(url)} closed`);
      });
    });
    try {
      const channel = await conn.createChannel();
      channel.on('error', (e: unknown) => {
        lastError = reasonOf(e);
      });
      // a channel closed by the broker (queue deleted, a precondition) ends the session
      channel.on('close', () => void conn.close().catch(() => {}));
      await channel.prefetch(Math.min(65_535, inFlight));
      await ensureQueue(conn, channel, trigger.subject);
      await channel.consume(
        trigger.subject,
        (m) => {
          if (m === null) {
            lastError = `the consumer of queue ${trigger.subject} was cancelled by the broker (queue deleted?)`;
            void conn.close().catch(() => {});
            return;
          }
          onMessage({
            subject: m.fields.routingKey,
            headers: headersOf(m),
            body: m.content,
            ack: () => {
              if (live) channel.ack(m);
            },
          });
        },
        { noAck: false },
      );
    } catch (e) {
      await conn.close().catch(() => {});
      throw new Error(`AMQP queue ${trigger.subject}: ${lastError ?? reasonOf(e)}`);
    }
    return {
      lost,
      close: async () => {
        live = false;
        await conn.close().catch(() => {});
      },
    };
  },

  // The queue is the user's: nothing of Gust's is left in it.
  async forget(): Promise<void> {},
};
