/**
 * events/types: what a queued event carries on its way to a function. A queue holds the raw facts
 * of where an event came from (`EventSource`); the event the function receives is shaped at
 * delivery (events/shapes.ts), from the function's `events` setting then (`cloudevents` or `aws`),
 * so a redeploy that changes the setting changes what waiting events look like, consistently.
 */
import type { WebhookVerifier } from '../manifest/types.js';

/** A CloudEvent 1.0 as Gust keeps it (its JSON form; extensions are top-level attributes). */
export interface CloudEventJson {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly time?: string;
  readonly subject?: string;
  readonly datacontenttype?: string;
  readonly dataschema?: string;
  /** JSON data; binary data travels as `data_base64` instead. */
  readonly data?: unknown;
  readonly data_base64?: string;
  /** Extension attributes: lower-case a-z0-9 names, string values. */
  readonly [extension: string]: unknown;
}

export type EventSource =
  /** An asynchronous invocation: `gust invoke --async`, the API, Lambda `Event`, `ctx.invoke(.., {async: true})`. */
  | { readonly kind: 'invoke'; readonly data: unknown }
  /** A message published to a topic: a CloudEvent (as posted, or made by Gust around published data). */
  | { readonly kind: 'topic'; readonly topic: string; readonly event: CloudEventJson }
  /** A tick of a schedule trigger; `tick` is the ISO time it was due. */
  | {
      readonly kind: 'schedule';
      readonly cron: string;
      readonly timezone: string;
      readonly tick: string;
    }
  /** A verified webhook delivery. */
  | {
      readonly kind: 'webhook';
      readonly path: string;
      readonly verify: WebhookVerifier;
      /** The sender's name for the event (GitHub `X-GitHub-Event`, Stripe `type`), if it gave one. */
      readonly eventName: string | null;
      /** The sender's delivery id (GitHub `X-GitHub-Delivery`, Stripe event `id`), if it gave one. */
      readonly deliveryId: string | null;
      /** The body: parsed JSON when it is JSON, else the text (base64 when it is not UTF-8). */
      readonly payload: unknown;
      readonly encoding: 'json' | 'text' | 'base64';
      readonly receivedAt: string;
    }
  /** A put or delete in a KV namespace; `value` is there for a put of at most 64 KB. */
  | {
      readonly kind: 'kv';
      readonly namespace: string;
      readonly key: string;
      readonly op: 'put' | 'delete';
      readonly value?: string;
      readonly at: string;
    }
  /** An object created (written, copied, completed) or deleted in a bucket; size, etag, contentType for created. */
  | {
      readonly kind: 'bucket';
      readonly bucket: string;
      readonly key: string;
      readonly op: 'created' | 'deleted';
      /** How a created object was made (S3 names its events by it). */
      readonly how?: 'put' | 'copy' | 'multipart';
      readonly size?: number;
      /** The MD5 (hex, unquoted), or `<hex>-N` for a multipart object. */
      readonly etag?: string;
      readonly contentType?: string;
      readonly at: string;
    }
  /** Messages of a `stream` trigger, one batch (triggers/stream): delivered as one invocation. */
  | {
      readonly kind: 'stream';
      readonly from: 'mqtt' | 'nats' | 'amqp';
      /** The `batch` of its trigger: above 1, a handler gets an array even of one message. */
      readonly batch: number;
      readonly messages: readonly StreamMessage[];
    }
  /**
   * A row inserted, updated or deleted in a table of the user's PostgreSQL database: the row before
   * (update, delete) and after (insert, update) as JSON, typed as PostgreSQL gives them.
   */
  | {
      readonly kind: 'postgres';
      readonly schema: string;
      readonly table: string;
      readonly op: 'insert' | 'update' | 'delete';
      readonly old: Readonly<Record<string, unknown>> | null;
      readonly new: Readonly<Record<string, unknown>> | null;
      /** When the change was written in the database (ISO). */
      readonly at: string;
      /** Its position in the table's capture (commit order), as text: it may pass 2^53. */
      readonly seq: string;
    };

/** One broker message as a function gets it. */
export interface StreamMessage {
  /** Unique per message (a JetStream `stream:sequence`, else made at receipt). */
  readonly id: string;
  /** The MQTT topic, NATS subject, or AMQP routing key it was sent with. */
  readonly subject: string;
  /** MQTT 5 user properties, NATS headers, AMQP headers and properties (as strings). */
  readonly headers: Readonly<Record<string, string>>;
  /** Parsed JSON when it is JSON, else its text, else (not UTF-8) its base64. */
  readonly payload: unknown;
  readonly encoding: 'json' | 'text' | 'base64';
  readonly receivedAt: string;
}

/** The body of a queue message (JSON): one event for one function. */
export interface QueuedEvent {
  readonly v: 1;
  readonly function: string;
  /** The record's trigger: `invoke`, `lambda-api`, `topic`, `schedule`, `webhook`, `kv`, `bucket`, `postgres`. */
  readonly trigger: string;
  /** The invocation id of its delivery (the same for every attempt: records add `attempt`). */
  readonly invocationId: string;
  readonly traceId: string;
  /**
   * The span of what produced it (a function's invocation, a caller's `traceparent`): the consumer's
   * invocation is its child. Null or absent (events queued before Gust kept it): none.
   */
  readonly parentSpanId?: string | null;
  readonly source: EventSource;
  /**
   * Set by a source that knows the event cannot run (a broker message over the size limit): it is
   * recorded as rejected with this reason and dead-lettered without running.
   */
  readonly refused?: string;
  /**
   * Events of one key run one at a time, in queue order, a failing one retried before the next
   * (dispatch/order.ts): a postgres trigger's changes of one table.
   */
  readonly orderKey?: string;
}

/** A queued event as a delivery sees it: its queue message's id and attempt beside it. */
export interface DeliveredEvent {
  readonly messageId: string;
  /** Deliveries so far, this one included. */
  readonly attempt: number;
  /** Epoch ms it was accepted (enqueued). */
  readonly enqueuedAt: number;
  readonly event: QueuedEvent;
}
