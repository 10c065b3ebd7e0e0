/**
 * observe/inputs: what an invocation got, kept for `gust replay`: an event as its JSON, an HTTP
 * request as the JSON of its WireRequest (the body as text, or base64 when it is not UTF-8). Made
 * when the records are flushed (observe/records.ts), off the hot path: the dispatcher hands over the
 * Invocation itself and nothing is serialised while the call is answered.
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
 * spreads: this runs for every call (at the flush), and they cost three times the JSON itself
 * (bench/README.md, "Replay").
 */
export function keepInput(inv: Invocation, maxBytes: number, keptAt: number): KeptInput {
  const body = inv.kind === 'http' ? inv.request.body : null;
  let bytes: number;
  let input: string | null = null;
  // a body over the limit alone is not even encoded
  if (body !== null && body.byteLength > maxBytes) bytes = body.byteLength;
  else {
    const text = JSON.stringify(inv.kind === 'http' ? keptRequest(inv.request) : (inv.event ?? null));
    bytes = Buffer.byteLength(text);
    if (bytes <= maxBytes) input = text;
  }
  return { id: inv.id, function: inv.function, kind: inv.kind, keptAt, bytes, input };
}

function keptRequest(r: WireRequest): KeptRequest {
  const masked: string[] = [];
  const headers: (readonly [string, string])[] = new Array(r.headers.length);
  for (let i = 0; i < r.headers.length; i++) {
    const [name, value] = r.headers[i]!;
    const clean = maskKeys(value);
    if (clean !== value && !masked.includes(name)) masked.push(name);
    headers[i] = clean === value ? r.headers[i]! : [name, clean];
  }
  const text = r.body === null ? null : textOrBase64(r.body);
  const kept: { -readonly [K in keyof KeptRequest]: KeptRequest[K] } = {
    method: r.method,
    url: maskKeys(r.url),
    headers,
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
