/** api: the answers of the control API (docs/API.md) as the CLI reads them. */

export interface FunctionSummary {
  readonly name: string;
  readonly version: number;
  readonly runtime: string;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly scale: { readonly min: number; readonly max: number; readonly idleMs: number };
  readonly routes: readonly string[];
  readonly instances: number;
  readonly updatedAt: string;
}

export interface DeployAnswer {
  readonly functions: readonly {
    readonly name: string;
    readonly version: number;
    readonly changed: boolean;
  }[];
}

export interface VersionInfo {
  readonly version: number;
  readonly hash: string;
  readonly createdAt: string;
  readonly active: boolean;
}

export interface InvocationRecord {
  readonly id: string;
  readonly function: string;
  readonly version: number;
  readonly trigger: string;
  readonly instance?: string | null;
  readonly start: string;
  readonly durationMs?: number | null;
  readonly billedMs?: number | null;
  readonly memoryMb?: number;
  readonly gbSeconds?: number;
  readonly cold?: boolean;
  readonly initMs?: number | null;
  readonly status: string;
  readonly error?: unknown;
  readonly logs?: string | null;
  readonly traceId?: string;
}

export interface InvokeAnswer {
  readonly invocation: InvocationRecord;
  readonly result?: unknown;
}

export interface LogEntry {
  readonly invocation: string;
  readonly start: string;
  readonly logs: string;
}

export interface LogsAnswer {
  readonly logs: readonly LogEntry[];
  /** Opaque: passed back as `after` to get what came since. */
  readonly cursor: string | number | null;
}

export interface CreatedKey {
  readonly id: string;
  readonly key: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly scope: string;
  readonly function: string | null;
  readonly expiresAt: string | null;
}

export interface KeyInfo {
  readonly id: string;
  readonly prefix: string;
  readonly scope: string;
  readonly function: string | null;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revoked: boolean;
}
