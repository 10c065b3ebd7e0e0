/**
 * triggers/webhook/verify: is this webhook delivery genuine? One pure function per sender's signing
 * scheme, over the raw body exactly as received (a parsed and re-serialized body would not match).
 * It also says what the delivery is: the sender's delivery id and event name, and the payload.
 *
 * - `github`: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`; `X-GitHub-Delivery`,
 *   `X-GitHub-Event`. The SHA-1 `X-Hub-Signature` alone is refused. GitHub's "form" content type
 *   (`application/x-www-form-urlencoded`) carries the JSON in a `payload` field: the signature is
 *   over the raw form body, the payload is that field.
 * - `stripe`: `Stripe-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">[,v1=…][,v0=…]`,
 *   keyed with the endpoint secret as is (`whsec_…`). Any v1 may match (Stripe signs with each
 *   secret while one is being rolled); other schemes are ignored; `t` must be within 300 s of now
 *   either way (Stripe's default tolerance). Delivery id and event name: the event's `id`, `type`.
 * - `hmac-sha256`, Gust's contract for any other sender:
 *   - `X-Signature-256: sha256=<hex>`: the HMAC-SHA256 of the raw request body, keyed with the
 *     secret's UTF-8 bytes, in hex (either case).
 *     (`printf '%s' "$BODY" | openssl dgst -sha256 -hmac "$SECRET"` computes it.)
 *   - `X-Delivery-Id` (optional): one id per delivery, the same on every retry of it. Gust drops a
 *     delivery whose id it has seen; there is no timestamp, so this is also the only replay guard.
 *   - `X-Event` (optional): the event's name, handed to the function.
 *
 * The payload, for every sender: a body that parses as JSON is given parsed (whatever its content
 * type: senders mislabel), other UTF-8 is given as text, and a body that is not UTF-8 as base64
 * text. `encoding` says which, since a base64 string alone cannot be told from text; binary data
 * maps to a CloudEvent's `data_base64`.
 *
 * A refusal's reason is meant for the sender, in a 401: it says what is missing or wrong, never
 * what the signature should have been.
 */
import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookVerifier } from '../../manifest/types.js';

