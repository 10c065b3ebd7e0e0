/** api: the answers of the control API (docs/API.md) as the CLI reads them: the server's own types. */
import type { InvocationRecord, LogEntry } from '../backends/ports.js';
import type { DeployAnswer, FunctionSummary, VersionInfo } from '../control/functions.js';
import type { CreatedKey, KeyInfo } from '../control/keys.js';

export type { CreatedKey, DeployAnswer, FunctionSummary, InvocationRecord, KeyInfo, LogEntry, VersionInfo };

export interface InvokeAnswer {
  readonly invocation: InvocationRecord;
  readonly result?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface LogsAnswer {
  readonly logs: readonly LogEntry[];
  /** Passed back as `after` to get what came since. */
  readonly cursor: number;
}
