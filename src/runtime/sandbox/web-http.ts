/**
 * web-http: converts between the wire shapes of protocol.ts and the web-standard Request/Response
 * that `export default (req: Request) => Response` handlers speak. Pure: no I/O beyond reading
 * the Response body the handler gave us.
 */
import { checkResponseHeaders } from './headers.js';
import type { WireRequest, WireResponse } from './protocol.js';

/** Where a Response goes: either one `whole`, or `head`, any number of `chunk`s, then `end`. */
export interface ResponseSender {
  whole(r: WireResponse): void;
  head(status: number, headers: [string, string][]): void;
  chunk(data: Uint8Array): void;
  end(): void;
  /** Once streaming: how to stop reading the body if its reader goes away. */
  onCancel?(cancel: () => void): void;
}

/** Methods that must not carry a body: the Request constructor throws if given one. */
const BODYLESS_METHODS = new Set(['GET', 'HEAD']);

/** A host header we can put in a URL without it changing the path (no `/`, `@`, `?`, `#`). */
const SAFE_HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** `traceparent`: the invocation's own, in place of the caller's, so the function passes on its span. */
export function toWebRequest(req: WireRequest, traceparent?: string): Request {
  const headers = new Headers();
  for (const [name, value] of req.headers) headers.append(name, value);
  if (traceparent !== undefined) headers.set('traceparent', traceparent);
  const method = req.method.toUpperCase();
  const init: RequestInit = { method, headers };
  if (req.body !== null && !BODYLESS_METHODS.has(method)) {
    // The Request constructor copies the bytes, so any backing buffer will do; the DOM typings
    // merely insist on a plain ArrayBuffer. No `duplex` needed: that is only for stream bodies.
    init.body = req.body as Uint8Array<ArrayBuffer>;
  }
  return new Request(requestUrl(req.url, headers), init);
}

function requestUrl(path: string, headers: Headers): string {
  const host = headers.get('host') ?? '';
  const origin = `${forwardedScheme(headers)}://${SAFE_HOST.test(host) ? host : 'localhost'}`;
  // `OPTIONS *` and other odd request targets still need a path that parses.
  return `${origin}${path.startsWith('/') ? path : `/${path}`}`;
}

/** The scheme the client used, as told by the proxy in front of us; only http(s) is believed. */
function forwardedScheme(headers: Headers): 'http' | 'https' {
  // A chain of proxies appends: the first entry is the one the client spoke to.
  const first = headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  return first === 'https' ? 'https' : 'http';
}

/**
 * True for web Responses, including ones from another realm or a bundled fetch polyfill
 * (`instanceof` alone would reject those and the handler's answer would look like garbage).
 */
export function isResponse(x: unknown): x is Response {
  return x instanceof Response || Object.prototype.toString.call(x) === '[object Response]';
}

const WAITING = Symbol('waiting');
/**
 * A body made from a string, bytes or a Blob is read within a microtask or two; a stream that
 * waits on a timer or on I/O is not. A few microtask hops tell them apart without waiting for a
 * turn of the event loop (which would add latency to every answer).
 */
const SETTLE_HOPS = 4;

function shortly(): Promise<typeof WAITING> {
  let p: Promise<typeof WAITING> = Promise.resolve(WAITING);
  for (let i = 1; i < SETTLE_HOPS; i++) p = p.then((w) => w);
  return p;
}

export async function readWebResponse(res: Response, send: ResponseSender): Promise<void> {
  const native = nativeResponse(res);
  const status = native.status;
  const headers = responseHeaders(native.headers);
  checkResponseHeaders(headers);
  if (native.body === null) {
    send.whole({ status, headers, body: null });
    return;
  }
  const reader = native.body.getReader();
  try {
    const buffered: Uint8Array[] = [];
    let next = reader.read();
    for (;;) {
      const step = await Promise.race([next, shortly()]);
      if (step === WAITING) break;
      if (step.done) {
        send.whole({ status, headers, body: concat(buffered) });
        return;
      }
      const data = asBytes(step.value);
      if (data.byteLength > 0) buffered.push(data);
      next = reader.read();
    }
    send.head(status, headers);
    send.onCancel?.(() => {
      reader.cancel(new Error('the client went away')).catch(() => {});
    });
    for (const data of buffered) send.chunk(data);
    for (let step = await next; !step.done; step = await reader.read()) {
      const data = asBytes(step.value);
      if (data.byteLength > 0) send.chunk(data);
    }
    send.end();
  } catch (error) {
    // Stop the producer (an SSE timer, an upstream fetch): nobody will read what it makes next.
    reader.cancel(error).catch(() => {});
    throw error;
  }
}

/** Re-wraps a foreign Response (see isResponse) so the rest may rely on getSetCookie and web streams. */
function nativeResponse(res: Response): Response {
  const value: unknown = res;
  if (value instanceof Response) return value;
  return new Response(res.body, res);
}

/** Header pairs with every `set-cookie` kept apart: joining them with `,` would corrupt cookie dates. */
function responseHeaders(headers: Headers): [string, string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of headers) if (name !== 'set-cookie') pairs.push([name, value]);
  for (const cookie of headers.getSetCookie()) pairs.push(['set-cookie', cookie]);
  return pairs;
}

/** Body chunks must be bytes, as in every web runtime; a clear message beats a garbled body. */
function asBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  const kind = value === null ? 'null' : typeof value;
  throw new TypeError(
    `Response body chunks must be Uint8Array, got ${kind} (encode strings with TextEncoder)`,
  );
}

/** One buffer from many; `null` when there are no bytes at all. */
function concat(chunks: readonly Uint8Array[]): Uint8Array | null {
  if (chunks.length <= 1) return chunks[0] ?? null;
  const total = chunks.reduce((sum, c) => sum + c.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}
