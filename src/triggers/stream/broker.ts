/**
 * triggers/stream/broker: what the stream source asks of each protocol (mqtt.ts, nats.ts, amqp.ts):
 * connect and consume with at most `inFlight` messages handed over and not acked, say when the
 * connection is lost, and tear down what a trigger left in the broker when it goes.
 * Reconnecting is the follower's job (follower.ts), one loop for every protocol: a `Session` is
 * never reused after it is lost, and an ack that comes after is dropped (the broker gives the
 * message again to the next session).
 */
import type { StreamTrigger } from '../../manifest/types.js';

/** One message as the broker handed it over. */
export interface Received {
  /** The MQTT topic, NATS subject or AMQP routing key. */
  readonly subject: string;
  readonly headers: Record<string, string>;
  readonly body: Uint8Array;
  /** An id the broker keeps for the message (JetStream `stream:sequence`), if it has one. */
  readonly id?: string;
  /** Done with: the broker may forget it. A no-op without acks (core NATS) or once its session is lost. */
  ack(): void;
  /** Still being worked on (JetStream: resets the ack timer), where the protocol needs it. */
  working?(): void;
}

export interface Session {
  /** Resolves, never rejects, with why the connection was lost (after `close` too). */
  readonly lost: Promise<string>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  /** The broker URL, from the trigger's secret; credentials in it. */
  readonly url: string;
  readonly trigger: StreamTrigger;
  /** Stable per function and trigger: the MQTT client id, the JetStream durable consumer's name. */
  readonly name: string;
  /** The most messages handed over and not acked (MQTT receive maximum, AMQP prefetch, JetStream max_ack_pending). */
  readonly inFlight: number;
  readonly onMessage: (m: Received) => void;
}

export interface Broker {
  /** Rejects with an Error whose message says why (unreachable, refused credentials, no such stream). */
  connect(options: ConnectOptions): Promise<Session>;
  /** The trigger is gone: remove what it set up in the broker (MQTT session, JetStream consumer). */
  forget(options: Omit<ConnectOptions, 'onMessage' | 'inFlight'>): Promise<void>;
}

/** Connecting gives up after this: an unreachable broker must show as failing, not hang. */
export const CONNECT_TIMEOUT_MS = 5000;

/** An error as one line a user can act on. */
export function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
  if (err?.code === 'ECONNREFUSED') return `connection refused${where(err)}: is the broker running?`;
  if (err?.code === 'ENOTFOUND') return `unknown host${err.hostname ? ` ${err.hostname}` : ''}`;
  if (err?.code === 'ETIMEDOUT') return `timed out connecting${where(err)}`;
  const message = err instanceof Error ? err.message : String(e);
  return message.split('\n')[0]!.trim() || 'the connection failed';
}

function where(err: { address?: string; port?: number }): string {
  return err.address ? ` by ${err.address}${err.port ? `:${err.port}` : ''}` : '';
}

/** Times out a connect attempt, closing what it made late. */
export function withTimeout<T>(attempt: Promise<T>, what: string, undo: (late: T) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      done = true;
      reject(new Error(`no answer from ${what} within ${CONNECT_TIMEOUT_MS / 1000} s`));
    }, CONNECT_TIMEOUT_MS);
    attempt.then(
      (value) => {
        clearTimeout(timer);
        if (done) undo(value);
        else resolve(value);
      },
      (e: unknown) => {
        clearTimeout(timer);
        if (!done) reject(e);
      },
    );
  });
}
