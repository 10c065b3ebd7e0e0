/**
 * wire: what an instance sends, checked before the host acts on it. The channel belongs to the
 * function as much as to the sandbox runtime (its code can write to fd 3 itself), so a message may
 * be any JSON value. One of the wrong shape is a protocol violation, which kills the instance. A
 * message's size is bounded as it is read (channel.ts); what the host keeps of it is capped here.
 */
import { decodeSandbox } from '../sandbox/codec.js';
import { MAX_CHUNK_BYTES, type SandboxMessage, type WireError } from '../sandbox/protocol.js';

export type Read =
  | { readonly ok: true; readonly message: SandboxMessage }
  | { readonly ok: false; readonly why: string };

/** Error texts end up in invocation records; the sandbox never sends one this long by accident. */
const ERROR_TEXT_LIMIT = 16 * 1024;
const MAX_CHUNK_BASE64 = Math.ceil(MAX_CHUNK_BYTES / 3) * 4;

type Fields = Record<string, unknown>;

const isText = (v: unknown): v is string => typeof v === 'string';
const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);
const isHeaders = (v: unknown): boolean =>
  Array.isArray(v) && v.every((h) => Array.isArray(h) && h.length === 2 && isText(h[0]) && isText(h[1]));
const isError = (v: unknown): boolean =>
  isFields(v) && isText(v.name) && isText(v.message) && (v.stack === undefined || isText(v.stack));
const isResponse = (v: unknown): boolean =>
  isFields(v) && Number.isInteger(v.status) && isHeaders(v.headers) && (v.body === null || isText(v.body));

/** The fields each type of message must have (bytes still base64, as they travel). */
const SHAPES: Record<SandboxMessage['t'], (m: Fields) => boolean> = {
  ready: () => true,
  loaded: (m) =>
    typeof m.initMs === 'number' && (m.style === 'web' || m.style === 'lambda') && isText(m.logs),
  loadError: (m) => isError(m.error) && isText(m.logs),
  // Types only: which statuses HTTP can send is the gateway's to say (`Response.error()` has 0).
  head: (m) => isText(m.id) && Number.isInteger(m.status) && isHeaders(m.headers),
  chunk: (m) => isText(m.id) && isText(m.data) && m.data.length <= MAX_CHUNK_BASE64,
  log: (m) => isText(m.id) && isText(m.text),
  end: (m) => isText(m.id) && isText(m.logs),
  result: (m) =>
    isText(m.id) &&
    isText(m.logs) &&
    (m.json === undefined || isText(m.json)) &&
    (m.response === undefined || isResponse(m.response)),
  error: (m) => isText(m.id) && isError(m.error) && isText(m.logs),
  fatal: (m) => isError(m.error),
  call: (m) =>
    isText(m.id) &&
    Number.isSafeInteger(m.call) &&
    (m.op === 'publish' || m.op === 'invoke' || m.op === 'kv' || m.op === 'bucket'),
};

export function readSandboxMessage(raw: unknown): Read {
  if (!isFields(raw)) return { ok: false, why: `a message is ${describe(raw)}, not an object` };
  const shape =
    isText(raw.t) && Object.hasOwn(SHAPES, raw.t) ? SHAPES[raw.t as SandboxMessage['t']] : undefined;
  if (!shape)
    return { ok: false, why: `a message of unknown type ${isText(raw.t) ? clip(raw.t) : describe(raw.t)}` };
  if (!shape(raw)) return { ok: false, why: `a malformed '${raw.t}' message` };
  const message = decodeSandbox(raw);
  return { ok: true, message: 'error' in message ? { ...message, error: capError(message.error) } : message };
}

/**
 * `text` cut to `max` characters. A copy, not a slice: V8 keeps the whole original string alive
 * behind a slice of it, and the original may be a gigabyte.
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  return Buffer.from(text.slice(0, Math.max(0, max)), 'utf16le').toString('utf16le');
}

/**
 * The sandbox sends stacks cleaned (sandbox/stack.ts: the author's files, no platform paths or
 * frames); whatever it sends is the function's own text to the host, which only bounds it.
 */
function capError(e: WireError): WireError {
  return {
    name: cut(e.name, 200),
    message: cut(e.message, ERROR_TEXT_LIMIT),
    ...(e.stack === undefined ? {} : { stack: cut(e.stack, ERROR_TEXT_LIMIT) }),
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : typeof v;
}

const clip = (s: string): string => JSON.stringify(s.length > 40 ? `${s.slice(0, 40)}…` : s);
