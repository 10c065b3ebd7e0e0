/**
 * codec: messages cross the channel as JSON, Node's cheapest serialization for the small
 * messages of the hot path (the V8 serializer costs several times more per message); the few
 * byte fields travel inside them as base64 and become bytes again on the other side.
 */
import type { HostMessage, SandboxMessage, WireRequest, WireResponse } from './protocol.js';

const toBase64 = (b: Uint8Array | null): string | null =>
  b === null ? null : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

const fromBase64 = (s: unknown): Uint8Array | null =>
  typeof s === 'string' ? Buffer.from(s, 'base64') : null;

type Encoded<T> = Omit<T, 'body'> & { body: string | null };

export function encodeHost(m: HostMessage): unknown {
  if (m.t !== 'invoke' || m.kind !== 'http' || m.request.body === null) return m;
  return { ...m, request: { ...m.request, body: toBase64(m.request.body) } };
}

export function decodeHost(raw: unknown): HostMessage {
  const m = raw as HostMessage;
  if (m.t !== 'invoke' || m.kind !== 'http' || m.request.body === null) return m;
  const request = m.request as unknown as Encoded<WireRequest>;
  return { ...m, request: { ...request, body: fromBase64(request.body) } };
}

export function encodeSandbox(m: SandboxMessage): unknown {
  if (m.t === 'chunk') return { ...m, data: toBase64(m.data) };
  if (m.t === 'result' && m.response?.body)
    return { ...m, response: { ...m.response, body: toBase64(m.response.body) } };
  return m;
}

export function decodeSandbox(raw: unknown): SandboxMessage {
  const m = raw as SandboxMessage;
  if (m.t === 'chunk') return { ...m, data: fromBase64(m.data) ?? new Uint8Array(0) };
  if (m.t === 'result' && m.response?.body) {
    const response = m.response as unknown as Encoded<WireResponse>;
    return { ...m, response: { ...response, body: fromBase64(response.body) } };
  }
  return m;
}

/**
 * Outbox: the messages of one turn of the event loop leave in one write. Under load the gateway
 * reads many requests per turn (and an instance answers many per turn), so this saves a write and
 * a wake-up of the other process per message. `now` sends at once, with what is queued before it
 * (logs must get out even if the function then hangs the event loop).
 */
const BATCH_MAX = 16;

export class Outbox {
  private queue: unknown[] = [];
  private scheduled = false;

  constructor(private readonly write: (batch: unknown[]) => void) {}

  push(message: unknown, now = false): void {
    this.queue.push(message);
    // A bounded batch lets the other process start on it while this one reads more.
    if (now || this.queue.length >= BATCH_MAX) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  readonly flush = (): void => {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.write(batch);
  };
}
