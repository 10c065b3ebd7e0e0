/** embedded/registry: functions, versions and keys in SQLite. */
import type { FunctionSpec } from '../../manifest/types.js';
import type {
  DeployChange,
  DeployedFunction,
  FunctionRecord,
  KeyRecord,
  KeyScope,
  KeyStore,
  RegistryStore,
  VersionRecord,
} from '../ports.js';
import type { Db } from './database.js';

interface VersionRow {
  function: string;
  version: number;
  hash: string;
  bundle_hash: string;
  spec: string;
  created_at: string;
}

interface KeyRow {
  id: string;
  hash: string;
  scope: string;
  function: string | null;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

const toVersion = (r: VersionRow): VersionRecord => ({
  function: r.function,
  version: r.version,
  hash: r.hash,
  bundleHash: r.bundle_hash,
  spec: JSON.parse(r.spec) as FunctionSpec,
  createdAt: r.created_at,
});

const toKey = (r: KeyRow): KeyRecord => ({
  id: r.id,
  hash: r.hash,
  scope: r.scope as KeyScope,
  function: r.function,
  createdAt: r.created_at,
  expiresAt: r.expires_at,
  revokedAt: r.revoked_at,
});

export class SqliteRegistry implements RegistryStore, KeyStore {
  constructor(private readonly db: Db) {}

  async listFunctions(): Promise<FunctionRecord[]> {
    const rows = this.db
      .prepare('SELECT name, active_version, updated_at FROM functions ORDER BY name')
      .all() as {
      name: string;
      active_version: number;
      updated_at: string;
    }[];
    return rows.map((r) => ({ name: r.name, activeVersion: r.active_version, updatedAt: r.updated_at }));
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const r = this.db
      .prepare('SELECT name, active_version, updated_at FROM functions WHERE name = ?')
      .get(name) as { name: string; active_version: number; updated_at: string } | undefined;
    return r && { name: r.name, activeVersion: r.active_version, updatedAt: r.updated_at };
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM versions WHERE function = ? ORDER BY version')
      .all(name) as VersionRow[];
    return rows.map(toVersion);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const row = this.db
      .prepare('SELECT * FROM versions WHERE function = ? AND version = ?')
      .get(name, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  async deploy(changes: readonly DeployChange[]): Promise<DeployedFunction[]> {
    const now = new Date().toISOString();
    const active = this.db.prepare(
      'SELECT v.version, v.hash FROM functions f JOIN versions v ON v.function = f.name AND v.version = f.active_version WHERE f.name = ?',
    );
    const latest = this.db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM versions WHERE function = ?');
    const insertVersion = this.db.prepare(
      'INSERT INTO versions (function, version, hash, bundle_hash, spec, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const upsertFunction = this.db.prepare(
      'INSERT INTO functions (name, active_version, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET active_version = excluded.active_version, updated_at = excluded.updated_at',
    );
    const run = this.db.transaction((list: readonly DeployChange[]) =>
      list.map((c): DeployedFunction => {
        const current = active.get(c.spec.name) as { version: number; hash: string } | undefined;
        if (current?.hash === c.hash) return { name: c.spec.name, version: current.version, changed: false };
        const version = (latest.get(c.spec.name) as { v: number }).v + 1;
        insertVersion.run(c.spec.name, version, c.hash, c.bundleHash, JSON.stringify(c.spec), now);
        upsertFunction.run(c.spec.name, version, now);
        return { name: c.spec.name, version, changed: true };
      }),
    );
    return run(changes);
  }

  async activate(name: string, version: number): Promise<boolean> {
    if (!(await this.getVersion(name, version))) return false;
    const res = this.db
      .prepare('UPDATE functions SET active_version = ?, updated_at = ? WHERE name = ?')
      .run(version, new Date().toISOString(), name);
    return res.changes === 1;
  }

  async remove(name: string): Promise<boolean> {
    const run = this.db.transaction(() => {
      this.db.prepare('DELETE FROM versions WHERE function = ?').run(name);
      return this.db.prepare('DELETE FROM functions WHERE name = ?').run(name).changes === 1;
    });
    return run();
  }

  async putKey(key: KeyRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO keys (id, hash, scope, function, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(key.id, key.hash, key.scope, key.function, key.createdAt, key.expiresAt, key.revokedAt);
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM keys WHERE id = ?').get(id) as KeyRow | undefined;
    return row && toKey(row);
  }

  async listKeys(): Promise<KeyRecord[]> {
    return (this.db.prepare('SELECT * FROM keys ORDER BY created_at').all() as KeyRow[]).map(toKey);
  }

  async revokeKey(id: string, at: string): Promise<boolean> {
    return (
      this.db.prepare('UPDATE keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id)
        .changes === 1
    );
  }
}
