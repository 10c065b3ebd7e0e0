/**
 * events/aws-shapes: the AWS Lambda event shapes that `events: aws` functions receive, so that
 * handlers written for AWS run unmodified: SQS records for queued messages, the EventBridge
 * Scheduled Event for schedule ticks. Pure builders; which source takes which shape is decided in
 * events/shapes.ts. References: the golden samples test/fixtures/aws-events/sqs-batch.json and
 * eventbridge-scheduled.json.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { CloudEventJson, DeliveredEvent } from './types.js';

/** The region and account of the ARNs Gust makes up, the same as the sandbox's invokedFunctionArn. */
/** The region Gust answers as (GetBucketLocation, the Lambda API): the one AWS tools default to. */
const REGION = 'us-east-1';
const ACCOUNT_ID = '000000000000';

export interface SqsMessageAttribute {
  readonly stringValue: string;
  readonly stringListValues: readonly string[];
  readonly binaryListValues: readonly string[];
  readonly dataType: 'String';
}

export interface SqsRecord {
  readonly messageId: string;
  readonly receiptHandle: string;
  readonly body: string;
  readonly attributes: {
    readonly ApproximateReceiveCount: string;
    readonly SentTimestamp: string;
    readonly SenderId: string;
    readonly ApproximateFirstReceiveTimestamp: string;
  };
  readonly messageAttributes: Readonly<Record<string, SqsMessageAttribute>>;
  readonly md5OfBody: string;
  readonly md5OfMessageAttributes: string;
  readonly eventSource: 'aws:sqs';
  readonly eventSourceARN: string;
  readonly awsRegion: string;
}

export interface SqsEvent {
  readonly Records: readonly SqsRecord[];
}

export interface ScheduledEvent {
  readonly version: '0';
  readonly id: string;
  readonly 'detail-type': 'Scheduled Event';
  readonly source: 'aws.events';
  readonly account: string;
  readonly time: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: Readonly<Record<string, never>>;
}

/**
 * The SQS record of one queue message that carries a CloudEvent: the CloudEvent in binary mode, as
 * the CloudEvents HTTP binding sends one, since an SQS message has the same two parts. The data is
 * the body, as text because SQS bodies are text (JSON as its text, a string as it is, binary data as
 * its base64); every other attribute is a `ce-<name>` String message attribute, so a handler can
 * still tell the events of one queue apart (`ce-type`) without a Gust-only field.
 * `queue` names the queue in `eventSourceARN` (a topic, say).
 */
export function sqsRecord(delivered: DeliveredEvent, event: CloudEventJson, queue: string): SqsRecord {
  const body = bodyText(event);
  const messageAttributes = ceAttributes(event);
  return {
    messageId: delivered.messageId,
    // there is no SQS API to hand it back to; like SQS's, it differs on every delivery
    receiptHandle: `${delivered.messageId}:${delivered.attempt}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(delivered.attempt),
      SentTimestamp: String(delivered.enqueuedAt),
      // AWS names the sender's IAM identity; Gust has none, so the made-up account stands for it
      SenderId: ACCOUNT_ID,
      // the first delivery's time is not kept: a message waits little on an idle queue, and
      // "approximate" allows the time it was accepted
      ApproximateFirstReceiveTimestamp: String(delivered.enqueuedAt),
    },
    messageAttributes,
    md5OfBody: createHash('md5').update(body, 'utf8').digest('hex'),
    md5OfMessageAttributes: md5OfMessageAttributes(messageAttributes),
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:${queue}`,
    awsRegion: REGION,
  };
}

/** A schedule tick (its due time, ISO) as AWS EventBridge delivers a scheduled rule's event. */
export function scheduledEvent(fn: string, tick: string): ScheduledEvent {
  return {
    version: '0',
    id: uuidFrom(`${fn}:${tick}`),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT_ID,
    // EventBridge writes whole seconds: 2019-10-08T16:53:06Z
    time: new Date(tick).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT_ID}:rule/${fn}-schedule`],
    detail: {},
  };
}

/**
 * SQS's digest of message attributes: over the attributes sorted by name, each name, data type and
 * value with a 4-byte big-endian length before it, and a transport byte (1: string) before the value.
 */
export function md5OfMessageAttributes(attributes: Readonly<Record<string, SqsMessageAttribute>>): string {
  const hash = createHash('md5');
  const withLength = (text: string): void => {
    const bytes = Buffer.from(text, 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  };
  // names are ASCII (`ce-` and an attribute name), so code unit order is byte order
  for (const name of Object.keys(attributes).sort()) {
    const attribute = attributes[name]!;
    withLength(name);
    withLength(attribute.dataType);
    hash.update(STRING_TRANSPORT);
    withLength(attribute.stringValue);
  }
  return hash.digest('hex');
}

const STRING_TRANSPORT = Uint8Array.of(1);

function bodyText(event: CloudEventJson): string {
  if (typeof event.data_base64 === 'string') return event.data_base64;
  if (event.data === undefined) return '';
  return typeof event.data === 'string' ? event.data : JSON.stringify(event.data);
}

function ceAttributes(event: CloudEventJson): Record<string, SqsMessageAttribute> {
  const attributes: Record<string, SqsMessageAttribute> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || value === undefined || value === null) continue;
    attributes[`ce-${name}`] = {
      stringValue: typeof value === 'string' ? value : JSON.stringify(value),
      stringListValues: [],
      binaryListValues: [],
      dataType: 'String',
    };
  }
  return attributes;
}

/**
 * A UUID (version 5 layout) derived from a key: EventBridge ids are UUIDs, and one derived from the
 * function and the tick stays the same on every retry of the tick, as the CloudEvent id does.
 */
function uuidFrom(key: string): string {
  const bytes = createHash('sha1').update(key, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** S3 writes a record's key form-encoded: `+` for a space, `/` left as it is. */
function s3EncodedKey(key: string): string {
  return encodeURIComponent(key).replaceAll('%20', '+').replaceAll('%2F', '/');
}

/**
 * The S3 event notification record of a bucket change, as AWS sends it to Lambda (reference:
 * shared/reference/aws-events/s3-put.json): `ObjectCreated:Put|Copy|CompleteMultipartUpload` or
 * `ObjectRemoved:Delete`, the key
 * URL-encoded as AWS does, size and eTag for created objects.
 */
const CREATED_BY = { put: 'Put', copy: 'Copy', multipart: 'CompleteMultipartUpload' } as const;

export function s3Record(
  delivered: DeliveredEvent,
  source: {
    readonly bucket: string;
    readonly key: string;
    readonly op: 'created' | 'deleted';
    readonly how?: 'put' | 'copy' | 'multipart';
    readonly size?: number;
    readonly etag?: string;
    readonly at: string;
  },
) {
  const created = source.op === 'created';
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: REGION,
    eventTime: source.at,
    eventName: created ? `ObjectCreated:${CREATED_BY[source.how ?? 'put']}` : 'ObjectRemoved:Delete',
    userIdentity: { principalId: 'gust' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: {
      'x-amz-request-id': delivered.messageId.replaceAll('-', '').slice(0, 16).toUpperCase(),
      'x-amz-id-2': delivered.messageId,
    },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: `gust-${delivered.event.function}`,
      bucket: {
        name: source.bucket,
        ownerIdentity: { principalId: 'gust' },
        arn: `arn:aws:s3:::${source.bucket}`,
      },
      object: {
        key: s3EncodedKey(source.key),
        ...(created ? { size: source.size ?? 0, eTag: source.etag ?? '' } : {}),
        sequencer: Date.parse(source.at).toString(16).toUpperCase().padStart(16, '0'),
      },
    },
  };
}