/** A request as the gateway holds it: node's headers (lower-case names) and the whole raw body. */
export interface WebhookRequest {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export type PayloadEncoding = 'json' | 'text' | 'base64';

export type WebhookVerdict =
  | {
      readonly ok: true;
      readonly deliveryId: string | null;
      readonly eventName: string | null;
      readonly payload: unknown;
      readonly encoding: PayloadEncoding;
    }
  | { readonly ok: false; readonly reason: string };

/** Stripe's default tolerance, in seconds, between the signed timestamp and now. */
export const STRIPE_TOLERANCE_S = 300;

export function verifyWebhook(
  verifier: WebhookVerifier,
  secret: string,
  req: WebhookRequest,
  now = Date.now(),
): WebhookVerdict {
  // An HMAC keyed with nothing is one anyone can compute: refuse every delivery instead.
  if (secret === '') return refuse('this webhook has no secret set, so no delivery can be verified');
  switch (verifier) {
    case 'github':
      return github(secret, req);
    case 'stripe':
      return stripe(secret, req, now);
    case 'hmac-sha256':
      return hmacSha256(secret, req);
  }
}

function github(secret: string, { headers, body }: WebhookRequest): WebhookVerdict {
  const name = 'X-Hub-Signature-256';
  const given = sha256Header(headers, name);
  if (given === null) {
    return header(headers, 'x-hub-signature') === null
      ? refuse(`missing ${name} header: set a secret on the GitHub webhook`)
      : refuse(`X-Hub-Signature (SHA-1) is not accepted: sha256 is required (${name})`);
  }
  if (typeof given === 'string') return refuse(given);
  if (!sameDigest(hmac(secret, body), given)) return refuse(mismatch(name));
  return {
    ok: true,
    deliveryId: header(headers, 'x-github-delivery'),
    eventName: header(headers, 'x-github-event'),
    ...githubPayload(headers, body),
  };
}

/** GitHub's form content type: the JSON is the `payload` field of the form (ASCII, percent-encoded). */
function githubPayload(headers: IncomingHttpHeaders, body: Buffer): Decoded {
  const type = header(headers, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type === 'application/x-www-form-urlencoded' && isUtf8(body)) {
    const field = new URLSearchParams(body.toString('utf8')).get('payload');
    if (field !== null) return decodeText(field);
  }
  return decodePayload(body);
}

function stripe(secret: string, { headers, body }: WebhookRequest, now: number): WebhookVerdict {
  const value = header(headers, 'stripe-signature');
  if (value === null) return refuse('missing Stripe-Signature header');
  const { timestamp, signatures } = parseStripeHeader(value);
  if (timestamp === null) return refuse('Stripe-Signature has no timestamp (t=<unix seconds>)');
  if (signatures.length === 0) return refuse('Stripe-Signature has no v1 signature');
  // Signed as received: the timestamp's own digits, a dot, then the raw body.
  const expected = hmac(secret, Buffer.concat([Buffer.from(`${timestamp}.`), body]));
  if (!signatures.some((given) => sameDigest(expected, given))) {
    return refuse('no v1 signature in Stripe-Signature matches the body (another secret, or a changed body)');
  }
  // After the signature, as Stripe's libraries do: a sender learns its clock is off only once it
  // has shown it holds the secret.
  if (Math.abs(now / 1000 - Number(timestamp)) > STRIPE_TOLERANCE_S) {
    return refuse(`timestamp outside the tolerance (${STRIPE_TOLERANCE_S} s from now, either way)`);
  }
  const decoded = decodePayload(body);
  return {
    ok: true,
    deliveryId: stringField(decoded.payload, 'id'),
    eventName: stringField(decoded.payload, 'type'),
    ...decoded,
  };
}

/** `t=…,v1=…,v1=…,v0=…`: the first `t` (digits), every well-formed v1; anything else is ignored. */
function parseStripeHeader(value: string): { timestamp: string | null; signatures: Buffer[] } {
  let timestamp: string | null = null;
  const signatures: Buffer[] = [];
  for (const item of value.split(',')) {
    const at = item.indexOf('=');
    if (at < 0) continue;
    const key = item.slice(0, at).trim();
    const text = item.slice(at + 1).trim();
    if (key === 't' && timestamp === null && /^\d{1,12}$/.test(text)) timestamp = text;
    // A v1 that is not 64 hex digits cannot match; it is skipped like an unknown scheme.
    if (key === 'v1' && HEX_DIGEST.test(text)) signatures.push(Buffer.from(text, 'hex'));
  }
  return { timestamp, signatures };
}

function hmacSha256(secret: string, { headers, body }: WebhookRequest): WebhookVerdict {
  const name = 'X-Signature-256';
  const given = sha256Header(headers, name);
  if (given === null) return refuse(`missing ${name} header`);
  if (typeof given === 'string') return refuse(given);
  if (!sameDigest(hmac(secret, body), given)) return refuse(mismatch(name));
  return {
    ok: true,
    deliveryId: header(headers, 'x-delivery-id'),
    eventName: header(headers, 'x-event'),
    ...decodePayload(body),
  };
}

const HEX_DIGEST = /^[0-9a-f]{64}$/i;

/** A `sha256=<hex>` header's digest; null when absent, a reason when malformed. */
function sha256Header(headers: IncomingHttpHeaders, name: string): Buffer | string | null {
  const value = header(headers, name.toLowerCase());
  if (value === null) return null;
  const hex = value.startsWith('sha256=') ? value.slice('sha256='.length) : '';
  if (!HEX_DIGEST.test(hex)) return `${name} must be sha256= followed by 64 hex digits`;
  return Buffer.from(hex, 'hex');
}

function hmac(secret: string, data: Buffer): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** Constant time; timingSafeEqual throws on unequal lengths, and a digest's length is no secret. */
function sameDigest(expected: Buffer, given: Buffer): boolean {
  return expected.length === given.length && timingSafeEqual(expected, given);
}

function mismatch(name: string): string {
  return `${name} does not match the body: signed with another secret, or the body was changed`;
}

function refuse(reason: string): WebhookVerdict {
  return { ok: false, reason };
}

/**
 * A header's value, null when absent or empty. Node gives lower-case names; a hand-built map may
 * not, so other spellings are looked for too. A repeated header is joined as node joins it, which
 * makes a repeated signature malformed rather than ambiguous.
 */
function header(headers: IncomingHttpHeaders, lowerName: string): string | null {
  let value = headers[lowerName];
  if (value === undefined) {
    const key = Object.keys(headers).find((k) => k.toLowerCase() === lowerName);
    value = key === undefined ? undefined : headers[key];
  }
  const text = Array.isArray(value) ? value.join(', ') : value?.trim();
  return text ? text : null;
}

interface Decoded {
  readonly payload: unknown;
  readonly encoding: PayloadEncoding;
}

function decodePayload(body: Buffer): Decoded {
  if (!isUtf8(body)) return { payload: body.toString('base64'), encoding: 'base64' };
  return decodeText(body.toString('utf8'));
}

function decodeText(text: string): Decoded {
  try {
    return { payload: JSON.parse(text), encoding: 'json' };
  } catch {
    return { payload: text, encoding: 'text' };
  }
}

function stringField(payload: unknown, key: string): string | null {
  if (typeof payload !== 'object' || payload === null) return null;
  const value = (payload as Record<string, unknown>)[key];
  return typeof value === 'string' && value !== '' ? value : null;
}
