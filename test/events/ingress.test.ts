import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { CloudEvent, emitterFor, HTTP, type Message, Mode } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { INGRESS_LIMITS, type IngressOutcome, readCloudEvents, wrapData } from '../../src/events/ingress.js';

/** A request as the gateway hands it over: node's header object and the raw body. */
function request(message: Message): { headers: IncomingHttpHeaders; body: Buffer } {
  const body = message.body;
  return {
    headers: message.headers,
    body:
      body === undefined
        ? Buffer.alloc(0)
        : typeof body === 'string'
          ? Buffer.from(body)
          : Buffer.from(body as Uint8Array),
  };
}

/** What the SDK's emitter would put on the wire in a mode. */
function emitted(event: CloudEvent<unknown>, mode: Mode): Message {
  let sent: Message | undefined;
  const emit = emitterFor(
    (message: Message) => {
      sent = message;
      return Promise.resolve();
    },
    { binding: HTTP, mode },
  );
  void emit(event);
  return sent!;
}

/** The event as it was sent: its JSON form, per the SDK's own serializer. */
function asSent(event: CloudEvent<unknown>): unknown {
  return JSON.parse(event.toString());
}

function events(outcome: IngressOutcome): unknown[] {
  if (!outcome.ok) throw new Error(`refused ${outcome.status}: ${outcome.message}`);
  return outcome.events;
}

function refusal(outcome: IngressOutcome): { status: number; message: string } {
  if (outcome.ok) throw new Error('accepted');
  expect(outcome.message).not.toMatch(/\n/);
  return { status: outcome.status, message: outcome.message };
}

const order = () =>
  new CloudEvent<unknown>({
    source: '/shop/orders',
    type: 'com.example.order.created',
    subject: 'order-42',
    datacontenttype: 'application/json',
    data: { id: 42, items: ['umbrella'], total: 9.5 },
    tenant: 'acme',
    priority: 3,
  });

const structured = (value: unknown, limits = INGRESS_LIMITS) =>
  readCloudEvents(
    { headers: { 'content-type': 'application/cloudevents+json' }, body: Buffer.from(JSON.stringify(value)) },
    limits,
  );
const batch = (value: unknown) =>
  readCloudEvents({
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: Buffer.from(JSON.stringify(value)),
  });
const binary = (headers: IncomingHttpHeaders, body = '') =>
  readCloudEvents({ headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(body) });
const ceHeaders = { 'ce-id': '1', 'ce-source': '/s', 'ce-type': 't', 'ce-specversion': '1.0' };
const minimal = { specversion: '1.0', id: '1', source: '/s', type: 't' };

