/**
 * services/kv: KV namespaces, the state functions keep between invocations. A namespace exists
 * while some project declares it (`kv:` in gust.yaml), shared by name like topics; functions reach
 * it through `ctx.kv(ns)` (checked against `kv:NS:read|write`), operators through `gust kv` and
 * the control API. Every input is bounded here, with a clear error: keys of 1 to 512 bytes, values
 * (strings) up to 1 MB, TTLs of 1 s to a year. A change runs the functions with a `kv` trigger on
 * it (put, delete), queued in the same transaction as the change.
 */
import type { Enqueue, KvChange, KvEntry, KvPage, KvStore, RegistryStore } from '../backends/ports.js';
import { queueOf } from '../dispatch/deliveries.js';
import { newInvocationId } from '../dispatch/invocation.js';
import { GustError } from '../errors.js';
import type { QueuedEvent } from '../events/types.js';
import type { FunctionSpec } from '../manifest/types.js';
import { newTrace, type TraceLink } from '../observe/trace-context.js';
import { Declared } from './declared.js';

export const MAX_KEY_BYTES = 512;
export const MAX_VALUE_BYTES = 1024 * 1024;
/** A put event carries the value when it is at most this big (events weigh 256 KB at most). */
const MAX_EVENT_VALUE_BYTES = 64 * 1024;
const MAX_TTL_SECONDS = 365 * 24 * 3600;
export const MAX_LIST = 1000;

export interface KvOptions {
  /** Seconds the key lives; absent: for ever. */
  readonly ttl?: number;
}

export class Kv {
  private readonly declared: Declared;
  /** Namespace -> function -> the changes that run it. */
  private readonly watchers = new Map<string, Map<string, readonly ('put' | 'delete')[]>>();

  private constructor(
    registry: RegistryStore,
    private readonly store: KvStore,
  ) {
    this.declared = new Declared({
      list: () => registry.listNamespaces(),
      declare: (project, names) => registry.declareNamespaces(project, names),
    });
  }

  static async open(registry: RegistryStore, store: KvStore): Promise<Kv> {
    const kv = new Kv(registry, store);
    await kv.declared.load();
    return kv;
  }

  async declare(project: string, names: readonly string[]): Promise<void> {
    await this.declared.declare(project, names);
  }

  /** The namespaces that would exist were `project` to declare `names`. */
  namesWith(project: string, names: readonly string[]): Set<string> {
    return this.declared.namesWith(project, names);
  }

  /** The names that would cease to exist were `project` to declare `names`. */
  goneWith(project: string, names: readonly string[]): Set<string> {
    return this.declared.goneWith(project, names);
  }

  list(): { name: string; projects: readonly string[]; triggers: string[] }[] {
    return this.declared.entries().map(([name, projects]) => ({
      name,
      projects,
      triggers: [...(this.watchers.get(name)?.keys() ?? [])].sort(),
    }));
  }

  /** Follows a function's active version: its kv triggers. */
  serve(spec: FunctionSpec): void {
    this.forget(spec.name);
    for (const t of spec.triggers) {
      if (t.type !== 'kv') continue;
      const fns = this.watchers.get(t.namespace) ?? new Map<string, readonly ('put' | 'delete')[]>();
      fns.set(spec.name, [...new Set([...(fns.get(spec.name) ?? []), ...t.on])]);
      this.watchers.set(t.namespace, fns);
    }
  }

  forget(fn: string): void {
    for (const fns of this.watchers.values()) fns.delete(fn);
  }

  async get(ns: string, key: string): Promise<KvEntry | undefined> {
    this.need(ns);
    return this.store.get(ns, checkKey(key));
  }

  async put(
    ns: string,
    key: string,
    value: unknown,
    opts: KvOptions = {},
    trace = newTrace(),
  ): Promise<void> {
    this.need(ns);
    const change: KvChange = { op: 'put', ns, key: checkKey(key), value: checkValue(value), ...ttlOf(opts) };
    await this.write(change, trace);
  }

  /** Whether there was such a key. */
  async delete(ns: string, key: string, trace = newTrace()): Promise<boolean> {
    this.need(ns);
    return (await this.write({ op: 'delete', ns, key: checkKey(key) }, trace)).changed;
  }

