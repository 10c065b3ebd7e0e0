/** embedded/registry: functions, versions and keys in SQLite. */
import type { FunctionSpec } from '../../manifest/types.js';
import type {
  DeployedFunction,
  DeployRequest,
  DeployResult,
  FunctionRecord,
  KeyRecord,
  KeyScope,
  KeyStore,
  RegistryStore,
  SealedSecret,
  SecretStore,
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
  rate: number | null;
  burst: number | null;
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
  rate: r.rate,
  burst: r.burst,
});

interface FunctionRow {
  name: string;
  project: string | null;
  active_version: number;
  updated_at: string;
}

const toFunction = (r: FunctionRow): FunctionRecord => ({
  name: r.name,
  project: r.project,
  activeVersion: r.active_version,
  updatedAt: r.updated_at,
});

const FUNCTION_COLUMNS = 'name, project, active_version, updated_at';

export class SqliteRegistry implements RegistryStore, KeyStore, SecretStore {
  /** The lookups of every request (a key per call, a function or version per invoke), prepared once. */
  private readonly lookups;

  constructor(private readonly db: Db) {
    this.lookups = {
      fn: db.prepare(`SELECT ${FUNCTION_COLUMNS} FROM functions WHERE name = ?`),
      version: db.prepare('SELECT * FROM versions WHERE function = ? AND version = ?'),
      key: db.prepare('SELECT * FROM keys WHERE id = ?'),
    };
  }

  async listFunctions(project?: string): Promise<FunctionRecord[]> {
    const rows = (
      project === undefined
        ? this.db.prepare(`SELECT ${FUNCTION_COLUMNS} FROM functions ORDER BY name`).all()
        : this.db
            .prepare(`SELECT ${FUNCTION_COLUMNS} FROM functions WHERE project = ? ORDER BY name`)
            .all(project)
    ) as FunctionRow[];
    return rows.map(toFunction);
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const r = this.lookups.fn.get(name) as FunctionRow | undefined;
    return r && toFunction(r);
  }

  async listVersions(name: string): Promise<VersionRecord[]> {
    const rows = this.db
      .prepare('SELECT * FROM versions WHERE function = ? ORDER BY version')
      .all(name) as VersionRow[];
    return rows.map(toVersion);
  }

  async getVersion(name: string, version: number): Promise<VersionRecord | undefined> {
    const row = this.lookups.version.get(name, version) as VersionRow | undefined;
    return row && toVersion(row);
  }

  async deploy({ project, adopt, changes }: DeployRequest): Promise<DeployResult> {
    const now = new Date().toISOString();
    const current = this.db.prepare(
      'SELECT f.project, v.version, v.hash FROM functions f JOIN versions v ON v.function = f.name AND v.version = f.active_version WHERE f.name = ?',
    );
    const last = this.db.prepare('SELECT last_version AS v FROM function_names WHERE name = ?');
    const insertVersion = this.db.prepare(
      'INSERT INTO versions (function, version, hash, bundle_hash, spec, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    const upsertFunction = this.db.prepare(
      'INSERT INTO functions (name, project, active_version, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET project = excluded.project, active_version = excluded.active_version, updated_at = excluded.updated_at',
    );
    const setProject = this.db.prepare('UPDATE functions SET project = ?, updated_at = ? WHERE name = ?');
    const upsertName = this.db.prepare(
      'INSERT INTO function_names (name, last_version) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET last_version = excluded.last_version',
    );
    type Current = { project: string | null; version: number; hash: string };
    const run = this.db.transaction((): DeployResult => {
      const found = changes.map((c) => ({ c, now: current.get(c.spec.name) as Current | undefined }));
      // A function of no project (deployed before projects) is taken by the first that deploys it.
      const owned = found.flatMap(({ c, now: f }) =>
        f?.project != null && f.project !== project ? [{ name: c.spec.name, project: f.project }] : [],
      );
      if (owned.length > 0 && !adopt) return { ok: false, owned };
      const functions = found.map(({ c, now: f }): DeployedFunction => {
        const name = c.spec.name;
        const moved = f !== undefined && f.project !== project ? { movedFrom: f.project } : {};
        if (f?.hash === c.hash) {
          if (f.project !== project) setProject.run(project, now, name);
          return { name, version: f.version, changed: false, ...moved };
        }
        const version = ((last.get(name) as { v: number } | undefined)?.v ?? 0) + 1;
        insertVersion.run(name, version, c.hash, c.bundleHash, JSON.stringify(c.spec), now);
        upsertFunction.run(name, project, version, now);
        upsertName.run(name, version);
        return { name, version, changed: true, ...moved };
      });
      return { ok: true, functions };
    });
    return run();
  }

