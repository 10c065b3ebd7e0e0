/**
 * triggers/stream/mqtt: MQTT 5 with mqtt.js. QoS 1, a persistent session per function and trigger
 * (clean start off, a session expiry of 7 days), so the broker keeps what is sent while Gust is
 * down. The receive maximum bounds what the broker hands over unacked.
 *
 * mqtt.js sends a PUBACK once `handleMessage` calls back, and reads no further packet until then;
 * holding that call while a batch fills would stall the connection (pings included). So the call is
 * answered at once with an error, which makes mqtt.js skip its PUBACK and read on, and the PUBACK
 * is sent when Gust is done with the message. (Pinned to mqtt@5: this uses its `_sendPacket`.)
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import {
  type Broker,
  CONNECT_TIMEOUT_MS,
  type ConnectOptions,
  type Received,
  reasonOf,
  type Session,
  withTimeout,
} from './broker.js';

const SESSION_EXPIRY_S = 7 * 24 * 3600;
/** Answers handleMessage without a PUBACK (see the module comment). */
const DEFERRED = new Error('PUBACK deferred until the function is done');

type Internal = { _sendPacket(packet: { cmd: 'puback'; messageId: number }, cb: () => void): void };

function options(name: string, clean: boolean, receiveMaximum?: number): IClientOptions {
  return {
    clientId: name,
    clean,
    protocolVersion: 5,
    reconnectPeriod: 0, // the follower reconnects
    connectTimeout: CONNECT_TIMEOUT_MS,
    properties: {
      sessionExpiryInterval: clean ? 0 : SESSION_EXPIRY_S,
      ...(receiveMaximum === undefined ? {} : { receiveMaximum: Math.min(65_535, receiveMaximum) }),
    },
  };
}

/** Connected, or the reason it could not be. */
function opened(client: MqttClient, url: string): Promise<MqttClient> {
  return withTimeout(
    new Promise<MqttClient>((resolve, reject) => {
      client.once('connect', () => resolve(client));
      client.once('error', (e) => reject(e));
      client.once('close', () => reject(new Error(`the broker at ${hostOf(url)} closed the connection`)));
    }),
    `the MQTT broker at ${hostOf(url)}`,
    (late) => late.end(true),
  ).catch((e: unknown) => {
    client.end(true);
    throw e;
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the URL given';
  }
}

function headersOf(packet: IPublishPacket): Record<string, string> {
  const headers: Record<string, string> = {};
  const props = packet.properties;
  for (const [k, v] of Object.entries(props?.userProperties ?? {})) {
    headers[k] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  if (props?.contentType !== undefined) headers['content-type'] = props.contentType;
  // a retained message the broker hands to a new subscription, not one just published
  if (packet.retain) headers['mqtt-retain'] = 'true';
  return headers;
}

export const mqttBroker: Broker = {
  async connect({ url, trigger, name, inFlight, onMessage }: ConnectOptions): Promise<Session> {
    const client = connect(url, options(name, false, inFlight));
    let live = true;
    let lastError: string | undefined;
    client.on('error', (e) => {
      lastError = reasonOf(e);
    });
    const lost = new Promise<string>((resolve) => {
      client.once('close', () => {
        live = false;
        resolve(lastError ?? `the connection to ${hostOf(url)} closed`);
      });
    });
    client.handleMessage = (packet, callback) => {
      const p = packet as IPublishPacket;
      const messageId = p.messageId;
      const received: Received = {
        subject: p.topic,
        headers: headersOf(p),
        body: p.payload as Uint8Array,
        ack: () => {
          if (p.qos === 0 || messageId === undefined || !live) return;
          (client as unknown as Internal)._sendPacket({ cmd: 'puback', messageId }, () => {});
        },
      };
      onMessage(received);
      callback(p.qos === 1 ? DEFERRED : undefined);
    };
    // Set before the first packet: a persistent session's waiting messages follow the CONNACK at once.
    await opened(client, url);
    // rh 1: retained messages come with a new subscription only, not again at each reconnect of
    // the persistent session (a restart of Gust would run them once more every time)
    const granted = await client.subscribeAsync(trigger.subject, { qos: 1, rh: 1 }).catch((e: unknown) => {
      client.end(true);
      throw e;
    });
    const refused = granted.find((g) => g.qos > 2);
    if (refused) {
      client.end(true);
      throw new Error(
        `the broker refused the subscription to ${trigger.subject} (reason code ${refused.qos})`,
      );
    }
    return {
      lost,
      close: async () => {
        live = false;
        await client.endAsync(true).catch(() => {});
      },
    };
  },

  async forget({ url, name }): Promise<void> {
    // A clean start with a session expiry of 0 ends the stored session and its queued messages.
    const client = await opened(connect(url, options(name, true)), url);
    await client.endAsync().catch(() => {});
  },
};
