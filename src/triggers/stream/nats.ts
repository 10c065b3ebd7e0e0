/**
 * triggers/stream/nats: NATS with @nats-io/transport-node. Without `stream`, a core subscription:
 * NATS keeps nothing for a subscriber that is away and takes no ack, so messages sent while Gust is
 * down are lost and a slow function cannot slow the publisher (what reached Gust is safe in its
 * queue). With `stream`, a durable JetStream consumer (explicit acks, max_ack_pending bounding what
 * is in flight), which the server keeps while Gust is down.
 */
import {
  AckPolicy,
  type ConsumerMessages,
  DeliverPolicy,
  type JetStreamManager,
  jetstream,
  jetstreamManager,
} from '@nats-io/jetstream';
import {
  type ConnectionOptions,
  connect,
  type MsgHdrs,
  type NatsConnection,
  nanos,
} from '@nats-io/transport-node';
import { type Broker, CONNECT_TIMEOUT_MS, type ConnectOptions, reasonOf, type Session } from './broker.js';

/** A message not acked within this is given again, unless Gust says it is still working on it. */
const ACK_WAIT_MS = 60_000;

function connectionOptions(url: string, name: string): ConnectionOptions {
  const u = new URL(url);
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  return {
    servers: `${u.hostname}:${u.port || '4222'}`,
    name,
    reconnect: false, // the follower reconnects
    timeout: CONNECT_TIMEOUT_MS,
    ...(user && pass ? { user, pass } : user ? { token: user } : {}),
  };
}

async function open(url: string, name: string): Promise<NatsConnection> {
  try {
    return await connect(connectionOptions(url, name));
  } catch (e) {
    throw new Error(`NATS at ${new URL(url).host}: ${reasonOf(e)}`);
  }
}

function headersOf(h: MsgHdrs | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const k of h?.keys() ?? []) headers[k] = h!.values(k).join(', ');
  return headers;
}

/** Creates the durable consumer, or brings an existing one to this trigger's settings. */
async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  name: string,
  subject: string,
  inFlight: number,
) {
  await jsm.streams.info(stream).catch((e: unknown) => {
    throw new Error(`JetStream stream ${stream}: ${reasonOf(e)}`);
  });
  const settings = {
    ack_policy: AckPolicy.Explicit,
    filter_subject: subject,
    max_ack_pending: inFlight,
    ack_wait: nanos(ACK_WAIT_MS),
    max_deliver: -1,
  };
  const existing = await jsm.consumers.info(stream, name).catch(() => undefined);
  if (existing) await jsm.consumers.update(stream, name, settings);
  else
    await jsm.consumers.add(stream, { durable_name: name, deliver_policy: DeliverPolicy.All, ...settings });
}

export const natsBroker: Broker = {
  async connect({ url, trigger, name, inFlight, onMessage }: ConnectOptions): Promise<Session> {
    const nc = await open(url, name);
    let messages: ConsumerMessages | undefined;
    // the consumer gone under it (its stream deleted and made again, or it was deleted): the session
    // ends as lost, and the next one makes the consumer again
    let consumerGone: (why: string) => void = () => {};
    const gone = new Promise<string>((resolve) => {
      consumerGone = resolve;
    });
    const lost = Promise.race([
      nc.closed().then((e) => (e ? reasonOf(e) : `the connection to ${new URL(url).host} closed`)),
      gone,
    ]);
    try {
      if (trigger.stream === undefined) {
        nc.subscribe(trigger.subject, {
          callback: (err, m) => {
            if (err) return;
            onMessage({ subject: m.subject, headers: headersOf(m.headers), body: m.data, ack: () => {} });
          },
        });
        await nc.flush(); // the subscription is in place (or refused) before the trigger counts as running
      } else {
        const stream = trigger.stream;
        await ensureConsumer(await jetstreamManager(nc), stream, name, trigger.subject, inFlight);
        const consumer = await jetstream(nc).consumers.get(stream, name);
        const consuming = await consumer.consume({ max_messages: inFlight });
        messages = consuming;
        void (async () => {
          for await (const st of consuming.status()) {
            if (
              st.type === 'consumer_deleted' ||
              st.type === 'consumer_not_found' ||
              st.type === 'stream_not_found'
            ) {
              consumerGone(
                `the JetStream consumer of ${stream} is gone (${st.type.replaceAll('_', ' ')}): making it again`,
              );
              return;
            }
          }
        })().catch(() => {});
        void (async () => {
          for await (const m of consuming) {
            onMessage({
              subject: m.subject,
              headers: headersOf(m.headers),
              body: m.data,
              id: `${stream}:${m.seq}`,
              ack: () => {
                if (!nc.isClosed()) m.ack();
              },
              working: () => {
                if (!nc.isClosed()) m.working();
              },
            });
          }
        })().catch(() => {});
      }
    } catch (e) {
      await nc.close().catch(() => {});
      throw e;
    }
    return {
      lost,
      close: async () => {
        messages?.stop();
        await nc.close().catch(() => {});
      },
    };
  },

  async forget({ url, trigger, name }): Promise<void> {
    if (trigger.stream === undefined) return; // a core subscription leaves nothing behind
    const nc = await open(url, name);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(trigger.stream, name).catch(() => false);
    } finally {
      await nc.close().catch(() => {});
    }
  },
};
