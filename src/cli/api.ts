/** api: the answers of the control API (docs/API.md) as the CLI reads them: the server's own types. */
import type { InvocationRecord, LogEntry } from '../backends/ports.js';
import type {
  DeployAnswer,
  FunctionSummary,
  RollbackAnswer,
  VersionInfo,
  VersionsAnswer,
} from '../control/functions.js';
import type { HttpAnswer } from '../control/invoke.js';
import type { CreatedKey, KeyInfo } from '../control/keys.js';
import type { ReplayAnswer } from '../control/replay.js';
import type { Inspector } from '../control/replays.js';
import type { UsageReport } from '../observe/usage.js';

export type {
  CreatedKey,
  DeployAnswer,
  FunctionSummary,
  HttpAnswer,
  Inspector,
  InvocationRecord,
  KeyInfo,
  LogEntry,
  ReplayAnswer,
  RollbackAnswer,
  UsageReport,
  VersionInfo,
  VersionsAnswer,
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

/** `POST /invocations/:id/replay` with `inspect`, while the replay waits for a debugger (202). */
export interface InspectAnswer {
  readonly replay: { readonly id: string; readonly function: string; readonly status: 'running' };
  readonly original: InvocationRecord;
  readonly inspector: Inspector;
}
