/** backends/record-ports: the ports of invocation records, their usage and what was kept for replay (see ports.ts). */

export type InvocationStatus = 'ok' | 'error' | 'timeout' | 'crashed' | 'throttled' | 'rejected';

/** The invocation record users see (README, docs/API.md), field for field. */
export interface InvocationRecord {
  readonly id: string;
  /** 1, or the delivery of a queued event this is (its retries keep its id). */
  readonly attempt: number;
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
  /** Binding calls (ctx.publish, ctx.kv, ...) that its permissions refused. */
  readonly deniedCalls: number;
  readonly logs: string;
  readonly traceId: string;
  /** Its span in the trace (observe/traces.ts); null in records made before Gust kept it. */
  readonly spanId: string | null;
  /** The span of what caused it (a caller, the producer of its event); null: it began the trace. */
  readonly parentSpanId: string | null;
  /** The invocation this one ran again (`gust replay`, trigger `replay`); null for every other. */
  readonly replayOf: string | null;
}

/**
 * What an invocation got, kept for `gust replay` (observe/inputs.ts makes it): its event, or its
 * HTTP request, as JSON text. One per invocation id (the retries of a queued event share it).
 */
export interface KeptInput {
  readonly id: string;
  readonly function: string;
  readonly kind: 'event' | 'http';
  /** Epoch ms it was written. */
  readonly keptAt: number;
  /** Bytes of its JSON text: of `input`, or of what was not kept for being over the limit. */
  readonly bytes: number;
  /** The JSON text; null when it was over the per-event limit: only its size is kept. */
  readonly input: string | null;
}

/**
 * The kept inputs, apart from the records: written and pruned (observe/retention.ts InputPruner),
 * for their own time and size, by a thread of their own (observe/input-worker.ts).
 */
export interface InputStore {
  get(id: string): Promise<KeptInput | undefined>;
  /**
   * Deletes up to `limit` of the oldest inputs, only those kept before `before` (epoch ms) when
   * given: how many it deleted, and `done` once none is left to delete. One short step.
   */
  prune(opts: { before?: number; limit: number }): Promise<{ deleted: number; done: boolean }>;
  /** How many inputs are kept, and about how many bytes they take (their text and their rows). */
  size(): Promise<{ inputs: number; bytes: number }>;
}

/** The records of one trace: every attempt (a retry is a span of its own). */
export interface TraceQuery {
  readonly traceId: string;
  /** A record of it known to the caller: where the root of a trace started here is looked for. */
  readonly around?: string;
  readonly limit: number;
}

export interface TraceRecords {
  /** Oldest start first. */
  readonly records: InvocationRecord[];
  /** False when the limit left some out. */
  readonly complete: boolean;
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
  /** The version that ran it, and how long it ran, as in the record (`gust dev` shows both). */
  readonly version: number;
  readonly durationMs: number;
  readonly start: string;
  readonly status: InvocationStatus;
  readonly logs: string;
  /** As in the record: why it failed, and where (null when it did not, or has no stack). */
  readonly error: string | null;
  readonly stack: string | null;
}

/** Usage over a time range: per function, or per UTC day (of every function, or of one). */
export interface UsageQuery {
  /** Epoch ms: from the minute it falls in; to the minute `until` falls in, not included. */
  readonly since: number;
  readonly until: number;
  readonly by: 'function' | 'day';
  readonly function?: string;
}

/** Latency over time: the records of one function in [since, until), cut into equal steps. */
export interface LatencyQuery {
  readonly function: string;
  /** ISO times. */
  readonly since: string;
  readonly until: string;
  readonly stepMs: number;
  /** The newest this many records at most are looked at: the work stays bounded on a busy function. */
  readonly maxRecords: number;
}

/** One step of a latency series; latency is what a caller waited: queued + run, in ms. */
export interface LatencyStep {
  /** Index of the step from `since`. */
  readonly step: number;
  /** Calls that ran (billed), and of those, how many failed and how many started cold. */
  readonly count: number;
  readonly errors: number;
  readonly cold: number;
  /** Calls that never ran (throttled, refused by a budget or an input schema): in no other field. */
  readonly notRun: number;
  /** Latency (queued + run) of the calls that ran; null in a step where none did. */
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
}

export interface UsageRow {
  /** The function (by function), or the UTC day `YYYY-MM-DD` (by day). */
  readonly key: string;
  /** Invocations that ran (and were billed); throttled and rejected calls are not among them. */
  readonly requests: number;
  /** Of those, the ones whose status is not ok. */
  readonly failed: number;
  readonly coldStarts: number;
  readonly billedMs: number;
  readonly gbSeconds: number;
  /** Instances kept warm by `scale.min`, metered apart (like provisioned concurrency). */
  readonly warmGbSeconds: number;
}

export interface InvocationStore {
  /** Also rolls them up into usage, in the same transaction: usage stays exact once records go. */
  add(records: readonly InvocationRecord[]): Promise<void>;
  /** Adds what instances kept warm by scale.min cost, per function, at a moment (epoch ms). */
  addWarm(at: number, gbSecondsByFunction: ReadonlyMap<string, number>): Promise<void>;
  usage(query: UsageQuery): Promise<UsageRow[]>;
  /**
   * Latency percentiles and cold starts per step (steps without records are left out); `looked`:
   * records of the window read; `complete`: false when the bound left older ones of it unread.
   */
  latency(query: LatencyQuery): Promise<{ steps: LatencyStep[]; looked: number; complete: boolean }>;
  /** The latest attempt of that invocation. */
  get(id: string): Promise<InvocationRecord | undefined>;
  /** The records of a trace (dashboard waterfall); bounded work, however many records there are. */
  trace(query: TraceQuery): Promise<TraceRecords>;
  /** Newest first, a page at a time. A cursor that is not one this store made is refused (RangeError). */
  list(query: InvocationQuery): Promise<InvocationPage>;
  /** Oldest first, with the cursor to ask for what comes next. */
  logs(query: LogQuery): Promise<{ entries: LogEntry[]; cursor: number }>;
  /**
   * Deletes up to `limit` of the oldest records that started before `before` (ISO), only those
   * that ended `ok` when `okOnly`: how many it deleted, and `done` once none is left to delete.
   * One short step: callers repeat it until done.
   */
  prune(opts: {
    before: string;
    okOnly: boolean;
    limit: number;
  }): Promise<{ deleted: number; done: boolean }>;
  /** How many records there are, and about how many bytes each takes (logs and indexes included). */
  size(): Promise<{ records: number; bytesPerRecord: number }>;
}
