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
const maskKeys = (text: string): string => text.replace(KEY, 'gust_$1_***');

/** The kept form of what `inv` got, or only its size when over `maxBytes`. */
export function keepInput(inv: Invocation, maxBytes: number, keptAt: number): KeptInput {
  const base = { id: inv.id, function: inv.function, kind: inv.kind, keptAt };
  const body = inv.kind === 'http' ? inv.request.body : null;
  // a body over the limit alone is not even encoded
  if (body !== null && body.byteLength > maxBytes) return { ...base, bytes: body.byteLength, input: null };
  const text = JSON.stringify(inv.kind === 'http' ? keptRequest(inv.request) : (inv.event ?? null));
  const bytes = Buffer.byteLength(text);
  return { ...base, bytes, input: bytes > maxBytes ? null : text };
}

function keptRequest(r: WireRequest): KeptRequest {
  const masked: string[] = [];
  const headers = r.headers.map(([name, value]): [string, string] => {
    const clean = maskKeys(value);
    if (clean !== value && !masked.includes(name)) masked.push(name);
    return [name, clean];
  });
  return {
    ...r,
    url: maskKeys(r.url),
    headers,
    ...(r.body === null ? { body: null } : textOrBase64(r.body)),
    ...(masked.length > 0 ? { masked } : {}),
  };
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
