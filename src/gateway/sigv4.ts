/**
 * sigv4: verify AWS Signature Version 4 on an incoming request (Lambda Invoke API, S3 API).
 *
 * We never re-implement canonicalization: the request is handed back to smithy's signer (the one
 * the AWS SDK uses) with the client's own signed headers and signing date, and the signature it
 * computes is compared in constant time. Both forms are accepted: the Authorization header and
 * presigned URLs (X-Amz-* query parameters).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SignedRequest {
  method: string;
  /** raw path as received, undecoded, e.g. /2015-03-31/functions/hello/invocations */
  path: string;
  /** raw query string without '?', '' when none */
  query: string;
  /** node's IncomingMessage.headers shape (lower-case names) */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Uint8Array;
}

/** payload: whether the body is covered by the signature ('streaming' = aws-chunked, chunks unchecked). */
export type SigV4Result =
  | {
      ok: true;
      accessKeyId: string;
      region: string;
      service: string;
      payload: PayloadMode;
      /** What the client said the payload hashes to (signed), if it said: a hex SHA-256 or a marker. */
      payloadHash: string | undefined;
      /** What chunk signatures of an aws-chunked body chain from (S3 streaming uploads). */
      seed: { signature: string; date: string; scope: string };
    }
  | { ok: false; reason: string };
export type PayloadMode = 'signed' | 'unsigned' | 'streaming';
export type SecretLookup = (accessKeyId: string) => string | null | Promise<string | null>;

type Query = Record<string, string | string[]>;
type HttpRequest = Parameters<SignatureV4['presign']>[0];
/** What the client says it signed; date is x-amz-date (20250101T000000Z), time the same in ms. */
interface Claim {
  accessKeyId: string;
  scopeDate: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
  date: string;
  time: number;
  /** presigned URLs only */
  expiresIn?: number;
}

const ALGORITHM = 'AWS4-HMAC-SHA256';
const MAX_SKEW_MS = 15 * 60_000;
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const PAYLOAD_HEADER = 'x-amz-content-sha256';
const PRESIGN_PARAMS = ['Algorithm', 'Credential', 'Date', 'Expires', 'SignedHeaders', 'Signature'];
const UNSIGNED = 'UNSIGNED-PAYLOAD';

export function hasSigV4(headers: SignedRequest['headers']): boolean {
  const auth = headers.authorization;
  return typeof auth === 'string' && auth.startsWith(`${ALGORITHM} `);
}

export function hasPresignedSigV4(query: string): boolean {
  return new URLSearchParams(query).get('X-Amz-Algorithm') === ALGORITHM;
}

/** Never throws on malformed input; an exception from lookupSecret propagates (it is a bug or an outage). */
export async function verifySigV4(
  req: SignedRequest,
  lookupSecret: SecretLookup,
  now: number = Date.now(),
  /** deferPayload: the body is not read yet; the caller checks it against `payloadHash` as it streams. */
  opts: { deferPayload?: boolean } = {},
): Promise<SigV4Result> {
  const query = parseQuery(req.query);
  if (typeof query === 'string') return fail(query);
  const claim = hasSigV4(req.headers) ? claimFromHeaders(req.headers) : claimFromQuery(query, req.headers);
  if (typeof claim === 'string') return fail(claim);
  const declared = declaredPayload(claim, req.headers, query);
  if (opts.deferPayload && declared === undefined) {
    return fail('x-amz-content-sha256 must be sent and signed: the SHA-256 of the body, or UNSIGNED-PAYLOAD');
  }
  const problem =
    checkClaim(claim, req.headers, now) ?? (opts.deferPayload ? undefined : checkPayload(declared, req.body));
  if (problem) return fail(problem);
  const secret = await lookupSecret(claim.accessKeyId);
  if (secret === null) {
    // clipped: a client that put a whole secret (a bearer key) where the id goes must not see it echoed into logs
    const shown = claim.accessKeyId.length > 24 ? `${claim.accessKeyId.slice(0, 12)}…` : claim.accessKeyId;
    return fail(`unknown access key id ${shown}: create one with gust keys create`);
  }
  const expected = await expectedSignature(claim, signable(claim, req, query), secret, declared);
  if (!sameHex(expected, claim.signature)) {
    return fail('signature does not match: check the secret access key and that nothing rewrote the request');
  }
  const { accessKeyId, region, service, signature, date, scopeDate } = claim;
  return {
    ok: true,
    accessKeyId,
    region,
    service,
    payload: payloadMode(declared),
    payloadHash: declared,
    seed: { signature, date, scope: `${scopeDate}/${region}/${service}/aws4_request` },
  };
}

function fail(reason: string): SigV4Result {
  return { ok: false, reason };
}

