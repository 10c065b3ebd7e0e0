/**
 * events/ingress: CloudEvents posted over HTTP into a topic (`POST /_gust/events/TOPIC`), read and
 * checked before anything is published: binary mode (`ce-*` headers, the body is the data),
 * structured mode (`application/cloudevents+json`) and batch mode
 * (`application/cloudevents-batch+json`), as the CloudEvents HTTP binding defines them. Pure:
 * headers and body in, events or a refusal out. Also the CloudEvent Gust makes around plain
 * published data (wrapData), and the size rule every published event obeys (checkEventSize).
 *
 * The attributes are read by the cloudevents SDK, and checked for what it misses, in
 * events/attributes.ts. Here:
 * - The mode, from the content type, before anything is parsed: what is none of the three is 415.
 * - The data, taken as sent rather than from the SDK, which in structured mode drops falsy data
 *   (0, false, "", null) and in binary mode turns a JSON number or boolean into a string, leaves a
 *   Buffer unparsed and knows content types only by exact match. Binary-mode data that is JSON
 *   (application/json, +json) becomes its value, text (text/*) a string, anything else
 *   `data_base64`; declared JSON that does not parse is refused.
 * - Batches, parsed once here and each element read as a structured event: the SDK's own batch
 *   reader parses the body twice, checks nothing of the batch and names no element in its errors.
 */
import { Buffer } from 'node:buffer';
import type { IncomingHttpHeaders } from 'node:http';
import { newInvocationId } from '../dispatch/invocation.js';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../lib/json-depth.js';
import { binaryAttributes, structuredAttributes } from './attributes.js';
import type { CloudEventJson } from './types.js';

export interface IngressLimits {
  /** Events in one batch at most. */
  readonly maxBatch: number;
  /** Bytes of one event's JSON (as Gust keeps it) at most. */
  readonly maxEventBytes: number;
}

export const INGRESS_LIMITS: IngressLimits = { maxBatch: 1000, maxEventBytes: 256 * 1024 };

export type Refusal = { readonly ok: false; readonly status: 400 | 413 | 415; readonly message: string };
export type IngressOutcome = { readonly ok: true; readonly events: CloudEventJson[] } | Refusal;

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
const MODES = `binary mode (ce-id, ce-source, ce-type, ce-specversion headers; the body is the data), structured mode (content-type ${STRUCTURED}) or batch mode (content-type ${BATCH})`;

/** The CloudEvents of one request, or why it is refused (400, 413, 415), in one line. */
export function readCloudEvents(
  req: { readonly headers: IncomingHttpHeaders; readonly body: Buffer },
  limits: IngressLimits = INGRESS_LIMITS,
): IngressOutcome {
  const headers = lowerCased(req.headers);
  const contentType = headers['content-type'];
  const media = mediaType(contentType);
  if (media === STRUCTURED) {
    const parsed = parseJson(req.body, STRUCTURED);
    if (!parsed.ok) return parsed;
    if (!isObject(parsed.value)) {
      return refuse(400, 'a structured-mode body is one JSON object: the CloudEvent');
    }
    return one(readStructured(parsed.value, '', limits));
  }
  if (media === BATCH) return readBatch(req.body, limits);
  // an event format other than JSON (+xml, +protobuf...) is not binary-mode data either
  if (media.startsWith('application/cloudevents')) {
    return refuse(415, `${media} is not read here: send ${MODES}`);
  }
  if (!Object.keys(headers).some((name) => name.startsWith('ce-'))) {
    return refuse(415, `not a CloudEvent (content-type ${media || 'none'}, no ce- headers): send ${MODES}`);
  }
  return one(readBinary(headers, req.body, limits));
}

/**
 * The CloudEvent around plain published data (`gust publish TOPIC --data`, `ctx.publish`): type
 * `gust.topic.message`, a new UUIDv7 id (so ids sort by publication), the time now.
 */
export function wrapData(topic: string, data: unknown, opts: { readonly now?: number } = {}): CloudEventJson {
  const now = opts.now ?? Date.now();
  return {
    specversion: '1.0',
    id: newInvocationId(now),
    source: `/gust/topics/${topic}`,
    type: 'gust.topic.message',
    time: new Date(now).toISOString(),
    datacontenttype: 'application/json',
    ...(data !== undefined && { data }),
  };
}

