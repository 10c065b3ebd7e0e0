/**
 * events/shapes: the event a function receives for the queued events one invocation delivers,
 * built at delivery from the raw facts the queue kept (events/types.ts) and the function's
 * `events` setting then; and, back from the handler's result, which messages of a batch failed.
 * Pure: no I/O, and big payloads are passed along by reference, never copied (the one exception:
 * an SQS record's body, which must be text).
 *
 * `events: cloudevents` (the default): CloudEvents 1.0 in their JSON form.
 * - topic: the message's own CloudEvent as it was published (the same object).
 * - schedule: type `gust.schedule.tick`, source `/gust/functions/<fn>/schedule`, id `<fn>:<tick>`
 *   (the same for every retry of the tick), time the tick, data `{cron, timezone, scheduledTime}`.
 * - webhook: type `gust.webhook.received`, source `/gust/webhooks<path>`, id the sender's delivery
 *   id (else the queue message id), time of receipt, data the payload (`application/json`, or
 *   `text/plain` for a payload that is not JSON); extensions `webhookevent` and `webhookdelivery`
 *   when the sender gave them, `webhookverifier` always.
 * - postgres: type `gust.postgres.insert|update|delete`, source `/gust/postgres/<schema>.<table>`,
 *   id the queue message id, subject the change's position in the table's capture, time of the
 *   change, data `{schema, table, old, new}` (old null for an insert, new null for a delete).
 * - invoke (async invocation): the data as it was given, not wrapped, as `gust invoke` and Lambda's
 *   Event invocations pass their payload.
 * Batches: a topic trigger with `batch` > 1 hands its handler an ARRAY of events, even when only
 * one message was waiting, so that a handler written for batches never has to test which it got.
 * With `batch: 1`, and for every other trigger, the handler gets the event itself. So with one
 * message waiting, `batch: 10` gives `[event]` and `batch: 1` gives `event`.
 *
 * `events: aws`: the shapes AWS Lambda hands over (events/aws-shapes.ts).
 * - topic: one SQS event `{Records}` with a record per message, one record when one message
 *   (whatever `batch` says, as on AWS); `messageId` is the queue message id, so the identifiers of
 *   `batchItemFailures` map back to messages (see failedMessages).
 * - schedule: an EventBridge Scheduled Event; one tick per invocation, never a batch.
 * - webhook: an SQS event of one record whose body is the payload as text. Not an API Gateway
 *   request: by the time the function runs, the sender has had its answer (the delivery was checked,
 *   queued and acknowledged), so a request event would promise a response that goes nowhere. What
 *   the function gets is a queued message, delivered at least once and retried: what an SQS record
 *   says. Handlers written for API Gateway -> SQS read their webhooks the same way, and the sender's
 *   event name and delivery id travel as the `ce-webhookevent` / `ce-webhookdelivery` attributes.
 * - invoke: the data as it was given, as in `cloudevents` mode. On AWS a function invoked with
 *   InvocationType Event gets its payload itself, and `gust invoke` (synchronous) passes it so too:
 *   an SQS wrapping on the async path alone would show one handler two shapes for one call.
 */
import type { FunctionSpec } from '../manifest/types.js';
import { type SqsEvent, s3Record, scheduledEvent, sqsRecord } from './aws-shapes.js';
import type { CloudEventJson, DeliveredEvent, EventSource, StreamMessage } from './types.js';

export type EventsSetting = FunctionSpec['events'];

export interface DeliveryTarget {
  /** The function's name. */
  readonly function: string;
  /** Its `events` setting at delivery. */
  readonly events: EventsSetting;
  /** The `batch` of the topic trigger that delivers; 1 for every other source. */
  readonly batch: number;
}

type SourceOf<K extends EventSource['kind']> = Extract<EventSource, { kind: K }>;

/**
 * The event value a handler receives (JSON-serializable) for what one invocation delivers: one
 * event, or up to `batch` topic messages. Throws on what no caller should ask: nothing delivered,
 * more than `batch`, or sources of different kinds in one delivery.
 */
