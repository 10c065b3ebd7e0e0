/**
 * manifest/stream-trigger: the rules of a `stream` trigger, messages from the user's broker.
 *
 * | key        | accepted                                                                | default |
 * |------------|-------------------------------------------------------------------------|---------|
 * | from       | `mqtt`, `nats`, `amqp`                                                  | required|
 * | connection | a secret's name; its value is the broker URL, credentials included      | required|
 * | subject    | mqtt: a topic filter (`+`, `#`); nats: a subject (`*`, `>`)             | required|
 * |            | (mqtt, nats); amqp takes `queue` instead                                |         |
 * | queue      | amqp: the queue to consume (declared durable when missing)             | required|
 * | stream     | nats: a JetStream stream, consumed by a durable consumer; absent: core  | none    |
 * | batch      | messages per invocation, 1 to 1000                                      | `1`     |
 * | window     | the longest a batch waits to fill, 10ms to 5m                           | `1s`    |
 */
import { z } from 'zod';
import { duration, type Refused, strictMap, whole, withDefault } from './fields.js';
import { absent, got } from './issues.js';
import type { StreamTrigger } from './types.js';

export const STREAM_PROTOCOLS = ['mqtt', 'nats', 'amqp'] as const;
export const STREAM_LIMITS = {
  batch: { min: 1, max: 1000, default: 1 },
  windowMs: { min: 10, max: 5 * 60_000, default: 1000 },
} as const;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Why an MQTT topic filter is not one, or undefined (MQTT 3.1.1 §4.7). */
export function mqttFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'must not be empty';
  if (Buffer.byteLength(filter) > 65_535) return 'must be at most 65535 bytes';
  if (filter.includes('\0')) return 'must not contain a NUL character';
  const levels = filter.split('/');
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) {
      return '# must be a whole level and the last one, like sensors/#';
    }
    if (level.includes('+') && level !== '+') return '+ must be a whole level, like sensors/+/temp';
  }
  return undefined;
}

/** Why a NATS subject (with `*` and `>` wildcards) is not one, or undefined. */
export function natsSubjectProblem(subject: string): string | undefined {
  if (/[\s\0]/.test(subject)) return 'must not contain spaces or control characters';
  const tokens = subject.split('.');
  for (const [i, token] of tokens.entries()) {
    if (token === '') return 'must be tokens separated by single dots, like sensors.*.temp';
    if (token.includes('>') && (token !== '>' || i !== tokens.length - 1)) {
      return '> must be a whole token and the last one, like sensors.>';
    }
    if (token.includes('*') && token !== '*') return '* must be a whole token, like sensors.*.temp';
  }
  return undefined;
}

function amqpQueueProblem(queue: string): string | undefined {
  if (queue.length === 0 || Buffer.byteLength(queue) > 255) return 'must be 1 to 255 bytes';
  if (queue.startsWith('amq.')) return 'names starting with amq. are reserved by the broker';
  return undefined;
}

const text = (what: string) =>
  z.string({ error: ({ input }) => `must be a string, ${what} ${got(input)}` }).nullish();

function streamError({ input }: Refused): string {
  return `must be a map like { from: mqtt, connection: BROKER_URL, subject: "sensors/+/temp", batch: 100, window: 1s } ${got(input)}`;
}

/** What a protocol name that is not one of ours most likely meant. */
function fromHint(input: unknown): string {
  const text = typeof input === 'string' ? input.toLowerCase() : '';
  if (STREAM_PROTOCOLS.includes(text as (typeof STREAM_PROTOCOLS)[number])) return ' (lower case)';
  if (text === 'jetstream' || text === 'js') return ': JetStream is from: nats with stream: STREAM_NAME';
  if (text === 'rabbitmq' || text === 'amqps' || text === 'rabbit') return ': RabbitMQ is from: amqp';
  if (text === 'mqtts' || text === 'mosquitto')
    return ': use from: mqtt (the URL in the secret says mqtts://)';
  return '';
}

export const streamSchema = strictMap(
  {
    from: z.enum(STREAM_PROTOCOLS, {
      error: ({ input }) =>
        absent(input)
          ? 'required: the broker protocol, one of mqtt, nats, amqp'
          : `must be one of mqtt, nats, amqp ${got(input)}${fromHint(input)}`,
    }),
    connection: z
      .string({
        error: ({ input }) =>
          absent(input)
            ? 'required: the name of the secret that holds the broker URL, like BROKER_URL (gust secrets set BROKER_URL)'
            : `must be the name of a secret that holds the broker URL, like BROKER_URL ${got(input)}`,
      })
      .regex(SECRET_NAME, {
        error: ({ input }) => `must be a secret name (letters, digits and _), like BROKER_URL ${got(input)}`,
      }),
    subject: text('the topic filter or subject to consume, like sensors/+/temp'),
    queue: text('the AMQP queue to consume, like readings'),
    stream: text('the JetStream stream to consume, like SENSORS'),
    batch: withDefault(whole(STREAM_LIMITS.batch, 'a whole number of messages'), 1),
    window: duration(STREAM_LIMITS.windowMs),
  },
  streamError,
)
  .superRefine((s, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (s.from === 'amqp') {
      if (s.subject != null)
        issue(
          'subject',
          'amqp consumes a queue: write queue: NAME instead (bind the queue to its exchange in RabbitMQ)',
        );
      if (s.queue == null) issue('queue', 'required for amqp: the queue to consume, like readings');
      else {
        const problem = amqpQueueProblem(s.queue);
        if (problem) issue('queue', problem);
      }
    } else {
      const example = s.from === 'mqtt' ? 'sensors/+/temp' : 'sensors.*.temp';
      if (s.queue != null) issue('queue', `only for amqp; ${s.from} takes subject: ${example}`);
      if (s.subject == null) issue('subject', `required for ${s.from}: what to consume, like ${example}`);
      else {
        const problem = (s.from === 'mqtt' ? mqttFilterProblem : natsSubjectProblem)(s.subject);
        if (problem) issue('subject', problem);
      }
    }
    if (s.stream != null && s.from !== 'nats') issue('stream', 'only for nats (a JetStream stream)');
    if (s.stream != null && !/^[^\s.*>/\\\0]{1,255}$/.test(s.stream)) {
      issue('stream', 'must be a JetStream stream name: no spaces, dots, *, >, / or \\');
    }
  })
  .transform(
    (s): StreamTrigger => ({
      type: 'stream',
      from: s.from,
      connection: s.connection,
      subject: (s.from === 'amqp' ? s.queue : s.subject) ?? '',
      ...(s.stream != null ? { stream: s.stream } : {}),
      batch: s.batch,
      windowMs: s.window,
    }),
  );
