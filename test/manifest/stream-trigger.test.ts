/** The rules of `stream` triggers: what reads well is accepted with its defaults, mistakes say where and how to fix. */
import { describe, expect, it } from 'vitest';
import { checkManifest } from '../../src/manifest/schema.js';

function errorsOf(stream: unknown): string[] {
  return checkManifest({ functions: { f: { handler: 'f.ts', triggers: [{ stream }] } } }).errors;
}

describe('stream triggers in gust.yaml', () => {
  it('accepts mqtt, nats (core and JetStream) and amqp, with batch 1 and a 1 s window by default', () => {
    const { manifest, errors } = checkManifest({
      functions: {
        f: {
          handler: 'f.ts',
          triggers: [
            {
              stream: {
                from: 'mqtt',
                connection: 'BROKER',
                subject: 'sensors/+/temp',
                batch: 100,
                window: '2s',
              },
            },
            { stream: { from: 'nats', connection: 'NATS', subject: 'orders.>', stream: 'ORDERS' } },
            { stream: { from: 'amqp', connection: 'RABBIT', queue: 'readings' } },
          ],
        },
      },
    });
    expect(errors).toEqual([]);
    expect(manifest.functions[0]!.triggers).toEqual([
      {
        type: 'stream',
        from: 'mqtt',
        connection: 'BROKER',
        subject: 'sensors/+/temp',
        batch: 100,
        windowMs: 2000,
      },
      {
        type: 'stream',
        from: 'nats',
        connection: 'NATS',
        subject: 'orders.>',
        stream: 'ORDERS',
        batch: 1,
        windowMs: 1000,
      },
      { type: 'stream', from: 'amqp', connection: 'RABBIT', subject: 'readings', batch: 1, windowMs: 1000 },
    ]);
  });

  it('names the key and the fix for each mistake', () => {
    const at = 'functions.f.triggers[0].stream';
    expect(errorsOf({ connection: 'B', subject: 'a' })).toEqual([
      `${at}.from: required: the broker protocol, one of mqtt, nats, amqp`,
    ]);
    expect(errorsOf({ from: 'kafka', connection: 'B', subject: 'a' })[0]).toMatch(
      /from: must be one of mqtt, nats, amqp/,
    );
    expect(errorsOf({ from: 'jetstream', connection: 'B', subject: 'a' })[0]).toMatch(
      /JetStream is from: nats with stream: STREAM_NAME$/,
    );
    expect(errorsOf({ from: 'MQTT', connection: 'B', subject: 'a' })[0]).toMatch(/\(lower case\)$/);
    expect(errorsOf({ from: 'mqtt', subject: 'a' })[0]).toMatch(
      /connection: required: the name of the secret/,
    );
    expect(errorsOf({ from: 'mqtt', connection: 'B', subject: 'a/#/b' })).toEqual([
      `${at}.subject: # must be a whole level and the last one, like sensors/#`,
    ]);
    expect(errorsOf({ from: 'mqtt', connection: 'B', subject: 'a/x+' })[0]).toMatch(
      /\+ must be a whole level/,
    );
    expect(errorsOf({ from: 'nats', connection: 'B', subject: 'a..b' })[0]).toMatch(
      /subject: must be tokens/,
    );
    expect(errorsOf({ from: 'nats', connection: 'B', subject: 'a.>.b' })[0]).toMatch(
      /> must be a whole token/,
    );
    expect(errorsOf({ from: 'amqp', connection: 'B', subject: 'q' })).toEqual([
      `${at}.subject: amqp consumes a queue: write queue: NAME instead (bind the queue to its exchange in RabbitMQ)`,
      `${at}.queue: required for amqp: the queue to consume, like readings`,
    ]);
    expect(errorsOf({ from: 'mqtt', connection: 'B', subject: 'a', stream: 'S' })).toEqual([
      `${at}.stream: only for nats (a JetStream stream)`,
    ]);
    expect(errorsOf({ from: 'mqtt', connection: 'B', subject: 'a', batch: 0 })[0]).toMatch(
      /batch: must be a whole number of messages from 1 to 1000/,
    );
    expect(errorsOf({ from: 'mqtt', connection: 'B', subject: 'a', window: 5 })[0]).toMatch(
      /window: .*add a unit/,
    );
    expect(errorsOf({ from: 'mqtt', connection: 'B', subject: 'a', topic: 'x' })[0]).toMatch(
      /topic: unknown key/,
    );
  });
});
