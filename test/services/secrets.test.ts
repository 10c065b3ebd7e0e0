/** Secrets: sealed at rest, bound to their names, opened only with the same master key, masked in text. */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteRegistry } from '../../src/backends/embedded/registry.js';
import { maskSecrets, Secrets } from '../../src/services/secrets.js';
import { tempDir } from '../helpers/gust.js';

const dbs: Database.Database[] = [];
afterAll(() => {
  for (const db of dbs) db.close();
});

async function store(): Promise<{ db: Database.Database; registry: SqliteRegistry }> {
  const db = openDatabase(path.join(await tempDir('gust-secrets-'), 'gust.db'));
  dbs.push(db);
  return { db, registry: new SqliteRegistry(db) };
}

describe('Secrets', () => {
  it('keeps values sealed in the database and opens them again with the same master key', async () => {
    const { db, registry } = await store();
    const master = randomBytes(32);
    const secrets = await Secrets.open(registry, master);
    expect(await secrets.set('STRIPE_KEY', 'sk_live_very_secret')).toEqual({ created: true });
    expect(await secrets.set('STRIPE_KEY', 'sk_live_rotated')).toEqual({ created: false });
    const raw = db.prepare('SELECT sealed FROM secrets').get() as { sealed: Buffer };
    expect(raw.sealed.toString('latin1')).not.toContain('sk_live');
    const again = await Secrets.open(registry, master);
    expect(again.env(['STRIPE_KEY', 'MISSING'])).toEqual({ STRIPE_KEY: 'sk_live_rotated' });
    expect(again.list().map((s) => s.name)).toEqual(['STRIPE_KEY']);
  });

  it('refuses to open with another master key, or a sealed value moved to another name', async () => {
    const { db, registry } = await store();
    const master = randomBytes(32);
    const secrets = await Secrets.open(registry, master);
    await secrets.set('A_KEY', 'value-a');
    await expect(Secrets.open(registry, randomBytes(32))).rejects.toThrow(
      /does not open with this master\.key/,
    );
    db.prepare("UPDATE secrets SET name = 'B_KEY' WHERE name = 'A_KEY'").run();
    await expect(Secrets.open(registry, master)).rejects.toThrow(/B_KEY does not open/);
  });

  it('refuses names that cannot be environment variables, reserved names, and bad values', async () => {
    const secrets = await Secrets.open((await store()).registry, randomBytes(32));
    for (const name of ['1ABC', 'with-dash', 'GUST_X', 'NODE_OPTIONS', '']) {
      await expect(secrets.set(name, 'v')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    await expect(secrets.set('EMPTY', '')).rejects.toThrow(/empty/);
    await expect(secrets.set('NUL', 'a\0b')).rejects.toThrow(/NUL/);
    await expect(secrets.set('BIG', 'x'.repeat(65 * 1024))).rejects.toThrow(/over 64 KB/);
    expect(await secrets.remove('NOPE')).toBe(false);
  });
});

describe('maskSecrets', () => {
  it('masks every occurrence, longest value first, and leaves values too short to matter', () => {
    expect(maskSecrets('key=abcd1234 again abcd1234', ['abcd1234'])).toBe('key=*** again ***');
    expect(maskSecrets('token abcdef', ['abc', 'abcdef'])).toBe('token ***');
    expect(maskSecrets('a b c', ['b'])).toBe('a b c');
  });
});
