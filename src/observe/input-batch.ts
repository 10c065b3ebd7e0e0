/**
 * observe/input-batch: the inputs of a records' flush as they cross to the input worker: one flat
 * array of strings, numbers and the bodies' bytes, which postMessage clones in one pass.
 * - A request goes as its fields; the worker makes its JSON (keys masked: observe/inputs.ts). On
 *   the platform's thread that costs some 0.45 µs a small GET against 1.8 µs for its JSON made here
 *   and posted, and 1.5 µs for the WireRequest object posted as it is (bench/README.md, "Replay").
 * - An event goes as its JSON, made here: what its instance got over the channel, whatever objects
 *   it holds, and its exact size for the hand-over's bound.
 * - A request whose body is over the per-event limit goes as its size only, as an event over it.
 */
import type { KeptInput } from '../backends/ports.js';
import type { Invocation } from '../dispatch/invocation.js';
import type { WireRequest } from '../runtime/types.js';
import { keepInput, keepRequest } from './inputs.js';

/** What one postMessage carries to the input worker. */
export interface InputBatch {
  /** Epoch ms of the hand-over: the inputs' `keptAt`. */
  readonly keptAt: number;
  /** How many inputs it holds, and about the bytes they take (the hand-over's bound counts both). */
  readonly count: number;
  readonly bytes: number;
  readonly items: readonly unknown[];
}

/** Followed by id, function, kind, bytes, and the JSON text or null (over the limit). */
const MADE = 0;
/**
 * Followed by id, function, method, url, routeKey, sourceIp, protocol, timeEpoch, params, body,
 * the number of headers, then each header's name and value.
 */
const REQUEST = 1;

/** `onError`: an input that cannot be made JSON (it is left out). */
export function packInputs(
  invocations: readonly Invocation[],
  maxBytes: number,
  onError: (e: unknown) => void,
): InputBatch {
  const items: unknown[] = [];
  let count = 0;
  let bytes = 0;
  for (const inv of invocations) {
    if (inv.kind === 'http' && (inv.request.body === null || inv.request.body.byteLength <= maxBytes)) {
      const r = inv.request;
      const h = r.headers;
      items.push(REQUEST, inv.id, inv.function, r.method, r.url, r.routeKey, r.sourceIp, r.protocol);
      items.push(r.timeEpoch, r.params, r.body, h.length);
      bytes += r.url.length + (r.body === null ? 0 : r.body.byteLength);
      for (let i = 0; i < h.length; i++) {
        const [name, value] = h[i]!;
        items.push(name, value);
        bytes += name.length + value.length;
      }
      count++;
      continue;
    }
    try {
      const k = keepInput(inv, maxBytes, 0); // its keptAt is the batch's
      items.push(MADE, k.id, k.function, k.kind, k.bytes, k.input);
      bytes += k.input === null ? 0 : k.bytes;
      count++;
    } catch (e) {
      onError(e);
    }
  }
  return { keptAt: Date.now(), count, bytes, items };
}

/** In the input worker: the batch's inputs as they are stored, each request made JSON. */
export function unpackInputs(batch: InputBatch, maxBytes: number): KeptInput[] {
  const { items, keptAt } = batch;
  const out: KeptInput[] = [];
  let at = 0;
  const next = <T>() => items[at++] as T;
  while (at < items.length) {
    const tag = next<number>();
    const id = next<string>();
    const fn = next<string>();
    if (tag === MADE) {
      const kind = next<KeptInput['kind']>();
      const bytes = next<number>();
      out.push({ id, function: fn, kind, keptAt, bytes, input: next<string | null>() });
      continue;
    }
    // in the order packInputs wrote them (an object literal's fields are read in source order)
    const request: { -readonly [K in keyof WireRequest]: WireRequest[K] } = {
      method: next<string>(),
      url: next<string>(),
      routeKey: next<string>(),
      sourceIp: next<string>(),
      protocol: next<string>(),
      timeEpoch: next<number>(),
      params: next<WireRequest['params']>(),
      body: next<Uint8Array | null>(),
      headers: [],
    };
    const headers: [string, string][] = new Array(next<number>());
    for (let i = 0; i < headers.length; i++) headers[i] = [next<string>(), next<string>()];
    request.headers = headers;
    out.push(keepRequest(id, fn, request, maxBytes, keptAt));
  }
  return out;
}