/** Whether an event fits the size limit, measured as its JSON: how a topic keeps it. */
export function checkEventSize(
  event: CloudEventJson,
  limits: IngressLimits = INGRESS_LIMITS,
): { readonly ok: true; readonly bytes: number } | Refusal {
  const bytes = Buffer.byteLength(JSON.stringify(event), 'utf8');
  if (bytes <= limits.maxEventBytes) return { ok: true, bytes };
  return refuse(413, `the event is ${bytes} bytes as JSON; at most ${limits.maxEventBytes} are accepted`);
}

type Read = { readonly ok: true; readonly event: CloudEventJson } | Refusal;
type Data = { readonly data?: unknown; readonly data_base64?: string };

function readBatch(body: Buffer, limits: IngressLimits): IngressOutcome {
  const parsed = parseJson(body, BATCH);
  if (!parsed.ok) return parsed;
  if (!Array.isArray(parsed.value)) return refuse(400, 'a batch-mode body is a JSON array of CloudEvents');
  const items: unknown[] = parsed.value;
  if (items.length === 0) return refuse(400, 'the batch is empty: send at least one CloudEvent');
  if (items.length > limits.maxBatch) {
    return refuse(
      413,
      `the batch has ${items.length} events; at most ${limits.maxBatch} are accepted per request`,
    );
  }
  const events: CloudEventJson[] = [];
  for (const [i, item] of items.entries()) {
    const read = isObject(item)
      ? readStructured(item, `event ${i}: `, limits)
      : refuse(400, `event ${i}: a CloudEvent is a JSON object`);
    if (!read.ok) return read;
    events.push(read.event);
  }
  return { ok: true, events };
}

function readStructured(raw: Record<string, unknown>, at: string, limits: IngressLimits): Read {
  const read = structuredAttributes(raw);
  if (!read.ok) return refuse(400, at + read.message);
  if ('data' in raw && 'data_base64' in raw) {
    return refuse(400, `${at}data and data_base64 exclude each other`);
  }
  if ('data_base64' in raw && typeof raw.data_base64 !== 'string') {
    return refuse(400, `${at}data_base64 must be a string (base64)`);
  }
  const data: Data =
    typeof raw.data_base64 === 'string'
      ? { data_base64: raw.data_base64 }
      : 'data' in raw
        ? { data: raw.data }
        : {};
  return sized(Object.assign(read.attributes, data) as CloudEventJson, at, limits);
}

function readBinary(headers: Record<string, string>, body: Buffer, limits: IngressLimits): Read {
  const read = binaryAttributes(headers);
  if (!read.ok) return refuse(400, read.message);
  const data = binaryData(headers['content-type'], body);
  if (!data.ok) return data;
  return sized(Object.assign(read.attributes, data.data) as CloudEventJson, '', limits);
}

function sized(event: CloudEventJson, at: string, limits: IngressLimits): Read {
  const size = checkEventSize(event, limits);
  return size.ok ? { ok: true, event } : refuse(413, at + size.message);
}

function binaryData(contentType: string | undefined, body: Buffer): { ok: true; data: Data } | Refusal {
  if (body.length === 0) return { ok: true, data: {} };
  const media = mediaType(contentType);
  if (media === 'application/json' || media.endsWith('+json')) {
    const parsed = parseJson(body, contentType!);
    return parsed.ok ? { ok: true, data: { data: parsed.value } } : parsed;
  }
  if (media.startsWith('text/')) {
    const text = utf8(body);
    if (text !== undefined) return { ok: true, data: { data: text } };
  }
  return { ok: true, data: { data_base64: body.toString('base64') } };
}

function parseJson(body: Buffer, declared: string): { readonly ok: true; readonly value: unknown } | Refusal {
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return refuse(
      400,
      `the body is not JSON, though its content-type is ${declared}: ${(e as Error).message}`,
    );
  }
  // the event is stringified again on its way (queue, instance): deeper nesting would overflow there
  if (nestsTooDeep(text)) return refuse(400, `the body nests arrays and objects over ${MAX_JSON_DEPTH} deep`);
  return { ok: true, value };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** The text of UTF-8 bytes, or undefined when they are not UTF-8 (then they travel as base64). */
function utf8(body: Buffer): string | undefined {
  try {
    return decoder.decode(body);
  } catch {
    return undefined;
  }
}

function lowerCased(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function mediaType(contentType: string | undefined): string {
  return contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function one(read: Read): IngressOutcome {
  return read.ok ? { ok: true, events: [read.event] } : read;
}

/** A refusal; its message is kept to one line, whatever a parser's error said. */
function refuse(status: 400 | 413 | 415, message: string): Refusal {
  return { ok: false, status, message: message.replace(/\s*\n\s*/g, ' ') };
}
