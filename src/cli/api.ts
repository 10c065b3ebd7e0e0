/** api: the answers of the control API (docs/API.md) as the CLI reads them: the server's own types. */
import type { InvocationRecord, LogEntry } from '../backends/ports.js';
import type { DeployAnswer, FunctionSummary, VersionInfo } from '../control/functions.js';
import type { HttpAnswer } from '../control/invoke.js';
import type { CreatedKey, KeyInfo } from '../control/keys.js';
import type { UsageReport } from '../observe/usage.js';

export type {
  CreatedKey,
  DeployAnswer,
  FunctionSummary,
  HttpAnswer,
  InvocationRecord,
  KeyInfo,
  LogEntry,
  UsageReport,
  VersionInfo,
};

export interface InvokeAnswer {
  readonly invocation: InvocationRecord;
  /** What an event invocation returned. */
  readonly result?: unknown;
  /** The response to an HTTP invocation (`http` form). */
  readonly response?: HttpAnswer;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface LogsAnswer {
  readonly logs: readonly LogEntry[];
  /** Passed back as `after` to get what came since. */
  readonly cursor: number;
}
