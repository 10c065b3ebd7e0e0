/**
 * keys: API keys with scopes. A key is shown once; only its sha256 is stored. Its SigV4 pair
 * (for AWS SDK clients) is derived from the key id with the platform's master secret, so the
 * secret access key need not be stored either: accessKeyId = GUSK<id>, secret = HMAC(master, id).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { KeyRecord, KeyScope, KeyStore } from '../backends/ports.js';
import { GustError } from '../errors.js';
import { formatRate, type Rate, RateLimiter } from './rate.js';

export const SCOPES: readonly KeyScope[] = ['admin', 'deploy', 'invoke', 'storage', 'metrics'];
const ACCESS_PREFIX = 'GUSK';
/** A bearer key, `gust_<id>_<secret>`, wherever it appears (the id is group 1). */
export const KEY_PATTERN = 'gust_([A-Z2-7]{16})_[\\w-]{43}';
const BEARER = new RegExp(`^${KEY_PATTERN}$`);
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface CreatedKey {
  readonly id: string;
  readonly key: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly scope: KeyScope;
  readonly function: string | null;
  readonly expiresAt: string | null;
  readonly rate: number | null;
  readonly burst: number | null;
}

/** A key as listings show it: never the key itself. */
export interface KeyInfo {
  readonly id: string;
  readonly prefix: string;
  readonly scope: KeyScope;
  readonly function: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revoked: boolean;
  /** Requests a second; null: no limit. */
  readonly rate: number | null;
  /** Requests at once (the N of the N/unit it was given). */
  readonly burst: number | null;
}

export function keyInfo(k: KeyRecord): KeyInfo {
  return {
    id: k.id,
    prefix: `gust_${k.id.slice(0, 6)}…`,
    scope: k.scope,
    function: k.function,
    createdAt: k.createdAt,
    expiresAt: k.expiresAt,
    revoked: k.revokedAt !== null,
    rate: k.rate,
    burst: k.burst,
  };
}

/** What a call needs: a scope, and for invocations the function it targets. */
export interface Need {
  readonly scope: KeyScope;
  readonly function?: string;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function newId(): string {
  const bytes = randomBytes(16);
  return [...bytes].map((b) => BASE32[b % 32]).join('');
}

export class Keys {
  private readonly limiter = new RateLimiter();

  constructor(
    private readonly store: KeyStore,
    private readonly master: Buffer,
  ) {}

  async create(opts: {
    scope: KeyScope;
    function?: string | null;
    expiresInMs?: number;
    rate?: Rate;
  }): Promise<CreatedKey> {
    const id = newId();
    const secretAccessKey = this.secretOf(id);
    const key = `gust_${id}_${secretAccessKey}`;
    const now = Date.now();
    const expiresAt = opts.expiresInMs === undefined ? null : new Date(now + opts.expiresInMs).toISOString();
    const record: KeyRecord = {
      id,
      hash: sha256(key),
      scope: opts.scope,
      function: opts.function ?? null,
      createdAt: new Date(now).toISOString(),
      expiresAt,
      revokedAt: null,
      rate: opts.rate?.perSecond ?? null,
      burst: opts.rate?.burst ?? null,
    };
    await this.store.putKey(record);
    return {
      id,
      key,
      accessKeyId: `${ACCESS_PREFIX}${id}`,
      secretAccessKey,
      scope: opts.scope,
      function: record.function,
      expiresAt,
      rate: record.rate,
      burst: record.burst,
    };
  }

  /** Throws RATE_LIMITED (429, Retry-After) when a key with a rate limit has used it up. */
  admit(key: KeyRecord): void {
    if (key.rate === null) return;
    const taken = this.limiter.take(key.id, key.rate, key.burst);
    if (taken.ok) return;
    const error = new GustError(
      'RATE_LIMITED',
      `this key may make ${formatRate(key.rate, key.burst)}: try again in ${Math.ceil(taken.retryAfterMs / 1000)} s`,
    );
    error.retryAfterSeconds = Math.max(1, Math.ceil(taken.retryAfterMs / 1000));
    throw error;
  }