/** Decoded as clients encode (RFC 3986: '+' is a plus); smithy re-encodes it canonically. */
function parseQuery(raw: string): Query | string {
  const query: Query = Object.create(null);
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    try {
      const key = decodeURIComponent(eq < 0 ? pair : pair.slice(0, eq));
      const value = eq < 0 ? '' : decodeURIComponent(pair.slice(eq + 1));
      const prior = query[key];
      query[key] = prior === undefined ? value : [...(Array.isArray(prior) ? prior : [prior]), value];
    } catch {
      return `malformed query string near '${pair.slice(0, 40)}': percent-encode it`;
    }
  }
  // smithy copies the query once per parameter (quadratic); real AWS requests carry a handful
  return Object.keys(query).length > 200 ? 'too many query parameters (at most 200)' : query;
}

function claimFromHeaders(headers: SignedRequest['headers']): Claim | string {
  const auth = String(headers.authorization).slice(ALGORITHM.length);
  const field = (name: string) => new RegExp(`[\\s,]${name}=([^,]*)`).exec(auth)?.[1]?.trim();
  const [credential, signedHeaders, signature] = ['Credential', 'SignedHeaders', 'Signature'].map(field);
  if (!credential || !signedHeaders || !signature) {
    return 'malformed Authorization header: expected AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...';
  }
  const date = header(headers, 'x-amz-date');
  if (date === undefined) return 'missing x-amz-date header: the signing time must be sent as x-amz-date';
  return buildClaim({ credential, signedHeaders, signature, date });
}

function claimFromQuery(query: Query, headers: SignedRequest['headers']): Claim | string {
  const [algorithm, credential, date, expires, signedHeaders, signature] = PRESIGN_PARAMS.map((p) => {
    const value = query[`X-Amz-${p}`];
    return typeof value === 'string' ? value : undefined;
  });
  if (algorithm !== ALGORITHM) {
    return headers.authorization === undefined
      ? 'missing AWS Signature Version 4: sign the request with the key pair from gust keys create'
      : 'Authorization is not AWS4-HMAC-SHA256: sign the request with AWS Signature Version 4';
  }
  if (!credential || !signedHeaders || !signature || !date) {
    return 'malformed presigned URL: it needs X-Amz-Credential, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Signature';
  }
  const expiresIn = /^\d{1,7}$/.test(expires ?? '') ? Number(expires) : 0;
  if (expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) return 'X-Amz-Expires must be 1 to 604800 seconds';
  const claim = buildClaim({ credential, signedHeaders, signature, date });
  return typeof claim === 'string' ? claim : { ...claim, expiresIn };
}

type ClaimFields = Pick<Claim, 'signature' | 'date'> & { credential: string; signedHeaders: string };

function buildClaim({ credential, signedHeaders: list, signature, date }: ClaimFields): Claim | string {
  const [accessKeyId, scopeDate, region, service, terminator, ...rest] = credential.split('/');
  if (!accessKeyId || !scopeDate || !region || !service || terminator !== 'aws4_request' || rest.length > 0) {
    return 'malformed Credential: expected ACCESS_KEY_ID/YYYYMMDD/REGION/SERVICE/aws4_request';
  }
  // they key smithy's signing-key cache, so keep them to AWS's own alphabet
  if (!/^[a-z0-9-]{1,64}$/.test(region) || !/^[a-z0-9-]{1,64}$/.test(service)) {
    return 'malformed Credential: region and service are lower-case letters, digits and -';
  }
  const signedHeaders = list.split(';');
  if (!signedHeaders.every((h) => /^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(h))) {
    return 'malformed SignedHeaders: expected lower-case header names separated by ;';
  }
  if (!/^[0-9a-f]{64}$/.test(signature)) return 'malformed Signature: expected 64 lower-case hex digits';
  const time = parseAmzDate(date);
  if (time === undefined) return `malformed x-amz-date '${date.slice(0, 20)}': expected YYYYMMDDTHHMMSSZ`;
  return { accessKeyId, scopeDate, region, service, signedHeaders, signature, date, time };
}

function parseAmzDate(date: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  const time = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : Number.NaN;
  // the signer re-derives x-amz-date from this instant, so it must round-trip exactly (no Feb 30)
  const roundTrip = Number.isNaN(time) ? '' : new Date(time).toISOString().replace(/[-:]|\.\d{3}/g, '');
  return roundTrip === date ? time : undefined;
}

/** What AWS checks before the signature: cheap, and each gives a reason a user can act on. */
function checkClaim(claim: Claim, headers: SignedRequest['headers'], now: number): string | undefined {
  const presigned = claim.expiresIn !== undefined;
  if (claim.scopeDate !== claim.date.slice(0, 8)) {
    return `credential date ${claim.scopeDate} does not match the day of x-amz-date ${claim.date}`;
  }
  // a presigned URL may be used until it expires, but not before it was made
  if (presigned ? claim.time - now > MAX_SKEW_MS : Math.abs(now - claim.time) > MAX_SKEW_MS) {
    return 'request time is more than 15 minutes from the server time: check the client clock';
  }
  if (presigned && now > claim.time + (claim.expiresIn ?? 0) * 1000) return 'presigned URL has expired';
  if (!claim.signedHeaders.includes('host'))
    return 'host header is not signed: include host in SignedHeaders';
  // smithy always signs x-amz-date in header form; left unsigned it would only show as a vague mismatch
  if (!presigned && !claim.signedHeaders.includes('x-amz-date')) {
    return 'x-amz-date header is not signed: include x-amz-date in SignedHeaders';
  }
  const missing = claim.signedHeaders.find((h) => header(headers, h) === undefined);
  return missing ? `signed header ${missing} is missing from the request` : undefined;
}