describe('readCloudEvents reads what the CloudEvents SDK sends', () => {
  it('reads a binary-mode event back equal to what was sent', () => {
    const event = order();
    const message = emitted(event, Mode.BINARY);
    expect(message.headers['ce-id']).toBe(event.id);
    expect(events(readCloudEvents(request(message)))).toStrictEqual([asSent(event)]);
  });

  it('reads a structured-mode event back equal to what was sent', () => {
    const event = order();
    const message = emitted(event, Mode.STRUCTURED);
    expect(message.headers['content-type']).toMatch(/^application\/cloudevents\+json/);
    expect(events(readCloudEvents(request(message)))).toStrictEqual([asSent(event)]);
  });

  it('reads a batch back equal to what was sent, in order', () => {
    // the SDK has no batch serializer (its emitter throws for Mode.BATCH): a batch is the JSON
    // array of its events' JSON format, which is what its serializer (toString) writes
    const sent = [order(), order(), new CloudEvent<unknown>({ source: '/a', type: 'b', data: 'text' })];
    const message = {
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: `[${sent.join(',')}]`,
    };
    expect(HTTP.toEvent(message)).toHaveLength(3); // the SDK reads it as a batch too
    expect(events(readCloudEvents(request(message)))).toStrictEqual(sent.map(asSent));
  });

  it('keeps binary data binary in both modes, as data_base64', () => {
    const bytes = new Uint8Array([0, 1, 2, 0xfe, 0xff, 0x80]);
    const event = new CloudEvent<unknown>({
      source: '/cam',
      type: 'image.taken',
      datacontenttype: 'application/octet-stream',
      data: bytes,
    });
    const expected = { ...(asSent(event) as object), data_base64: Buffer.from(bytes).toString('base64') };
    for (const mode of [Mode.BINARY, Mode.STRUCTURED]) {
      const read = events(readCloudEvents(request(emitted(event, mode))));
      expect(read).toStrictEqual([expected]);
      expect(read[0]).not.toHaveProperty('data');
    }
  });

  it('keeps JSON scalars and falsy data as sent, which the SDK alone would turn into strings or drop', () => {
    expect(events(binary(ceHeaders, '42'))).toEqual([
      { ...minimal, datacontenttype: 'application/json', data: 42 },
    ]);
    expect(events(binary(ceHeaders, 'false'))).toEqual([
      { ...minimal, datacontenttype: 'application/json', data: false },
    ]);
    expect(events(structured({ ...minimal, data: 0 }))).toStrictEqual([{ ...minimal, data: 0 }]);
    expect(events(structured({ ...minimal, data: '' }))).toStrictEqual([{ ...minimal, data: '' }]);
  });

  it('reads text data as a string and data of no known type as base64', () => {
    const text = readCloudEvents({
      headers: { ...ceHeaders, 'content-type': 'text/plain; charset=utf-8' },
      body: Buffer.from('héllo'),
    });
    expect(events(text)).toEqual([
      { ...minimal, datacontenttype: 'text/plain; charset=utf-8', data: 'héllo' },
    ]);
    const raw = readCloudEvents({ headers: { ...ceHeaders }, body: Buffer.from([1, 2, 3]) });
    expect(events(raw)).toEqual([{ ...minimal, data_base64: 'AQID' }]);
  });

  it('leaves out a time the sender left out, rather than the time the SDK would make up', () => {
    expect(events(structured(minimal))).toStrictEqual([minimal]);
    expect(events(binary(ceHeaders))).toStrictEqual([{ ...minimal, datacontenttype: 'application/json' }]);
  });

  it('accepts an event of exactly the size limit', () => {
    const limits = {
      ...INGRESS_LIMITS,
      maxEventBytes: JSON.stringify({ ...minimal, data: 'x'.repeat(100) }).length,
    };
    expect(events(structured({ ...minimal, data: 'x'.repeat(100) }, limits))).toHaveLength(1);
  });
});