export function shapeEvent(delivered: readonly DeliveredEvent[], target: DeliveryTarget): unknown {
  const first = delivered[0];
  if (first === undefined) throw new Error('shapeEvent: nothing was delivered');
  const kind = first.event.source.kind;
  if (delivered.length > 1) {
    if (kind !== 'topic' || delivered.length > target.batch) {
      throw new Error(
        `shapeEvent: ${delivered.length} ${kind} events in one delivery (batch ${target.batch})`,
      );
    }
    if (delivered.some((d) => d.event.source.kind !== kind)) {
      throw new Error('shapeEvent: one delivery carries events of one kind');
    }
  }
  if (target.events === 'aws') return awsShape(delivered, target.function);
  if (first.event.source.kind === 'stream') return streamCloudEvents(first.event.source);
  if (kind === 'topic' && target.batch > 1) return delivered.map((d) => cloudEventShape(d, target.function));
  return cloudEventShape(first, target.function);
}

/**
 * Which messages of a delivery failed, read from the handler's return value, for an invocation that
 * ended ok (one that failed failed for every message). For `events: aws` deliveries of SQS records
 * (topics, webhooks) a handler may answer as Lambda's partial batch responses have it:
 * `{batchItemFailures: [{itemIdentifier: messageId}, ...]}`. Then:
 * - the message ids it names, in delivery order: those failed, the others succeeded;
 * - `[]` when it names none, or its result has no `batchItemFailures` (or null): none failed;
 * - every message id when the answer is malformed (not a list, an item without a string
 *   `itemIdentifier`, an identifier of no message delivered), as AWS fails the whole batch then.
 * `undefined` for every other delivery (`events: cloudevents`, EventBridge ticks, async
 * invocations): there is no partial answer, the invocation's outcome holds for all.
 */
export function failedMessages(
  result: unknown,
  delivered: readonly DeliveredEvent[],
  events: EventsSetting,
): readonly string[] | undefined {
  if (events !== 'aws' || delivered.some((d) => !SQS_KINDS.has(d.event.source.kind))) return undefined;
  if (typeof result !== 'object' || result === null || !('batchItemFailures' in result)) return [];
  const failures = result.batchItemFailures;
  if (failures === null || failures === undefined) return [];
  const all = delivered.map((d) => d.messageId);
  if (!Array.isArray(failures)) return all;
  const known = new Set(all);
  const failed = new Set<string>();
  for (const item of failures as unknown[]) {
    const id =
      typeof item === 'object' && item !== null
        ? (item as { itemIdentifier?: unknown }).itemIdentifier
        : null;
    if (typeof id !== 'string' || !known.has(id)) return all;
    failed.add(id);
  }
  return all.filter((id) => failed.has(id));
}

/** The sources `events: aws` delivers as SQS records. */
const SQS_KINDS: ReadonlySet<EventSource['kind']> = new Set(['topic', 'webhook', 'kv', 'postgres']);

function cloudEventShape(d: DeliveredEvent, fn: string): unknown {
  const source = d.event.source;
  switch (source.kind) {
    case 'topic':
      return source.event;
    case 'schedule':
      return scheduleCloudEvent(source, fn);
    case 'webhook':
      return webhookCloudEvent(d, source);
    case 'kv':
      return kvCloudEvent(d, source);
    case 'bucket':
      return bucketCloudEvent(d, source);
    case 'postgres':
      return postgresCloudEvent(d, source);
    case 'invoke':
      return source.data;
    case 'stream':
      return streamCloudEvents(source);
  }
}

function awsShape(delivered: readonly DeliveredEvent[], fn: string): unknown {
  const source = delivered[0]!.event.source;
  switch (source.kind) {
    case 'schedule':
      return scheduledEvent(fn, source.tick);
    case 'invoke':
      return source.data;
    case 'bucket':
      return { Records: delivered.map((d) => s3Record(d, d.event.source as SourceOf<'bucket'>)) };
    case 'stream': {
      // one SQS record per broker message, its id the message's (partial batch answers are not read)
      const d = delivered[0]!;
      const records = source.messages.map((m) =>
        sqsRecord({ ...d, messageId: m.id }, streamCloudEvent(source, m), `${fn}-stream`),
      );
      return { Records: records } satisfies SqsEvent;
    }
    case 'topic':
    case 'webhook':
    case 'kv':
    case 'postgres':
      return { Records: delivered.map((d) => awsRecord(d, fn)) } satisfies SqsEvent;
  }
}

function awsRecord(d: DeliveredEvent, fn: string) {
  const source = d.event.source;
  if (source.kind === 'topic') return sqsRecord(d, source.event, source.topic);
  if (source.kind === 'webhook') return sqsRecord(d, webhookCloudEvent(d, source), `${fn}-webhook`);
  if (source.kind === 'kv') return sqsRecord(d, kvCloudEvent(d, source), `${fn}-kv`);
  if (source.kind === 'postgres') return sqsRecord(d, postgresCloudEvent(d, source), `${fn}-postgres`);
  throw new Error(`awsRecord: a ${source.kind} event is not an SQS record`);
}