/** The payload hash the client signed when it is not the body's own (undefined: smithy hashes the body). */
function declaredPayload(claim: Claim, headers: SignedRequest['headers'], query: Query): string | undefined {
  // an unsigned x-amz-content-sha256 is ignored: trusting it would let anyone swap the body
  if (claim.signedHeaders.includes(PAYLOAD_HEADER)) return header(headers, PAYLOAD_HEADER);
  if (claim.expiresIn === undefined) return undefined;
  // presigned S3 URLs sign UNSIGNED-PAYLOAD unless they carry X-Amz-Content-Sha256; other services hash the body
  const param = Object.keys(query).find((k) => k.toLowerCase() === PAYLOAD_HEADER);
  const value = param === undefined ? undefined : query[param];
  if (typeof value === 'string') return value;
  return claim.service === 's3' ? UNSIGNED : undefined;
}

/** A signed hex hash vouches for the body only if the body really has that hash (S3 checks this too). */
function checkPayload(declared: string | undefined, body: Uint8Array): string | undefined {
  if (declared === undefined || payloadMode(declared) !== 'signed') return undefined;
  if (!/^[0-9a-f]{64}$/.test(declared)) {
    return 'x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-... marker';
  }
  const actual = createHash('sha256').update(body).digest('hex');
  return actual === declared ? undefined : 'x-amz-content-sha256 does not match the body, which was altered';
}

function payloadMode(declared: string | undefined): PayloadMode {
  if (declared === UNSIGNED) return 'unsigned';
  return declared?.startsWith('STREAMING-') ? 'streaming' : 'signed';
}

/** The request as the client signed it: smithy signs every header it is given, so only the signed ones. */
function signable(claim: Claim, req: SignedRequest, query: Query): HttpRequest {
  const headers: Record<string, string> = Object.create(null);
  for (const h of claim.signedHeaders) headers[h] = header(req.headers, h) ?? '';
  return { ...req, query, protocol: 'http:', hostname: '', headers };
}

async function expectedSignature(claim: Claim, request: HttpRequest, secret: string, declared?: string) {
  const signer = new SignatureV4({
    credentials: { accessKeyId: claim.accessKeyId, secretAccessKey: secret },
    region: claim.region,
    service: claim.service,
    sha256: Hash.bind(null, 'sha256'),
    // every AWS service but S3 double-encodes the (already encoded) path when signing
    uriEscapePath: claim.service !== 's3',
    // never add an x-amz-content-sha256 the client did not sign
    applyChecksum: false,
  });
  try {
    if (claim.expiresIn === undefined) {
      const options = { signingDate: new Date(claim.time), signableHeaders: new Set(claim.signedHeaders) };
      const signed = await signer.sign(request, options);
      return /Signature=([0-9a-f]{64})$/.exec(String(signed.headers.authorization))?.[1];
    }
    const presigned = await signer.presign(...presignArgs(claim, request, declared));
    return presigned.query?.['X-Amz-Signature'];
  } catch {
    return undefined; // e.g. a lone surrogate smithy cannot URI-encode: no valid signature exists
  }
}

/** presign overwrites the X-Amz-* parameters (X-Amz-Signature is never signed) and hoists x-amz-* headers. */
function presignArgs(claim: Claim, request: HttpRequest, declared: string | undefined) {
  const headers = { ...request.headers };
  // a header neither hoisted into the query nor signed: it only sets the payload hash
  if (declared !== undefined && !claim.signedHeaders.includes(PAYLOAD_HEADER))
    headers[PAYLOAD_HEADER] = declared;
  const options = {
    signingDate: new Date(claim.time),
    expiresIn: claim.expiresIn ?? 0,
    signableHeaders: new Set(claim.signedHeaders),
    unhoistableHeaders: new Set([...claim.signedHeaders, PAYLOAD_HEADER]),
    unsignableHeaders: new Set([PAYLOAD_HEADER]),
  };
  return [{ ...request, headers }, options] as const;
}

/** A header's value; node joins repeats with ', ' but may hand arrays, which AWS joins with ','. */
function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'string' ? value : undefined;
}

function sameHex(expected: unknown, given: string): boolean {
  if (typeof expected !== 'string' || !/^[0-9a-f]{64}$/.test(expected)) return false;
  return timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(given, 'hex'));
}
