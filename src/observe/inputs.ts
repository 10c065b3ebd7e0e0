/**
 * observe/inputs: what an invocation got, kept for `gust replay`: an event as its JSON, an HTTP
 * request as the JSON of its WireRequest (the body as text, or base64 when it is not UTF-8). Made
 * off the hot path: the dispatcher hands over the Invocation itself, nothing is serialised while
 * the call is answered; at the records' flush an event is made JSON and a request is handed to the
 * input worker as its fields, which makes its JSON there (observe/input-batch.ts).
 * - Over the per-event limit: not kept, only its size, so that replay can say why it cannot run it.
 * - A Gust key a request carried (in a header or in its URL) is never kept: its secret part is
 *   masked (`gust_<id>_***`) and the header named in `masked`. A route with `auth: key` does not
 *   pass its key to the function at all. Anything else (cookies, the function's own tokens) is the
 *   function's input and is kept as it came: exact replay needs it.
 */
import type { KeptInput } from '../backends/ports.js';
import { KEY_PATTERN } from '../control/keys.js';
import type { Invocation } from '../dispatch/invocation.js';
import { textOrBase64 } from '../lib/bytes.js';
import type { WireRequest } from '../runtime/types.js';

/** An HTTP request as kept: a WireRequest whose body is text (or base64), and what was masked. */
export interface KeptRequest extends Omit<WireRequest, 'body'> {
  readonly body: string | null;
  readonly base64?: true;
  /** Headers whose Gust key was masked (lower case). */
  readonly masked?: readonly string[];
}

/** What a replay runs: the event, or the request as the function got it (masked keys aside). */
export type ReplayInput =
  | { readonly kind: 'event'; readonly event: unknown }
  | { readonly kind: 'http'; readonly request: WireRequest; readonly masked: readonly string[] };

const KEY = new RegExp(KEY_PATTERN, 'g');
/** Most texts hold no key: the regular expression runs only on those that might. */
const maskKeys = (text: string): string => (text.includes('gust_') ? text.replace(KEY, 'gust_$1_***') : text);

/**
 * The kept form of what `inv` got, or only its size when over `maxBytes`. Written without object
 * spreads: this runs for every call, and they cost three times the JSON itself (bench/README.md,
 * "Replay"). The platform hands inputs to their worker as observe/input-batch.ts packs them.
 */
export function keepInput(inv: Invocation, maxBytes: number, keptAt: number): KeptInput {
  return inv.kind === 'http'
    ? keepRequest(inv.id, inv.function, inv.request, maxBytes, keptAt)
    : keepEvent(inv.id, inv.function, inv.event, maxBytes, keptAt);
}

/** An event as its JSON (what its instance got over the channel), or only its size over `maxBytes`. */
export function keepEvent(
  id: string,
  fn: string,
  event: unknown,
  maxBytes: number,
  keptAt: number,
): KeptInput {
  return keptText(id, fn, 'event', JSON.stringify(event ?? null), maxBytes, keptAt);
}

/** A request as the JSON of its KeptRequest; a body over `maxBytes` alone is not even encoded. */
export function keepRequest(
  id: string,
  fn: string,
  request: WireRequest,
  maxBytes: number,
  keptAt: number,
): KeptInput {
  const body = request.body;
  if (body !== null && body.byteLength > maxBytes) {
    return { id, function: fn, kind: 'http', keptAt, bytes: body.byteLength, input: null };
  }
  return keptText(id, fn, 'http', JSON.stringify(keptRequest(request)), maxBytes, keptAt);
}

function keptText(
  id: string,
  fn: string,
  kind: KeptInput['kind'],
  text: string,
  maxBytes: number,
  keptAt: number,
): KeptInput {
  const bytes = Buffer.byteLength(text);
  return { id, function: fn, kind, keptAt, bytes, input: bytes <= maxBytes ? text : null };
}

function keptRequest(r: WireRequest): KeptRequest {
  const masked: string[] = [];
  // the request's own headers, but a copy once one holds a key (masked in the copy)
  let headers: (readonly [string, string])[] | undefined;
  for (let i = 0; i < r.headers.length; i++) {
    const [name, value] = r.headers[i]!;
    const clean = maskKeys(value);
    if (clean === value) continue;
    headers ??= [...r.headers];
    headers[i] = [name, clean];
    if (!masked.includes(name)) masked.push(name);
  }
  const text = r.body === null ? null : textOrBase64(r.body);
  const kept: { -readonly [K in keyof KeptRequest]: KeptRequest[K] } = {
    method: r.method,
    url: maskKeys(r.url),
    headers: headers ?? r.headers,
    body: text === null ? null : text.body,
    params: r.params,
    routeKey: r.routeKey,
    sourceIp: r.sourceIp,
    protocol: r.protocol,
    timeEpoch: r.timeEpoch,
  };
  if (text?.base64 === true) kept.base64 = true;
  if (masked.length > 0) kept.masked = masked;
  return kept;
}

/** What a replay of a kept input runs; undefined when it was not kept (over the limit). */
export function replayInput(kept: KeptInput): ReplayInput | undefined {
  if (kept.input === null) return undefined;
  const value = JSON.parse(kept.input) as unknown;
  if (kept.kind === 'event') return { kind: 'event', event: value };
  const { body, base64, masked = [], ...rest } = value as KeptRequest;
  const bytes = body === null ? null : Buffer.from(body, base64 === true ? 'base64' : 'utf8');
  return { kind: 'http', request: { ...rest, body: bytes }, masked };
}