/** A batch of broker messages: an array above `batch: 1` (even of one message), else the event itself. */
function streamCloudEvents(source: SourceOf<'stream'>): unknown {
  const events = source.messages.map((m) => streamCloudEvent(source, m));
  return source.batch > 1 ? events : events[0];
}

/** `gust.stream.message`: data {from, subject, headers, payload, encoding}; subject the topic it came on. */
function streamCloudEvent(source: SourceOf<'stream'>, m: StreamMessage): CloudEventJson {
  return {
    specversion: '1.0',
    id: m.id,
    source: `/gust/streams/${source.from}`,
    type: 'gust.stream.message',
    subject: m.subject,
    time: m.receivedAt,
    datacontenttype: 'application/json',
    data: {
      from: source.from,
      subject: m.subject,
      headers: m.headers,
      payload: m.payload,
      encoding: m.encoding,
    },
  };
}

/** `gust.kv.put` / `gust.kv.delete`: data {namespace, key, value?} (the value of a put up to 64 KB). */
function kvCloudEvent(d: DeliveredEvent, source: SourceOf<'kv'>): CloudEventJson {
  return {
    specversion: '1.0',
    id: d.messageId,
    source: `/gust/kv/${source.namespace}`,
    type: `gust.kv.${source.op}`,
    subject: source.key,
    time: source.at,
    datacontenttype: 'application/json',
    data: {
      namespace: source.namespace,
      key: source.key,
      ...(source.value === undefined ? {} : { value: source.value }),
    },
  };
}

/** `gust.bucket.object.created|deleted`: data {bucket, key, how, size, etag, contentType} (the last four for created). */
function bucketCloudEvent(d: DeliveredEvent, source: SourceOf<'bucket'>): CloudEventJson {
  return {
    specversion: '1.0',
    id: d.messageId,
    source: `/gust/buckets/${source.bucket}`,
    type: `gust.bucket.object.${source.op}`,
    subject: source.key,
    time: source.at,
    datacontenttype: 'application/json',
    data: {
      bucket: source.bucket,
      key: source.key,
      ...(source.how === undefined ? {} : { how: source.how }),
      ...(source.size === undefined ? {} : { size: source.size }),
      ...(source.etag === undefined ? {} : { etag: source.etag }),
      ...(source.contentType === undefined ? {} : { contentType: source.contentType }),
    },
  };
}

/** `gust.postgres.insert|update|delete`: data {schema, table, old, new}. */
function postgresCloudEvent(d: DeliveredEvent, source: SourceOf<'postgres'>): CloudEventJson {
  return {
    specversion: '1.0',
    id: d.messageId,
    source: `/gust/postgres/${source.schema}.${source.table}`,
    type: `gust.postgres.${source.op}`,
    subject: source.seq,
    time: source.at,
    datacontenttype: 'application/json',
    data: { schema: source.schema, table: source.table, old: source.old, new: source.new },
  };
}

function scheduleCloudEvent(source: SourceOf<'schedule'>, fn: string): CloudEventJson {
  return {
    specversion: '1.0',
    id: `${fn}:${source.tick}`,
    source: `/gust/functions/${fn}/schedule`,
    type: 'gust.schedule.tick',
    time: source.tick,
    datacontenttype: 'application/json',
    data: { cron: source.cron, timezone: source.timezone, scheduledTime: source.tick },
  };
}

function webhookCloudEvent(d: DeliveredEvent, source: SourceOf<'webhook'>): CloudEventJson {
  return {
    specversion: '1.0',
    id: source.deliveryId ?? d.messageId,
    source: `/gust/webhooks${source.path}`,
    type: 'gust.webhook.received',
    time: source.receivedAt,
    // the payload was parsed when it was JSON; else it is its text, or its base64 when not UTF-8
    ...(source.encoding === 'base64'
      ? { datacontenttype: 'application/octet-stream', data_base64: String(source.payload) }
      : {
          datacontenttype: source.encoding === 'json' ? 'application/json' : 'text/plain',
          data: source.payload,
        }),
    ...(source.eventName !== null && { webhookevent: source.eventName }),
    ...(source.deliveryId !== null && { webhookdelivery: source.deliveryId }),
    webhookverifier: source.verify,
  };
}
