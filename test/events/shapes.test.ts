import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CloudEvent } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { md5OfMessageAttributes, type SqsEvent, type SqsRecord } from '../../src/events/aws-shapes.js';
import { type DeliveryTarget, failedMessages, shapeEvent } from '../../src/events/shapes.js';
import type { CloudEventJson, DeliveredEvent, EventSource } from '../../src/events/types.js';

function golden(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../fixtures/aws-events/${name}`, import.meta.url), 'utf8'));
}

/** Keys and value types, recursively: what a handler written against AWS may rely on. */
function shapeOf(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(shapeOf);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
  }
  return value === null ? 'null' : typeof value;
}

let seq = 0;
function delivered(source: EventSource, overrides: Partial<DeliveredEvent> = {}): DeliveredEvent {
  seq++;
  return {
    messageId: `msg-${seq}`,
    attempt: 1,
    enqueuedAt: 1_780_000_000_000 + seq,
    event: {
      v: 1,
      function: 'worker',
      trigger: source.kind,
      invocationId: `inv-${seq}`,
      traceId: 't',
      source,
    },
    ...overrides,
  };
}

function published(data: unknown, extra: Record<string, unknown> = {}): CloudEventJson {
  return {
    specversion: '1.0',
    id: `ev-${++seq}`,
    source: '/shop/orders',
    type: 'com.example.order.created',
    time: '2026-03-01T10:00:00.000Z',
    datacontenttype: 'application/json',
    data,
    ...extra,
  };
}

const topic = (event: CloudEventJson): EventSource => ({ kind: 'topic', topic: 'orders', event });
const tick: EventSource = {
  kind: 'schedule',
  cron: '0 3 * * *',
  timezone: 'Europe/Paris',
  tick: '2026-03-01T02:00:00.000Z',
};
const webhook: EventSource = {
  kind: 'webhook',
  path: '/hooks/github',
  verify: 'github',
  eventName: 'push',
  deliveryId: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  payload: { ref: 'refs/heads/main' },
  encoding: 'json',
  receivedAt: '2026-03-01T10:00:01.000Z',
};

const ce = (batch = 1): DeliveryTarget => ({ function: 'worker', events: 'cloudevents', batch });
const aws = (batch = 1): DeliveryTarget => ({ function: 'worker', events: 'aws', batch });

/** What the CloudEvents SDK makes of an event, strictly validated (it throws on an invalid one). */
function sdkValid(event: unknown): unknown {
  return new CloudEvent(event as CloudEventJson).validate();
}

describe('shapeEvent with events: cloudevents', () => {
  it('hands a topic message over as the very CloudEvent it was published as', () => {
    const event = published({ id: 42 }, { tenant: 'acme' });
    expect(shapeEvent([delivered(topic(event))], ce())).toBe(event);
  });

  it('makes a schedule tick a gust.schedule.tick CloudEvent whose id is the function and the tick', () => {
    const shaped = shapeEvent([delivered(tick)], ce());
    expect(shaped).toEqual({
      specversion: '1.0',
      id: 'worker:2026-03-01T02:00:00.000Z',
      source: '/gust/functions/worker/schedule',
      type: 'gust.schedule.tick',
      time: '2026-03-01T02:00:00.000Z',
      datacontenttype: 'application/json',
      data: { cron: '0 3 * * *', timezone: 'Europe/Paris', scheduledTime: '2026-03-01T02:00:00.000Z' },
    });
    expect(sdkValid(shaped)).toBe(true);
  });

  it('makes a webhook a gust.webhook.received CloudEvent with the sender event name and delivery id as extensions', () => {
    const shaped = shapeEvent([delivered(webhook)], ce());
    expect(shaped).toEqual({
      specversion: '1.0',
      id: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      source: '/gust/webhooks/hooks/github',
      type: 'gust.webhook.received',
      time: '2026-03-01T10:00:01.000Z',
      datacontenttype: 'application/json',
      data: { ref: 'refs/heads/main' },
      webhookevent: 'push',
      webhookdelivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      webhookverifier: 'github',
    });
    expect(sdkValid(shaped)).toBe(true);
  });

  it('gives a webhook payload that is not UTF-8 as data_base64, never as text', () => {
    const binary: EventSource = {
      ...(webhook as Extract<EventSource, { kind: 'webhook' }>),
      payload: Buffer.from([0xff, 0xfe, 0x00]).toString('base64'),
      encoding: 'base64',
    };
    const shaped = shapeEvent([delivered(binary)], ce()) as Record<string, unknown>;
    expect(shaped.data_base64).toBe('//4A');
    expect('data' in shaped).toBe(false);
    expect(shaped.datacontenttype).toBe('application/octet-stream');
  });

  it('gives a webhook without a delivery id the queue message id, and no extension the sender did not give', () => {
    const bare: EventSource = {
      ...(webhook as Extract<EventSource, { kind: 'webhook' }>),
      verify: 'hmac-sha256',
      eventName: null,
      deliveryId: null,
      payload: 'a=1&b=2',
      encoding: 'text',
    };
    const d = delivered(bare);
    const shaped = shapeEvent([d], ce()) as Record<string, unknown>;
    expect(shaped.id).toBe(d.messageId);
    expect(shaped.data).toBe('a=1&b=2');
    expect(shaped.datacontenttype).toBe('text/plain');
    expect(shaped).not.toHaveProperty('webhookevent');
    expect(shaped).not.toHaveProperty('webhookdelivery');
    expect(shaped.webhookverifier).toBe('hmac-sha256');
    expect(sdkValid(shaped)).toBe(true);
  });

  it('passes an async invocation its data as it was given, not wrapped', () => {
    const data = { orderId: 7, items: ['a'] };
    expect(shapeEvent([delivered({ kind: 'invoke', data })], ce())).toBe(data);
    expect(shapeEvent([delivered({ kind: 'invoke', data: 'plain' })], ce())).toBe('plain');
  });

  it('hands a topic trigger with batch 10 an array of events, even when one message was waiting', () => {
    const one = published(1);
    expect(shapeEvent([delivered(topic(one))], ce(10))).toEqual([one]);
    const events = [published(1), published(2), published(3)];
    const shaped = shapeEvent(
      events.map((e) => delivered(topic(e))),
      ce(10),
    ) as unknown[];
    expect(shaped).toHaveLength(3);
    for (const [i, e] of shaped.entries()) expect(e).toBe(events[i]);
  });

  it('hands a topic trigger with batch 1 the event itself, not an array', () => {
    const one = published(1);
    expect(shapeEvent([delivered(topic(one))], ce(1))).toBe(one);
  });

  it('refuses deliveries no caller should make: none, over the batch, ticks in a batch, mixed kinds', () => {
    expect(() => shapeEvent([], ce())).toThrow(/nothing/);
    expect(() =>
      shapeEvent([delivered(topic(published(1))), delivered(topic(published(2)))], ce(1)),
    ).toThrow();
    expect(() => shapeEvent([delivered(tick), delivered(tick)], ce(10))).toThrow();
    expect(() => shapeEvent([delivered(topic(published(1))), delivered(webhook)], ce(10))).toThrow(
      /one kind/,
    );
  });
});

describe('shapeEvent with events: aws', () => {
  const sqsGolden = golden('sqs-batch.json') as { Records: Record<string, unknown>[] };
  const goldenRecord = sqsGolden.Records[0]!;
  const goldenAttribute = (goldenRecord.messageAttributes as Record<string, unknown>).Attribute1;

  /** A record's shape against the golden one: every key, and each message attribute like Attribute1. */
  function expectGoldenShape(record: SqsRecord): void {
    const { messageAttributes, ...rest } = record;
    const { messageAttributes: _, ...goldenRest } = goldenRecord;
    expect(shapeOf(rest)).toEqual(shapeOf(goldenRest));
    expect(Object.keys(messageAttributes).length).toBeGreaterThan(0);
    for (const attribute of Object.values(messageAttributes))
      expect(shapeOf(attribute)).toEqual(shapeOf(goldenAttribute));
  }

  it('makes topic messages one SQS event with a record per message, key for key like the golden sample', () => {
    const events = [published({ n: 1 }), published({ n: 2 })];
    const ds = events.map((e, i) => delivered(topic(e), { attempt: i + 1 }));
    const shaped = shapeEvent(ds, aws(10)) as SqsEvent;
    expect(Object.keys(shaped)).toEqual(Object.keys(sqsGolden));
    expect(shaped.Records).toHaveLength(2);
    for (const record of shaped.Records) expectGoldenShape(record);
    expect(shaped.Records.map((r) => r.messageId)).toEqual(ds.map((d) => d.messageId));
    expect(shaped.Records.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2']);
    expect(shaped.Records[0]!.attributes.SentTimestamp).toBe(String(ds[0]!.enqueuedAt));
    expect(shaped.Records[0]!.eventSource).toBe('aws:sqs');
    expect(shaped.Records[0]!.eventSourceARN).toMatch(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:orders$/);
  });

  it('gives even one topic message with batch 1 the {Records} batch, as Lambda does', () => {
    const shaped = shapeEvent([delivered(topic(published('x')))], aws(1)) as SqsEvent;
    expect(shaped.Records).toHaveLength(1);
  });

  it('puts the published data in the body as JSON text, a string as it is, binary data as its base64', () => {
    const body = (event: CloudEventJson) =>
      (shapeEvent([delivered(topic(event))], aws()) as SqsEvent).Records[0]!.body;
    expect(body(published({ id: 42, tags: ['a'] }))).toBe('{"id":42,"tags":["a"]}');
    expect(body(published('hello "world"'))).toBe('hello "world"');
    expect(body(published(0))).toBe('0');
    const { data: _, ...noData } = published(null);
    expect(body({ ...noData, datacontenttype: 'image/png', data_base64: 'iVBORw0K' })).toBe('iVBORw0K');
  });

  it("carries the CloudEvent's other attributes as ce- message attributes, with SQS's MD5 digests", () => {
    const event = published({ id: 1 }, { tenant: 'acme', priority: 3 });
    const record = (shapeEvent([delivered(topic(event))], aws()) as SqsEvent).Records[0]!;
    const values = Object.fromEntries(
      Object.entries(record.messageAttributes).map(([k, v]) => [k, v.stringValue]),
    );
    expect(values).toEqual({
      'ce-specversion': '1.0',
      'ce-id': event.id,
      'ce-source': '/shop/orders',
      'ce-type': 'com.example.order.created',
      'ce-time': '2026-03-01T10:00:00.000Z',
      'ce-datacontenttype': 'application/json',
      'ce-tenant': 'acme',
      'ce-priority': '3',
    });
    expect(record.body).toBe('{"id":1}');
    expect(record.md5OfBody).toBe(createHash('md5').update('{"id":1}').digest('hex'));
    expect(record.md5OfMessageAttributes).toBe(md5OfMessageAttributes(record.messageAttributes));
  });

  it("computes SQS's message attribute digest as Amazon's own sample has it", () => {
    const attribute = (stringValue: string) =>
      ({ stringValue, stringListValues: [], binaryListValues: [], dataType: 'String' }) as const;
    const digest = md5OfMessageAttributes({
      test_attribute_name_2: attribute('test_attribute_value_2'),
      test_attribute_name_1: attribute('test_attribute_value_1'),
    });
    expect(digest).toBe('d53f3b558fe951154770f25cb63dbba9');
  });

  it('makes a schedule tick an EventBridge Scheduled Event, key for key like the golden sample', () => {
    const shaped = shapeEvent([delivered(tick)], aws()) as Record<string, unknown>;
    const sample = golden('eventbridge-scheduled.json');
    expect(shapeOf(shaped)).toEqual(shapeOf(sample));
    expect(shaped['detail-type']).toBe('Scheduled Event');
    expect(shaped.source).toBe('aws.events');
    expect(shaped.time).toBe('2026-03-01T02:00:00Z');
    expect(shaped.resources).toEqual([
      expect.stringMatching(/^arn:aws:events:[a-z0-9-]+:\d{12}:rule\/worker-schedule$/),
    ]);
    expect(shaped.detail).toEqual({});
    expect(shaped.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('gives every retry of one tick the same EventBridge id, and another tick another', () => {
    const id = (source: EventSource, attempt: number) =>
      (shapeEvent([delivered(source, { attempt })], aws()) as { id: string }).id;
    expect(id(tick, 1)).toBe(id(tick, 3));
    expect(id(tick, 1)).not.toBe(id({ ...tick, tick: '2026-03-02T02:00:00.000Z' }, 1));
  });

  it('makes a webhook an SQS record whose body is the payload text and whose attributes name the sender event', () => {
    const d = delivered(webhook);
    const shaped = shapeEvent([d], aws()) as SqsEvent;
    expect(shaped.Records).toHaveLength(1);
    const record = shaped.Records[0]!;
    expectGoldenShape(record);
    expect(record.messageId).toBe(d.messageId);
    expect(JSON.parse(record.body)).toEqual({ ref: 'refs/heads/main' });
    expect(record.messageAttributes['ce-type']?.stringValue).toBe('gust.webhook.received');
    expect(record.messageAttributes['ce-webhookevent']?.stringValue).toBe('push');
    expect(record.messageAttributes['ce-webhookdelivery']?.stringValue).toBe(
      '72d3162e-cc78-11e3-81ab-4c9367dc0958',
    );
    const text: EventSource = {
      ...(webhook as Extract<EventSource, { kind: 'webhook' }>),
      payload: 'a=1&b=2',
      encoding: 'text',
    };
    expect((shapeEvent([delivered(text)], aws()) as SqsEvent).Records[0]!.body).toBe('a=1&b=2');
  });

  it("passes an async invocation its data as it was given, as Lambda's Event invocations do", () => {
    const data = { orderId: 7 };
    expect(shapeEvent([delivered({ kind: 'invoke', data })], aws())).toBe(data);
  });
});

describe('failedMessages', () => {
  const batch = () => [published(1), published(2), published(3)].map((e) => delivered(topic(e)));

  it('names the messages a partial batch response lists, in delivery order', () => {
    const ds = batch();
    const result = {
      batchItemFailures: [{ itemIdentifier: ds[2]!.messageId }, { itemIdentifier: ds[0]!.messageId }],
    };
    expect(failedMessages(result, ds, 'aws')).toEqual([ds[0]!.messageId, ds[2]!.messageId]);
  });

  it('counts none failed for an empty list, a null one, or a result without batchItemFailures', () => {
    const ds = batch();
    expect(failedMessages({ batchItemFailures: [] }, ds, 'aws')).toEqual([]);
    expect(failedMessages({ batchItemFailures: null }, ds, 'aws')).toEqual([]);
    expect(failedMessages(undefined, ds, 'aws')).toEqual([]);
    expect(failedMessages({ statusCode: 200 }, ds, 'aws')).toEqual([]);
  });

  it('fails the whole batch for a malformed answer or an identifier of no message delivered', () => {
    const ds = batch();
    const all = ds.map((d) => d.messageId);
    expect(failedMessages({ batchItemFailures: [{ itemIdentifier: 'nope' }] }, ds, 'aws')).toEqual(all);
    expect(failedMessages({ batchItemFailures: [{ itemIdentifier: '' }] }, ds, 'aws')).toEqual(all);
    expect(failedMessages({ batchItemFailures: [{ id: ds[0]!.messageId }] }, ds, 'aws')).toEqual(all);
    expect(failedMessages({ batchItemFailures: [ds[0]!.messageId] }, ds, 'aws')).toEqual(all);
    expect(failedMessages({ batchItemFailures: 'all' }, ds, 'aws')).toEqual(all);
  });

  it('has no partial answer for cloudevents deliveries, EventBridge ticks or async invocations', () => {
    const ds = batch();
    const result = { batchItemFailures: [{ itemIdentifier: ds[0]!.messageId }] };
    expect(failedMessages(result, ds, 'cloudevents')).toBeUndefined();
    expect(failedMessages(result, [delivered(tick)], 'aws')).toBeUndefined();
    expect(failedMessages(result, [delivered({ kind: 'invoke', data: 1 })], 'aws')).toBeUndefined();
  });

  it('maps a webhook record back to its message like a topic record', () => {
    const d = delivered(webhook);
    expect(failedMessages({ batchItemFailures: [{ itemIdentifier: d.messageId }] }, [d], 'aws')).toEqual([
      d.messageId,
    ]);
  });
});

describe('postgres changes', () => {
  const update: EventSource = {
    kind: 'postgres',
    schema: 'shop',
    table: 'orders',
    op: 'update',
    old: { id: 7, paid: false, total: 12.5 },
    new: { id: 7, paid: true, total: 12.5 },
    at: '2026-05-01T10:00:00.000Z',
    seq: '42',
  };

  it('are CloudEvents gust.postgres.<op> with the table, the old and the new row as data', () => {
    const d = delivered(update);
    const event = shapeEvent([d], { function: 'worker', events: 'cloudevents', batch: 1 }) as CloudEventJson;
    expect(event).toEqual({
      specversion: '1.0',
      id: d.messageId,
      source: '/gust/postgres/shop.orders',
      type: 'gust.postgres.update',
      subject: '42',
      time: '2026-05-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: { schema: 'shop', table: 'orders', old: update.old, new: update.new },
    });
    expect(() => new CloudEvent(event as never)).not.toThrow();
  });

  it('are one SQS record with events: aws, whose body is the change', () => {
    const d = delivered(update);
    const shaped = shapeEvent([d], { function: 'worker', events: 'aws', batch: 1 }) as SqsEvent;
    expect(shaped.Records).toHaveLength(1);
    expect(JSON.parse(shaped.Records[0]!.body)).toEqual({
      schema: 'shop',
      table: 'orders',
      old: update.old,
      new: update.new,
    });
    expect(shaped.Records[0]!.messageId).toBe(d.messageId);
  });
});