describe('readCloudEvents refuses, in one line', () => {
  it('an event missing required attributes, naming them, in every mode', () => {
    const { 'ce-source': _, 'ce-type': __, ...partial } = ceHeaders;
    expect(refusal(binary(partial))).toEqual({
      status: 400,
      message: 'missing required attributes: ce-source, ce-type',
    });
    const { id: ___, ...noId } = minimal;
    expect(refusal(structured(noId))).toEqual({ status: 400, message: 'missing required attribute: id' });
    expect(refusal(batch([minimal, noId]))).toEqual({
      status: 400,
      message: 'event 1: missing required attribute: id',
    });
    expect(refusal(structured({ ...minimal, type: '' })).message).toBe('type must be a non-empty string');
  });

  it('a specversion other than 1.0', () => {
    expect(refusal(structured({ ...minimal, specversion: '0.3' }))).toEqual({
      status: 400,
      message: 'specversion "0.3" is not supported: Gust reads CloudEvents 1.0',
    });
    expect(refusal(binary({ ...ceHeaders, 'ce-specversion': '2.0' })).message).toMatch(
      /ce-specversion "2.0"/,
    );
  });

  it('what the SDK checks: a source that is no URI-reference', () => {
    expect(refusal(structured({ ...minimal, source: 'not a uri' }))).toEqual({
      status: 400,
      message: 'source must match format "uri-reference"',
    });
  });

  it('a time that is no RFC 3339 timestamp, which the SDK would replace with now', () => {
    expect(refusal(structured({ ...minimal, time: 'yesterday' })).message).toBe(
      'time "yesterday" is not an RFC 3339 timestamp',
    );
    expect(refusal(binary({ ...ceHeaders, 'ce-time': '2026-13-45' })).status).toBe(400);
  });

  it('extension names that are not lower-case a-z0-9 or are over 20 characters', () => {
    expect(refusal(structured({ ...minimal, TenantId: 'x' })).message).toMatch(/^extension name "TenantId"/);
    expect(refusal(structured({ ...minimal, tenant_id: 'x' })).message).toMatch(
      /^extension name "tenant_id"/,
    );
    expect(refusal(structured({ ...minimal, abcdefghijklmnopqrstu: 'x' })).message).toMatch(
      /^extension name "abcdefghijklmnopqrstu".*20 characters/,
    );
    expect(events(structured({ ...minimal, abcdefghijklmnopqrst: 'x' }))).toHaveLength(1);
    expect(refusal(binary({ ...ceHeaders, 'ce-my-ext': 'x' })).message).toMatch(
      /^extension name "ce-my-ext"/,
    );
  });

  it('extension values that are not strings, integers or booleans', () => {
    expect(refusal(structured({ ...minimal, tags: ['a'] })).message).toBe(
      'extension tags must be a string, an integer or a boolean',
    );
  });

  it('a body that is not JSON where JSON is declared', () => {
    expect(refusal(binary(ceHeaders, '{"id": 4'))).toMatchObject({
      status: 400,
      message: expect.stringMatching(/^the body is not JSON, though its content-type is application\/json/),
    });
    const bad = {
      headers: { 'content-type': 'application/cloudevents+json' },
      body: Buffer.from('{oops\n}'),
    };
    expect(refusal(readCloudEvents(bad)).status).toBe(400);
    expect(refusal(structured([minimal])).message).toMatch(/one JSON object/);
  });

  it('an event with both data and data_base64, which exclude each other', () => {
    expect(refusal(structured({ ...minimal, data: 1, data_base64: 'AQ==' }))).toEqual({
      status: 400,
      message: 'data and data_base64 exclude each other',
    });
  });

  it('an empty batch, and a batch of more than 1,000 events with 413', () => {
    expect(refusal(batch([]))).toEqual({
      status: 400,
      message: 'the batch is empty: send at least one CloudEvent',
    });
    const many = Array.from({ length: 1001 }, (_, i) => ({ ...minimal, id: String(i) }));
    expect(refusal(batch(many))).toEqual({
      status: 413,
      message: 'the batch has 1001 events; at most 1000 are accepted per request',
    });
    expect(events(batch(many.slice(0, 1000)))).toHaveLength(1000);
  });

  it('an event over 256 KB as JSON with 413, in every mode', () => {
    const big = 'x'.repeat(256 * 1024);
    expect(refusal(structured({ ...minimal, data: big })).status).toBe(413);
    expect(refusal(binary(ceHeaders, JSON.stringify(big))).status).toBe(413);
    expect(refusal(batch([minimal, { ...minimal, data: big }]))).toMatchObject({
      status: 413,
      message: expect.stringMatching(/^event 1: the event is \d+ bytes as JSON; at most 262144/),
    });
  });

  it('a content type that is none of the three modes with 415, naming them', () => {
    const plain = refusal(
      readCloudEvents({ headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') }),
    );
    expect(plain.status).toBe(415);
    expect(plain.message).toMatch(
      /binary mode.*application\/cloudevents\+json.*application\/cloudevents-batch\+json/,
    );
    const xml = refusal(
      readCloudEvents({
        headers: { 'content-type': 'application/cloudevents+xml' },
        body: Buffer.from('<e/>'),
      }),
    );
    expect(xml.status).toBe(415);
  });
});

describe('wrapData', () => {
  it('wraps published data in a gust.topic.message CloudEvent with a UUIDv7 id and the time now', () => {
    const now = Date.UTC(2026, 2, 1, 10, 0, 0);
    const event = wrapData('orders', { id: 42 }, { now });
    expect(event).toEqual({
      specversion: '1.0',
      id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      source: '/gust/topics/orders',
      type: 'gust.topic.message',
      time: '2026-03-01T10:00:00.000Z',
      datacontenttype: 'application/json',
      data: { id: 42 },
    });
    expect(event.id.replace('-', '').slice(0, 12)).toBe(now.toString(16).padStart(12, '0'));
    expect(wrapData('orders', 1).id).not.toBe(wrapData('orders', 1).id);
  });

  it('makes an event the SDK finds valid and the ingress reads back unchanged', () => {
    const event = wrapData('orders', { id: 42 });
    expect(new CloudEvent(event).validate()).toBe(true);
    expect(events(structured(event))).toStrictEqual([event]);
  });
});