  /** Puts `next` only if the value is `expected` now (null: only if there is no such key); whether it did. */
  async cas(
    ns: string,
    key: string,
    expected: unknown,
    next: unknown,
    opts: KvOptions = {},
    trace = newTrace(),
  ): Promise<boolean> {
    this.need(ns);
    if (expected !== null && typeof expected !== 'string') {
      throw new GustError(
        'BAD_REQUEST',
        'cas(key, expected, next): expected must be a string, or null for a key that must not exist',
      );
    }
    const change: KvChange = {
      op: 'cas',
      ns,
      key: checkKey(key),
      expected,
      next: checkValue(next),
      ...ttlOf(opts),
    };
    return (await this.write(change, trace)).changed;
  }

  async keys(ns: string, opts: { prefix?: unknown; cursor?: unknown; limit?: unknown }): Promise<KvPage> {
    this.need(ns);
    const prefix = opts.prefix ?? '';
    if (typeof prefix !== 'string' || Buffer.byteLength(prefix) > MAX_KEY_BYTES) {
      throw new GustError('BAD_REQUEST', `prefix must be a string of at most ${MAX_KEY_BYTES} bytes`);
    }
    const limit = opts.limit ?? 100;
    if (!Number.isInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LIST) {
      throw new GustError('BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_LIST}`);
    }
    if (opts.cursor !== undefined && opts.cursor !== null && typeof opts.cursor !== 'string') {
      throw new GustError('BAD_REQUEST', 'cursor must be the string a previous list gave');
    }
    try {
      return await this.store.list(ns, {
        prefix,
        limit: limit as number,
        ...(typeof opts.cursor === 'string' ? { cursor: opts.cursor } : {}),
      });
    } catch (e) {
      if (e instanceof RangeError)
        throw new GustError('BAD_REQUEST', 'cursor is not one a list of this namespace gave');
      throw e;
    }
  }

  /** Expired keys are never read; this only frees their space. */
  purgeExpired(max = 1000): Promise<number> {
    return this.store.purgeExpired(max);
  }

  private write(change: KvChange, trace: TraceLink): Promise<{ changed: boolean }> {
    return this.store.write(change, (c) => this.events(c, trace));
  }

  /** The queued events of a change that happened: one per function whose kv trigger wants it. */
  private events(change: KvChange, trace: TraceLink): Enqueue[] {
    const op = change.op === 'delete' ? 'delete' : 'put';
    const out: Enqueue[] = [];
    for (const [fn, on] of this.watchers.get(change.ns) ?? []) {
      if (!on.includes(op)) continue;
      const value = change.op === 'put' ? change.value : change.op === 'cas' ? change.next : undefined;
      const event: QueuedEvent = {
        v: 1,
        function: fn,
        trigger: 'kv',
        invocationId: newInvocationId(),
        ...trace,
        source: {
          kind: 'kv',
          namespace: change.ns,
          key: change.key,
          op,
          at: new Date().toISOString(),
          ...(value !== undefined && Buffer.byteLength(value) <= MAX_EVENT_VALUE_BYTES ? { value } : {}),
        },
      };
      out.push({ queue: queueOf(fn), id: event.invocationId, body: JSON.stringify(event) });
    }
    return out;
  }

  private need(ns: string): void {
    if (!this.declared.has(ns)) {
      throw new GustError('NOT_FOUND', `no KV namespace ${ns}: declare it under kv in a gust.yaml`);
    }
  }
}

function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key === '')
    throw new GustError('BAD_REQUEST', 'a key must be a non-empty string');
  const bytes = Buffer.byteLength(key);
  if (bytes > MAX_KEY_BYTES) {
    throw new GustError('BAD_REQUEST', `the key is ${bytes} bytes; keys are at most ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}

function checkValue(value: unknown): string {
  if (typeof value !== 'string') {
    throw new GustError(
      'BAD_REQUEST',
      `a value must be a string (got ${value === null ? 'null' : typeof value}): JSON.stringify objects`,
    );
  }
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_VALUE_BYTES) {
    throw new GustError('PAYLOAD_TOO_LARGE', `the value is ${bytes} bytes; values are at most 1 MB`);
  }
  return value;
}

function ttlOf(opts: KvOptions): { ttlMs?: number } {
  if (opts.ttl === undefined || opts.ttl === null) return {};
  const ttl = opts.ttl as unknown;
  if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 1 || ttl > MAX_TTL_SECONDS) {
    throw new GustError('BAD_REQUEST', `ttl is in seconds, from 1 to ${MAX_TTL_SECONDS} (a year)`);
  }
  return { ttlMs: Math.round(ttl * 1000) };
}
