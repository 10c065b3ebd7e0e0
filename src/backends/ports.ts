/**
 * backends/ports: every stateful need of Gust as a small interface. embedded/ implements them
 * with SQLite and files; a cluster adapter (PostgreSQL, NATS) implements the same and runs the
 * same conformance suites (test/backends/).
 */
import type { FunctionSpec } from '../manifest/types.js';

export interface VersionRecord {
  readonly function: string;
  readonly version: number;
  /** Hash of the bundle and the normalized spec: same code and config, same hash. */
  readonly hash: string;
  readonly bundleHash: string;
  readonly spec: FunctionSpec;
  readonly createdAt: string;
}

export interface FunctionRecord {
  readonly name: string;
  /** The project that owns it; null for a function deployed before Gust had projects. */
  readonly project: string | null;
  readonly activeVersion: number;
  readonly updatedAt: string;
}

export interface DeployChange {
  readonly spec: FunctionSpec;
  readonly hash: string;
  readonly bundleHash: string;
}

export interface DeployRequest {
  /** Who deploys: the functions end up owned by this project. */
  readonly project: string;
  /** Take functions that another project owns (without it, such a deploy is refused whole). */
  readonly adopt: boolean;
  readonly changes: readonly DeployChange[];
}

export interface DeployedFunction {
  readonly name: string;
  readonly version: number;
  readonly changed: boolean;
  /** Present when the deploy moved the function to this project: its owner before (null: none). */
  readonly movedFrom?: string | null;
}

export type DeployResult =
  | { readonly ok: true; readonly functions: DeployedFunction[] }
  /** Functions another project owns, and `adopt` was not given: nothing changed. */
  | { readonly ok: false; readonly owned: { readonly name: string; readonly project: string }[] };

export interface RegistryStore {
  /** Every function, or those of one project; by name. */
  listFunctions(project?: string): Promise<FunctionRecord[]>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listVersions(name: string): Promise<VersionRecord[]>;
  getVersion(name: string, version: number): Promise<VersionRecord | undefined>;
  /**
   * All or nothing. A change whose hash equals the active version's makes no new version. Version
   * numbers grow per name and are never reused, even after the function was removed.
   */
  deploy(request: DeployRequest): Promise<DeployResult>;
  /** Points the function at an existing version; false if that version does not exist. */
  activate(name: string, version: number): Promise<boolean>;
  /** Removes the function and its versions (its name keeps its last version number); false if there was none. */
  remove(name: string): Promise<boolean>;
}

export type KeyScope = 'admin' | 'deploy' | 'invoke' | 'storage';

export interface KeyRecord {
  readonly id: string;
  /** sha256 of the whole bearer key. */
  readonly hash: string;
  readonly scope: KeyScope;
  readonly function: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
}

export interface KeyStore {
  putKey(key: KeyRecord): Promise<void>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** false if there is no such key. */
  revokeKey(id: string, at: string): Promise<boolean>;
}

export type InvocationStatus = 'ok' | 'error' | 'timeout' | 'crashed' | 'throttled' | 'rejected';

/** The invocation record of PRODUCT.md, field for field. */
export interface InvocationRecord {
  readonly id: string;
  readonly function: string;
  readonly version: number;
  readonly trigger: string;
  readonly instance: string | null;
  readonly start: string;
  /** From arrival to the start of the run: waiting for a free instance, or for a cold start. */
  readonly queuedMs: number;
  /** The run alone. */
  readonly durationMs: number;
  readonly billedMs: number;
  readonly memoryMb: number;
  readonly gbSeconds: number;
  readonly cold: boolean;
  readonly initMs: number;
  readonly status: InvocationStatus;
  readonly error: string | null;
  /** The error's stack, its frames in the author's source files (source-mapped); null without one. */
  readonly stack: string | null;
  readonly logs: string;
  readonly traceId: string;
}

export interface InvocationQuery {
  readonly function?: string;
  /** `failed`: every status but ok. */
  readonly status?: InvocationStatus | 'failed';
  readonly trigger?: string;
  /** ISO times: only records that started at or after `since`, and before `until`. */
  readonly since?: string;
  readonly until?: string;
  /** From an earlier page: the records after it (older ones, as pages go newest first). */
  readonly cursor?: string;
  readonly limit: number;
}

export interface InvocationPage {
  /** Newest first. */
  readonly records: InvocationRecord[];
  /** Where the next page starts; null when this one holds the last record. */
  readonly cursor: string | null;
}

export interface LogQuery {
  readonly function: string;
  readonly invocation?: string;
  /** Cursor from an earlier answer: only what was recorded after it. */
  readonly after?: number;
  readonly limit: number;
}

export interface LogEntry {
  readonly invocation: string;
  readonly start: string;
  readonly status: InvocationStatus;
  readonly logs: string;
  /** As in the record: why it failed, and where (null when it did not, or has no stack). */
  readonly error: string | null;
  readonly stack: string | null;
}

export interface InvocationStore {
  add(records: readonly InvocationRecord[]): Promise<void>;
  get(id: string): Promise<InvocationRecord | undefined>;
  /** Newest first, a page at a time. A cursor that is not one this store made is refused (RangeError). */
  list(query: InvocationQuery): Promise<InvocationPage>;
  /** Oldest first, with the cursor to ask for what comes next. */
  logs(query: LogQuery): Promise<{ entries: LogEntry[]; cursor: number }>;
}

/** Content-addressed bundles; `localPath` gives a file an instance can load. */
export interface BundleStore {
  put(code: string): Promise<string>;
  localPath(hash: string): Promise<string>;
}
