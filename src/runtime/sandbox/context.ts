/**
 * context: `ctx`, the second argument of every handler. Its type is the one function authors
 * import (`import type { Context } from 'gust'` re-exports it), so the two cannot drift apart.
 */
import { callHost } from './bindings.js';
import { type Bucket, bucketOf } from './bucket.js';
import { InvocationLogger, type LogBuffer } from './logs.js';
import type { FunctionInfo } from './protocol.js';

export interface Logger {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  trace(...args: unknown[]): void;
}

/** The fields that are the same for every invocation of a function version: made once, at load. */
export interface ContextBase {
  readonly functionName: string;
  readonly functionVersion: string;
  readonly version: number;
  readonly memoryLimitInMB: string;
  readonly invokedFunctionArn: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** The function's own environment: its manifest `env`, nothing of the platform's. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Lambda-style handlers find the fields of AWS's context here too. */
export interface Context extends ContextBase {
  readonly invocationId: string;
  /** Same as invocationId, under AWS's name. */
  readonly awsRequestId: string;
  /** W3C trace id of the invocation. */
  readonly traceId: string;
  /**
   * W3C `traceparent` naming this invocation's span: send it as the `traceparent` header of the
   * requests the function makes, so what they reach joins the trace (HTTP handlers find it on the
   * request too; `ctx.invoke` and `ctx.publish` pass it on by themselves).
   */
  readonly traceparent: string;
  /** Which delivery of an event this is: 1, then 2, 3... as it is retried (always 1 for HTTP). */
  readonly attempt: number;
  /** The route's path parameters (`/items/:id` -> `{ id }`); `proxy` holds what a final `*` caught. */
  readonly params: Readonly<Record<string, string>>;
  /** Writes to this invocation's logs (console.* does the same). */
  readonly log: Logger;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
  /**
   * Publishes `data` to a topic (needs `topic:NAME:publish` in `permissions`): every function
   * subscribed gets it, at least once. Resolves once it is durable, with the message's id.
   */
  publish(topic: string, data: unknown): Promise<{ readonly id: string }>;
  /**
   * Invokes another function (needs `function:NAME:invoke`) with `data` as its event: resolves with
   * what it returned, or rejects with its error (an `InvokeError` when it did not run to an
   * answer, its `code` the platform's: `BUDGET_EXCEEDED`, `FUNCTION_TIMEOUT`, `FUNCTION_CRASHED`,
   * `THROTTLED`, ...). With `{ async: true }`, resolves once the event is queued, with its
   * invocation id. The trace id travels along.
   */
  invoke(fn: string, data?: unknown, options?: { readonly async?: boolean }): Promise<unknown>;
  /**
   * A KV namespace (needs `kv:NS:read` to read, `kv:NS:write` to change; write implies read).
   * Values are strings (JSON.stringify objects); keys up to 512 bytes, values up to 1 MB.
   */
  kv(namespace: string): KvNamespace;
  /**
   * A bucket (needs `bucket:NAME:read` to read, `bucket:NAME:write` to change; write implies read).
   * Objects stream in and out in pieces, so they may be far larger than the function's memory.
   */
  bucket(name: string): Bucket;
}

export interface KvNamespace {
  /** The value, or null when there is no such key (or it expired). */
  get(key: string): Promise<string | null>;
  /** `ttl`: seconds the key lives. */
  put(key: string, value: string, options?: { readonly ttl?: number }): Promise<void>;
  /** Whether there was such a key. */
  delete(key: string): Promise<boolean>;
  /** Keys in order, a page at a time (`limit` up to 1000, default 100); pass `cursor` back for the next. */
  list(options?: { readonly prefix?: string; readonly cursor?: string; readonly limit?: number }): Promise<{
    readonly keys: readonly { readonly name: string; readonly expiration: number | null }[];
    readonly cursor: string | null;
  }>;
  /** Puts `next` only if the value is `expected` now (null: only if the key does not exist); whether it did. */
  cas(
    key: string,
    expected: string | null,
    next: string,
    options?: { readonly ttl?: number },
  ): Promise<boolean>;
}

export function baseContext(info: FunctionInfo, env: Readonly<Record<string, string>>): ContextBase {
  return {
    functionName: info.name,
    functionVersion: String(info.version),
    version: info.version,
    memoryLimitInMB: String(info.memoryMb),
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${info.name}`,
    logGroupName: `/gust/functions/${info.name}`,
    logStreamName: `${info.name}/${info.version}/${process.pid}`,
    // A snapshot: reading process.env costs tens of microseconds, and it only changes at load.
    env: Object.freeze({ ...env }),
  };
}

export interface InvocationFacts {
  readonly id: string;
  /** `00-<trace id>-<span id>-01`. */
  readonly traceparent: string;
  readonly deadline: number;
  readonly attempt: number;
  readonly params: Readonly<Record<string, string>>;
}

/** A plain object (handlers spread and serialize it), its fields set one by one: cheaper than a spread. */
export function makeContext(base: ContextBase, facts: InvocationFacts, logs: LogBuffer): Context {
  const { deadline } = facts;
  return {
    invocationId: facts.id,
    awsRequestId: facts.id,
    functionName: base.functionName,
    functionVersion: base.functionVersion,
    version: base.version,
    memoryLimitInMB: base.memoryLimitInMB,
    invokedFunctionArn: base.invokedFunctionArn,
    logGroupName: base.logGroupName,
    logStreamName: base.logStreamName,
    traceId: facts.traceparent.slice(3, 35),
    traceparent: facts.traceparent,
    attempt: facts.attempt,
    params: facts.params,
    env: base.env,
    log: new InvocationLogger(logs),
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    publish: (topic, data) => callHost(facts.id, 'publish', { topic, data }) as Promise<{ id: string }>,
    invoke: (fn, data, options) =>
      callHost(facts.id, 'invoke', { function: fn, data: data ?? null, async: options?.async === true }),
    kv: (namespace) => kvNamespace(facts.id, namespace),
    bucket: (name) => bucketOf(facts.id, name),
  };
}

function kvNamespace(id: string, ns: string): KvNamespace {
  const call = (method: string, args: Record<string, unknown>) => callHost(id, 'kv', { ns, method, ...args });
  return {
    get: (key) => call('get', { key }) as Promise<string | null>,
    put: async (key, value, options) => {
      await call('put', { key, value, ttl: options?.ttl });
    },
    delete: (key) => call('delete', { key }) as Promise<boolean>,
    list: (options) => call('list', { ...options }) as ReturnType<KvNamespace['list']>,
    cas: (key, expected, next, options) =>
      call('cas', { key, expected, next, ttl: options?.ttl }) as Promise<boolean>,
  };
}