  /** The key behind a bearer token, if it is valid, unrevoked and unexpired. */
  async verifyBearer(token: string): Promise<KeyRecord | undefined> {
    const m = BEARER.exec(token);
    if (!m) return undefined;
    const record = await this.usable(m[1]!);
    if (!record) return undefined;
    const given = Buffer.from(sha256(token), 'hex');
    return timingSafeEqual(given, Buffer.from(record.hash, 'hex')) ? record : undefined;
  }

  /** For SigV4: the secret of an access key id, with its record, if the key is usable. */
  async secretFor(accessKeyId: string): Promise<{ secret: string; record: KeyRecord } | undefined> {
    if (!accessKeyId.startsWith(ACCESS_PREFIX)) return undefined;
    const id = accessKeyId.slice(ACCESS_PREFIX.length);
    const record = await this.usable(id);
    return record && { secret: this.secretOf(id), record };
  }

  /** Why an access key id is refused, said for its owner: revoked, expired, or not a key of this platform. */
  async refusal(accessKeyId: string): Promise<string> {
    const record = accessKeyId.startsWith(ACCESS_PREFIX)
      ? await this.store.getKey(accessKeyId.slice(ACCESS_PREFIX.length))
      : undefined;
    if (record?.revokedAt) return `the key ${accessKeyId} was revoked at ${record.revokedAt}`;
    if (record?.expiresAt) return `the key ${accessKeyId} expired at ${record.expiresAt}`;
    const shown = accessKeyId.length > 24 ? `${accessKeyId.slice(0, 12)}…` : accessKeyId;
    return `unknown access key id ${shown}: create one with gust keys create --scope storage`;
  }

  async list(): Promise<KeyRecord[]> {
    return this.store.listKeys();
  }

  async revoke(id: string): Promise<boolean> {
    return this.store.revokeKey(id, new Date().toISOString());
  }

  private async usable(id: string): Promise<KeyRecord | undefined> {
    const record = await this.store.getKey(id);
    if (!record || record.revokedAt !== null) return undefined;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= Date.now()) return undefined;
    return record;
  }

  private secretOf(id: string): string {
    return createHmac('sha256', this.master).update(`sigv4:${id}`).digest('base64url');
  }
}

/** Throws FORBIDDEN unless the key's scope covers the need. */
export function authorize(key: KeyRecord, need: Need): void {
  if (key.scope === 'admin') return;
  if (key.scope !== need.scope) {
    const needed = need.scope === 'admin' ? 'an admin key' : `a key of scope ${need.scope} or admin`;
    throw new GustError('FORBIDDEN', `this ${key.scope} key cannot do that: it needs ${needed}`);
  }
  // A key limited to one function does that function's work and nothing else: not publishing to
  // topics (which would run every subscriber), not anything that names no function.
  if (key.function !== null && need.function !== key.function) {
    throw new GustError(
      'FORBIDDEN',
      `this key is limited to function ${key.function}: it can invoke that function and nothing else`,
    );
  }
}

/** How long a key may live at most: a date past it would not fit in an ISO time (999999d would). */
const MAX_EXPIRY_MS = 36_500 * 86_400_000;

/** What `expires` must read like; the CLI checks `--expires` with parseExpiry too. */
export const EXPIRY_RULE = 'a duration from 1m to 36500d, like 45m, 12h or 30d';

/** `30d`, `12h`, `45m` -> ms; undefined for anything else, 0 (a key born expired) and over 100 years. */
export function parseExpiry(text: string): number | undefined {
  const m = /^(\d{1,6})(m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
  const ms = Number(m[1]) * unit;
  return ms > 0 && ms <= MAX_EXPIRY_MS ? ms : undefined;
}

/** 100 -> `100 requests a second`, 0.5 -> `30 requests a minute`. */
