/** The embedded registry: projects, version numbers across removal, and data folders of an earlier Gust. */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/backends/embedded/database.js';
import { SqliteRegistry } from '../../src/backends/embedded/registry.js';
import type { DeployChange } from '../../src/backends/ports.js';
import type { FunctionSpec } from '../../src/manifest/types.js';
import { tempDir } from '../helpers/gust.js';
import { testSpec } from '../helpers/spec.js';

const opened: Database.Database[] = [];
afterAll(() => {
  for (const db of opened) db.close();
});

async function registry(file?: string): Promise<SqliteRegistry> {
  const db = openDatabase(file ?? path.join(await tempDir('gust-registry-'), 'gust.db'));
  opened.push(db);
  return new SqliteRegistry(db);
}

const spec = (name: string): FunctionSpec =>
  testSpec(name, { handler: { path: 'a.mjs' }, timeoutMs: 1000, scale: { min: 0, max: 1, idleMs: 1000 } });

const change = (name: string, hash: string): DeployChange => ({ spec: spec(name), hash, bundleHash: hash });

describe('SqliteRegistry', () => {
  it('refuses a whole deploy that touches a function of another project, unless it adopts', async () => {
    const r = await registry();
    expect(await r.deploy({ project: 'a', adopt: false, changes: [change('f', 'h1')] })).toMatchObject({
      ok: true,
    });
    const refused = await r.deploy({
      project: 'b',
      adopt: false,
      changes: [change('g', 'h2'), change('f', 'h3')],
    });
    expect(refused).toEqual({ ok: false, owned: [{ name: 'f', project: 'a' }] });
    // all or nothing: g was not deployed either
    expect(await r.getFunction('g')).toBeUndefined();
    const adopted = await r.deploy({ project: 'b', adopt: true, changes: [change('f', 'h1')] });
    // same code: no new version, but a new owner
    expect(adopted).toEqual({
      ok: true,
      functions: [{ name: 'f', version: 1, changed: false, movedFrom: 'a' }],
    });
    expect((await r.listFunctions('b')).map((f) => f.name)).toEqual(['f']);
    expect(await r.listFunctions('a')).toEqual([]);
  });

  it('never gives a name a version number it had before, even after removal', async () => {
    const r = await registry();
    await r.deploy({ project: 'a', adopt: false, changes: [change('f', 'h1')] });
    await r.deploy({ project: 'a', adopt: false, changes: [change('f', 'h2')] });
    expect(await r.remove('f')).toBe(true);
    expect(await r.listVersions('f')).toEqual([]);
    const again = await r.deploy({ project: 'b', adopt: false, changes: [change('f', 'h1')] });
    expect(again).toEqual({ ok: true, functions: [{ name: 'f', version: 3, changed: true }] });
  });

  it('opens a data folder of a Gust before projects, and the first project to deploy a function takes it', async () => {
    const file = path.join(await tempDir('gust-registry-'), 'gust.db');
    // the schema as the first Gust wrote it, without migration numbers
    const old = new Database(file);
    old.exec(`
      CREATE TABLE functions (name TEXT PRIMARY KEY, active_version INTEGER NOT NULL, updated_at TEXT NOT NULL);
      CREATE TABLE versions (function TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,
        bundle_hash TEXT NOT NULL, spec TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (function, version));
      INSERT INTO functions VALUES ('legacy', 2, '2026-01-01T00:00:00.000Z');
      INSERT INTO versions VALUES ('legacy', 1, 'h1', 'h1', '${JSON.stringify(spec('legacy'))}', '2026-01-01T00:00:00.000Z');
      INSERT INTO versions VALUES ('legacy', 2, 'h2', 'h2', '${JSON.stringify(spec('legacy'))}', '2026-01-01T00:00:00.000Z');
    `);
    old.close();
    const r = await registry(file);
    expect(await r.getFunction('legacy')).toMatchObject({ project: null, activeVersion: 2 });
    const taken = await r.deploy({ project: 'shop', adopt: false, changes: [change('legacy', 'h3')] });
    expect(taken).toEqual({
      ok: true,
      functions: [{ name: 'legacy', version: 3, changed: true, movedFrom: null }],
    });
    expect(await r.getFunction('legacy')).toMatchObject({ project: 'shop' });
  });

  it('refuses a database written by a newer Gust rather than damage it', async () => {
    const file = path.join(await tempDir('gust-registry-'), 'gust.db');
    const newer = new Database(file);
    newer.pragma('user_version = 999');
    newer.close();
    expect(() => openDatabase(file)).toThrow(/written by a newer Gust/);
  });
});