  async activate(name: string, version: number): Promise<boolean> {
    if (!(await this.getVersion(name, version))) return false;
    const res = this.db
      .prepare('UPDATE functions SET active_version = ?, updated_at = ? WHERE name = ?')
      .run(version, new Date().toISOString(), name);
    return res.changes === 1;
  }

  async trimVersions(name: string, keep: number): Promise<string[]> {
    const run = this.db.transaction((): string[] => {
      const fn = this.lookups.fn.get(name) as FunctionRow | undefined;
      if (fn === undefined) return [];
      const rows = this.db
        .prepare('SELECT version, bundle_hash FROM versions WHERE function = ? ORDER BY version DESC')
        .all(name) as { version: number; bundle_hash: string }[];
      if (rows.length <= keep) return [];
      const active = fn.active_version;
      const before = rows.find((r) => r.version < active)?.version;
      const others = rows.filter((r) => r.version !== active && r.version !== before);
      const spared = keep - (rows.length - others.length);
      const gone = others.slice(Math.max(0, spared));
      const remove = this.db.prepare('DELETE FROM versions WHERE function = ? AND version = ?');
      const mark = this.db.prepare(
        'INSERT OR IGNORE INTO removed_versions (function, version) VALUES (?, ?)',
      );
      const used = this.db.prepare('SELECT 1 FROM versions WHERE bundle_hash = ? LIMIT 1');
      for (const r of gone) {
        remove.run(name, r.version);
        mark.run(name, r.version);
      }
      // a bundle is shared by hash (the same code in two functions, or a version of only a new spec)
      return [...new Set(gone.map((r) => r.bundle_hash))].filter((hash) => used.get(hash) === undefined);
    });
    return run();
  }

  async wasTrimmed(name: string, version: number): Promise<boolean> {
    return (
      this.db
        .prepare('SELECT 1 FROM removed_versions WHERE function = ? AND version = ?')
        .get(name, version) !== undefined
    );
  }

  async remove(name: string): Promise<boolean> {
    const run = this.db.transaction(() => {
      this.db.prepare('DELETE FROM removed_versions WHERE function = ?').run(name);
      this.db.prepare('DELETE FROM versions WHERE function = ?').run(name);
      return this.db.prepare('DELETE FROM functions WHERE name = ?').run(name).changes === 1;
    });
    return run();
  }

  async listTopics(): Promise<{ name: string; projects: string[] }[]> {
    return this.listDeclared('topics');
  }

  async declareTopics(project: string, names: readonly string[]): Promise<void> {
    this.declare('topics', project, names);
  }

  async listNamespaces(): Promise<{ name: string; projects: string[] }[]> {
    return this.listDeclared('kv_namespaces');
  }

  async declareNamespaces(project: string, names: readonly string[]): Promise<void> {
    this.declare('kv_namespaces', project, names);
  }

  /** Topics and KV namespaces: names declared by projects, shared across them. */
  private listDeclared(table: 'topics' | 'kv_namespaces'): { name: string; projects: string[] }[] {
    const rows = this.db.prepare(`SELECT name, project FROM ${table} ORDER BY name, project`).all() as {
      name: string;
      project: string;
    }[];
    const byName = new Map<string, string[]>();
    for (const r of rows) byName.set(r.name, [...(byName.get(r.name) ?? []), r.project]);
    return [...byName].map(([name, projects]) => ({ name, projects }));
  }

  private declare(table: 'topics' | 'kv_namespaces', project: string, names: readonly string[]): void {
    const insert = this.db.prepare(`INSERT OR IGNORE INTO ${table} (project, name) VALUES (?, ?)`);
    this.db.transaction(() => {
      this.db.prepare(`DELETE FROM ${table} WHERE project = ?`).run(project);
      for (const name of names) insert.run(project, name);
    })();
  }

  async putKey(key: KeyRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO keys (id, hash, scope, function, created_at, expires_at, revoked_at, rate, burst) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        key.id,
        key.hash,
        key.scope,
        key.function,
        key.createdAt,
        key.expiresAt,
        key.revokedAt,
        key.rate,
        key.burst,
      );
  }

  async getKey(id: string): Promise<KeyRecord | undefined> {
    const row = this.lookups.key.get(id) as KeyRow | undefined;
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

  async putSecret(secret: SealedSecret): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO secrets (name, sealed, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at',
      )
      .run(secret.name, secret.sealed, secret.updatedAt);
  }

  async listSecrets(): Promise<SealedSecret[]> {
    const rows = this.db.prepare('SELECT name, sealed, updated_at FROM secrets ORDER BY name').all() as {
      name: string;
      sealed: Buffer;
      updated_at: string;
    }[];
    return rows.map((r) => ({ name: r.name, sealed: r.sealed, updatedAt: r.updated_at }));
  }

  async removeSecret(name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM secrets WHERE name = ?').run(name).changes === 1;
  }
}
