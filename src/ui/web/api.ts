/** api: the control API as the page calls it, with the key kept for this tab (sessionStorage). */
import type { PricePlan } from '../../lib/usage-text';

const KEY = 'gust.key';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const storedKey = (): string | null => sessionStorage.getItem(KEY);

export function keepKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key);
}

/**
 * A call to /_gust/api/v1. Without a key kept, none is sent: a proxy in front of Gust may add the
 * Authorization header to every request, and then the page needs none.
 */
export async function api<T>(path: string, opts: { method?: string; body?: unknown } = {}): Promise<T> {
  const key = storedKey();
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/_gust/api/v1${path}`, {
    method: opts.method ?? 'GET',
    headers,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  });
  const data = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!res.ok) {
    throw new ApiError(res.status, data?.error?.code ?? 'HTTP', data?.error?.message ?? `HTTP ${res.status}`);
  }
  return data as T;
}

/** The shapes the pages read (the control API's JSON; see docs/API.md). */
export interface FunctionSummary {
  name: string;
  project: string | null;
  version: number;
  runtime: string;
  memoryMb: number;
  timeoutMs: number;
  concurrency: number;
  scale: { min: number; max: number; idleMs: number };
  routes: string[];
  triggers?: string[];
  nextRun: string | null;
  instances: number;
  /** Absent from platforms older than budgets. */
  budget?: Budget | null;
  updatedAt: string;
}

/** A function's monthly budget (calendar month, UTC) and what this month used of it. */
export interface Budget {
  function: string;
  gbSeconds: number;
  used: number;
  since: string;
  resetsAt: string;
  exceeded: boolean;
}

export interface InvocationRecord {
  id: string;
  attempt: number;
  function: string;
  version: number;
  trigger: string;
  instance: string | null;
  start: string;
  queuedMs: number;
  durationMs: number;
  billedMs: number;
  memoryMb: number;
  gbSeconds: number;
  cold: boolean;
  initMs: number;
  status: string;
  error: string | null;
  stack: string | null;
  logs: string;
  traceId: string;
  /** Its span in the trace, and the span that caused it (null: it began the trace, or predates span ids). */
  spanId: string | null;
  parentSpanId: string | null;
  /** The invocation a replay ran again (gust replay); null for the others. */
  replayOf?: string | null;
}

/** GET /traces/ID: the records of one trace, oldest start first. */
export interface TraceRecords {
  traceId: string;
  records: InvocationRecord[];
  /** False when the platform's bound left some out. */
  complete: boolean;
}

export interface LatencyPoint {
  at: string;
  /** Calls that ran; those that never ran (throttled, refused) are only counted in `notRun`. */
  count: number;
  errors: number;
  notRun: number;
  coldRatio: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface LatencySeries {
  since: string;
  until: string;
  stepMs: number;
  looked: number;
  complete: boolean;
  points: LatencyPoint[];
}

export interface UsageRow {
  key: string;
  requests: number;
  failed: number;
  coldStarts: number;
  billedMs: number;
  gbSeconds: number;
  warmGbSeconds: number;
  cost: number;
}

export interface UsageReport {
  since: string;
  until: string;
  rows: UsageRow[];
  total: UsageRow;
  prices: PricePlan;
  budgets?: Budget[];
}

/** A function's versions, each with its budget (GB-s a month, null: none), and this month's use. */
export interface VersionList {
  versions: Version[];
  /** GB-s the function's calls used this month (UTC), whichever version ran them. */
  month: { used: number; since: string; resetsAt: string };
}

export interface Version {
  version: number;
  hash: string;
  createdAt: string;
  active: boolean;
  budget: number | null;
}

export interface LogEntry {
  invocation: string;
  start: string;
  status: string;
  logs: string;
  error: string | null;
}
