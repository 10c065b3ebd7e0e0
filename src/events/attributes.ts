/**
 * events/attributes: the context attributes of one CloudEvent received over HTTP (binary-mode
 * headers, or a structured event), read by the cloudevents SDK and checked for what it lets
 * through; its data is events/ingress.ts's business.
 *
 * - The SDK's `HTTP.toEvent` reads binary-mode headers (to attributes, extensions included; `time`
 *   normalized to UTC); a structured event is built here as its structured reader would, without
 *   its cost; and `CloudEvent#validate` checks both against the CloudEvents 1.0
 *   JSON schema: non-empty strings, `source` a URI-reference, `dataschema` a URI, attribute names of
 *   a-z0-9. Its errors are put in one line.
 * - Checked here first, because the SDK would not see them: its binary and structured readers
 *   build events unchecked, inventing an `id` (a UUID) and a `time` (now) when they are missing,
 *   taking a missing `specversion` for 1.0 and a `time` it cannot parse for now; and its schema
 *   check passes any specversion but 1.0 without a word. So: the required attributes, specversion
 *   1.0, time as RFC 3339, extension names of at most 20 characters, extension values of the
 *   CloudEvents type system as JSON carries it (string, integer, boolean). A `time` the sender left
 *   out stays out.
 */
import { CloudEvent, HTTP, ValidationError } from 'cloudevents';

export type AttributesRead =
  | { readonly ok: true; readonly attributes: Record<string, unknown> }
  | { readonly ok: false; readonly message: string };

/** Context attributes of CloudEvents 1.0; every other attribute but the data is an extension. */
const ATTRIBUTES = new Set([
  'id',
  'source',
  'type',
  'specversion',
  'time',
  'subject',
  'datacontenttype',
  'dataschema',
]);
const REQUIRED = ['id', 'source', 'type', 'specversion'] as const;
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

/** The attributes of a binary-mode message: its `ce-*` headers and content-type (names lower-case). */
export function binaryAttributes(headers: Readonly<Record<string, string>>): AttributesRead {
  // only what the binding reads goes to the SDK (never Authorization and the like)
  const message: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name.startsWith('ce-') || name === 'content-type') message[name] = value;
  }
  const extensions = Object.keys(message).flatMap((h) =>
    h.startsWith('ce-') && isExtension(h.slice(3)) ? [h.slice(3)] : [],
  );
  const wrong = problem((name) => message[`ce-${name}`], extensions, 'ce-');
  if (wrong !== undefined) return { ok: false, message: wrong };
  // the SDK reads the headers alone: the data is decoded by the caller
  return read({ headers: message, body: undefined }, 'ce-time' in message);
}

/**
 * The attributes of a structured-mode event (a JSON object), its data left out. Built as the SDK's
 * structured reader builds them (known attributes that are falsy dropped, `time` to UTC, the rest
 * extensions) and checked by the SDK's `CloudEvent#validate`, without the reader itself: it costs
 * twice the rest (~15 us an event, the headers it sanitizes and the errors it makes to throw or
 * not), which a batch of 1000 events pays 1000 times (bench/README.md, "Async throughput").
 */
export function structuredAttributes(event: Readonly<Record<string, unknown>>): AttributesRead {
  const wrong = problem((name) => event[name], Object.keys(event).filter(isExtension), '');
  if (wrong !== undefined) return { ok: false, message: wrong };
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(event)) {
    if (name === 'data' || name === 'data_base64' || (ATTRIBUTES.has(name) && !value)) continue;
    // `problem` let only an RFC 3339 time through
    attributes[name] = name === 'time' ? new Date(Date.parse(value as string)).toISOString() : value;
  }
  return checked(() => new CloudEvent<unknown>(attributes, false), event.time !== undefined);
}

/** The first problem of the attributes that the SDK would let through or make up, if any. */
function problem(
  get: (name: string) => unknown,
  extensions: readonly string[],
  prefix: string,
): string | undefined {
  const missing = REQUIRED.filter((name) => get(name) === undefined).map((name) => prefix + name);
  if (missing.length > 0)
    return `missing required attribute${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`;
  for (const name of REQUIRED) {
    const value = get(name);
    if (typeof value !== 'string' || value === '') return `${prefix}${name} must be a non-empty string`;
  }
  const version = get('specversion');
  if (version !== '1.0')
    return `${prefix}specversion ${JSON.stringify(version)} is not supported: Gust reads CloudEvents 1.0`;
  const time = get('time');
  if (
    time !== undefined &&
    !(typeof time === 'string' && RFC3339.test(time) && !Number.isNaN(Date.parse(time)))
  ) {
    return `${prefix}time ${JSON.stringify(time)} is not an RFC 3339 timestamp`;
  }
  for (const name of extensions) {
    if (!EXTENSION_NAME.test(name)) {
      return `extension name ${JSON.stringify(prefix + name)} is not allowed: at most 20 characters, lower-case a-z and 0-9`;
    }
    const value = get(name);
    if (typeof value !== 'string' && typeof value !== 'boolean' && !Number.isInteger(value)) {
      return `extension ${prefix}${name} must be a string, an integer or a boolean`;
    }
  }
  return undefined;
}

function read(
  message: { headers: Record<string, string>; body: unknown },
  keepTime: boolean,
): AttributesRead {
  return checked(() => {
    const read = HTTP.toEvent<unknown>(message);
    if (!(read instanceof CloudEvent)) throw new Error('not one CloudEvent');
    return read;
  }, keepTime);
}

/** The attributes of the event `make` builds, once `CloudEvent#validate` passes it. */
function checked(make: () => CloudEvent<unknown>, keepTime: boolean): AttributesRead {
  let event: CloudEvent<unknown>;
  // The SDK's readers make several ValidationErrors per event whether or not they throw them (the
  // error to throw is an argument), and an Error's stack is most of its cost: without stacks an
  // event is read in 33 us instead of 80 (bench/README.md, "Async throughput"). Only messages are
  // kept. Synchronous, so nothing else runs while the limit is 0.
  const stackFrames = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    event = make();
    event.validate();
  } catch (e) {
    return { ok: false, message: sdkMessage(e) };
  } finally {
    Error.stackTraceLimit = stackFrames;
  }
  const attributes: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(event)) {
    if (value === undefined || name === 'data' || name === 'data_base64' || (name === 'time' && !keepTime))
      continue;
    attributes[name] = value;
  }
  return { ok: true, attributes };
}

/** The SDK's error in a line: its schema errors come as a list under a generic message. */
function sdkMessage(e: unknown): string {
  if (e instanceof ValidationError) {
    const first = e.errors?.[0];
    if (typeof first === 'object' && first !== null && 'instancePath' in first) {
      return `${first.instancePath.slice(1) || 'the event'} ${first.message ?? 'is not valid'}`;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

function isExtension(name: string): boolean {
  return !ATTRIBUTES.has(name) && name !== 'data' && name !== 'data_base64';
}
