/**
 * services/secrets: values functions need but manifests must not hold (API keys, connection
 * strings, webhook secrets). Sealed at rest with AES-256-GCM under a key derived from the master
 * secret (master.key, kept apart from the database: a copy of gust.db alone reveals nothing); the
 * name is the authenticated data, so a sealed value moved to another name does not open. Opened
 * once at start and kept in memory, where instances get them at their start. Never shown again.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { SecretStore } from '../backends/ports.js';
import { GustError } from '../errors.js';

/** A secret's name: it becomes an environment variable of the functions that declare it. */
export const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const MAX_SECRET_BYTES = 64 * 1024;
const FORMAT = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Replaced values of one secret still masked in records (see `earlier`). */
const MAX_EARLIER_VALUES = 32;

export interface SecretInfo {
  readonly name: string;
  readonly updatedAt: string;
}

/** Why a name cannot be a secret's, or undefined when it can. */
export function secretNameProblem(name: string): string | undefined {
  if (!SECRET_NAME.test(name)) {
    return 'secret names are letters, digits and _, not starting with a digit, 128 at most (they become environment variables)';
  }
  if (name === 'NODE_OPTIONS' || name.startsWith('GUST_')) {
    return 'NODE_OPTIONS and names starting with GUST_ are reserved for the platform';
  }
  return undefined;
}

export class Secrets {
  private readonly key: Buffer;
  private readonly values = new Map<string, { value: string; updatedAt: string }>();
  /**
   * Values replaced or removed since the platform started: instances started before the change
   * still hold them, so records go on masking them (bounded per name; instances do not outlive
   * the platform, so nothing older is needed).
   */
  private readonly earlier = new Map<string, string[]>();

  private constructor(
    private readonly store: SecretStore,
    master: Buffer,
  ) {
    this.key = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'gust secrets v1', 32));
  }

  /** Opens every stored secret; one that does not open (a damaged row, another master key) is an error. */
  static async open(store: SecretStore, master: Buffer): Promise<Secrets> {
    const secrets = new Secrets(store, master);
    for (const row of await store.listSecrets()) {
      secrets.values.set(row.name, { value: secrets.unseal(row.name, row.sealed), updatedAt: row.updatedAt });
    }
    return secrets;
  }

  async set(name: string, value: string): Promise<{ created: boolean }> {
    const problem = secretNameProblem(name);
    if (problem) throw new GustError('BAD_REQUEST', `${JSON.stringify(name.slice(0, 60))}: ${problem}`);
    if (Buffer.byteLength(value) > MAX_SECRET_BYTES) {
      throw new GustError('BAD_REQUEST', `the value of ${name} is over ${MAX_SECRET_BYTES / 1024} KB`);
    }
    if (value.includes('\0')) {
      throw new GustError(
        'BAD_REQUEST',
        `the value of ${name} holds a NUL character, which no environment variable can`,
      );
    }
    if (value === '') throw new GustError('BAD_REQUEST', `the value of ${name} is empty`);
    const updatedAt = new Date().toISOString();
    await this.store.putSecret({ name, sealed: this.seal(name, value), updatedAt });
    const created = !this.values.has(name);
    this.forget(name);
    this.values.set(name, { value, updatedAt });
    return { created };
  }

  async remove(name: string): Promise<boolean> {
    const removed = await this.store.removeSecret(name);
    this.forget(name);
    this.values.delete(name);
    return removed;
  }

  /** Every value these secrets have had since the platform started, the current ones included: what records mask. */
  masks(names: readonly string[]): string[] {
    const out: string[] = [];
    for (const name of names) {
      const current = this.values.get(name);
      if (current) out.push(current.value);
      out.push(...(this.earlier.get(name) ?? []));
    }
    return out;
  }

  private forget(name: string): void {
    const current = this.values.get(name);
    if (!current) return;
    const earlier = this.earlier.get(name) ?? [];
    earlier.push(current.value);
    this.earlier.set(name, earlier.slice(-MAX_EARLIER_VALUES));
  }

  list(): SecretInfo[] {
    return [...this.values]
      .map(([name, { updatedAt }]) => ({ name, updatedAt }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** The values of these secrets, as environment variables; missing ones are left out. */
  env(names: readonly string[]): Record<string, string> {
    const env: Record<string, string> = {};
    for (const name of names) {
      const found = this.values.get(name);
      if (found) env[name] = found.value;
    }
    return env;
  }

  private seal(name: string, value: string): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(name));
    const sealed = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT]), iv, cipher.getAuthTag(), sealed]);
  }

  private unseal(name: string, sealed: Buffer): string {
    try {
      if (sealed[0] !== FORMAT) throw new Error(`unknown format ${sealed[0]}`);
      const iv = sealed.subarray(1, 1 + IV_BYTES);
      const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
      decipher.setAAD(Buffer.from(name));
      decipher.setAuthTag(tag);
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + IV_BYTES + TAG_BYTES)),
        decipher.final(),
      ]).toString('utf8');
    } catch {
      throw new GustError(
        'UNAVAILABLE',
        `the secret ${name} does not open with this master.key (restored from another platform, or damaged): set it again with gust secrets set ${name}`,
      );
    }
  }
}

/**
 * Replaces every secret value in `text` with `***`, longest first (one value may hold another).
 * Values under 4 characters are left: masking them would garble logs and hide nothing of worth.
 */
export function maskSecrets(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of [...values].sort((a, b) => b.length - a.length)) {
    if (v.length >= 4 && out.includes(v)) out = out.split(v).join('***');
  }
  return out;
}
