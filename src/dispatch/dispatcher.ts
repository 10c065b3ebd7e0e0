/**
 * dispatcher: the one path of an invocation: find the pool of the function's version, lease an
 * instance (maybe cold), run, release, record. Every trigger comes through `invoke`.
 */
import type { InvocationRecord, InvocationStatus } from '../backends/ports.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { Recorder } from '../observe/records.js';
import { meter } from '../observe/records.js';
import type { HttpSink, InvokeOutcome, SandboxFactory, Work } from '../runtime/types.js';
import type { Invocation } from './invocation.js';
import { type Lease, Pool } from './pool.js';

export interface RunnableVersion {
  readonly spec: FunctionSpec;
  readonly version: number;
  readonly bundlePath: string;
}

export type Outcome = InvokeOutcome | { readonly type: 'throttled'; readonly reason: string };

export interface DispatchResult {
  readonly record: InvocationRecord;
  readonly outcome: Outcome;
}

export interface DispatcherDeps {
  readonly factory: SandboxFactory;
  readonly recorder: Recorder;
  /** Looks up a version that is not the active one (Lambda Qualifier). */
  readonly loadVersion: (name: string, version: number) => Promise<RunnableVersion | undefined>;
  readonly queuePerFunction: number;
}

const key = (name: string, version: number) => `${name}@${version}`;

export class Dispatcher {
  private readonly pools = new Map<string, Pool>();
  /**
   * Draining pools of versions no longer active, with their function's name: kept out of `pools` so
   * that a rollback to such a version gets a fresh pool, not one that stops each instance after a call.
   */
  private readonly retired = new Map<Pool, string>();
  private readonly versions = new Map<string, RunnableVersion>();
  private readonly active = new Map<string, number>();
  private inflight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly deps: DispatcherDeps) {}

  /** Makes `v` the version that serves its function; the previous one drains. */
  activate(v: RunnableVersion): void {
    const name = v.spec.name;
    const previous = this.active.get(name);
    this.versions.set(key(name, v.version), v);
    this.active.set(name, v.version);
    if (previous !== undefined && previous !== v.version) this.retire(name, previous);
    // The pool may exist already, made for a call to this version while it was not the active one.
    this.poolFor(v).keepWarm(v.spec.scale.min);
    this.deps.factory.prepare([
      ...new Set([128, ...[...this.versions.values()].map((x) => x.spec.memoryMb)]),
    ]);
  }

  remove(name: string): void {
    this.active.delete(name);
    for (const [k, pool] of this.pools) {
      if (k.startsWith(`${name}@`)) {
        pool.close();
        this.pools.delete(k);
        this.versions.delete(k);
      }
    }
    for (const [pool, fn] of this.retired) {
      if (fn === name) {
        pool.close();
        this.retired.delete(pool);
      }
    }
  }

  instances(name: string): number {
    let n = 0;
    for (const [k, pool] of this.pools) if (k.startsWith(`${name}@`)) n += pool.size;
    for (const [pool, fn] of this.retired) if (fn === name) n += pool.size;
    return n;
  }

  async invoke(inv: Invocation, sink?: HttpSink): Promise<DispatchResult> {
    this.inflight++;
    try {
      const version = inv.version ?? this.active.get(inv.function);
      // Known versions are found without waiting: this is every call but the first of a version.
      const known = version === undefined ? undefined : this.versions.get(key(inv.function, version));
      const v = known ?? (version === undefined ? undefined : await this.load(inv.function, version));
      if (!v) throw new Error(`dispatch: no version of ${inv.function} to run (the caller checks first)`);
      return await this.run(inv, v, sink);
    } finally {
      if (--this.inflight === 0) this.idle?.();
    }
  }

  /** Resolves once no invocation is running; then stops every instance. */
  async close(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    for (const pool of [...this.pools.values(), ...this.retired.keys()]) pool.close();
    this.pools.clear();
    this.retired.clear();
  }

  private async run(
    inv: Invocation,
    v: RunnableVersion,
    sink: HttpSink | undefined,
  ): Promise<DispatchResult> {
    const pool = this.poolFor(v);
    const deadline = inv.received + v.spec.timeoutMs;
    const lease = pool.tryAcquire() ?? (await pool.acquire(deadline));
    if (lease.type !== 'ok') return this.finish(inv, v, lease, failedStart(lease), 0);
    const started = performance.now();
    const work = toWork(inv, Date.now() + v.spec.timeoutMs);
    const outcome = await lease.slot.sandbox.invoke(work, sink);
    const durationMs = performance.now() - started;
    pool.release(lease.slot);
    return this.finish(inv, v, lease, outcome, durationMs);
  }

  private finish(
    inv: Invocation,
    v: RunnableVersion,
    lease: Lease,
    outcome: Outcome,
    durationMs: number,
  ): DispatchResult {
    const ok = lease.type === 'ok';
    const cold = ok ? lease.cold : lease.type === 'initError';
    const initMs = ok ? lease.initMs : 0;
    const { billedMs, gbSeconds } = meter({ durationMs, initMs, cold, memoryMb: v.spec.memoryMb });
    const initLogs = ok ? lease.initLogs : lease.type === 'initError' ? lease.logs : '';
    const record: InvocationRecord = {
      id: inv.id,
      function: v.spec.name,
      version: v.version,
      trigger: inv.trigger,
      instance: ok ? lease.slot.sandbox.id : null,
      start: new Date(inv.received).toISOString(),
      durationMs: Math.round(durationMs * 1000) / 1000,
      billedMs: outcome.type === 'throttled' ? 0 : billedMs,
      memoryMb: v.spec.memoryMb,
      gbSeconds: outcome.type === 'throttled' ? 0 : gbSeconds,
      cold,
      initMs: Math.round(initMs * 1000) / 1000,
      status: statusOf(outcome),
      error: errorOf(outcome, v.spec),
      logs: initLogs + ('logs' in outcome ? outcome.logs : ''),
      traceId: inv.traceId,
    };
    this.deps.recorder.record(record);
    return { record, outcome };
  }

  private async load(name: string, version: number): Promise<RunnableVersion | undefined> {
    const loaded = await this.deps.loadVersion(name, version);
    if (loaded) this.versions.set(key(name, version), loaded);
    return loaded;
  }

  private poolFor(v: RunnableVersion): Pool {
    const k = key(v.spec.name, v.version);
    let pool = this.pools.get(k);
    if (!pool) {
      const { spec } = v;
      const created: Pool = new Pool(
        this.deps.factory,
        {
          fn: {
            name: spec.name,
            version: v.version,
            memoryMb: spec.memoryMb,
            timeoutMs: spec.timeoutMs,
            concurrency: spec.concurrency,
          },
          bundlePath: v.bundlePath,
          exportName: spec.handler.export,
          env: spec.env,
        },
        {
          concurrency: spec.concurrency,
          min: 0, // the active version's pool is told its scale.min by activate

          max: spec.scale.max,
          idleMs: spec.scale.idleMs,
          queue: this.deps.queuePerFunction,
        },
        () => {
          if (this.pools.get(k) === created) this.pools.delete(k);
          this.retired.delete(created);
        },
      );
      this.pools.set(k, created);
      pool = created;
    }
    return pool;
  }

  private retire(name: string, version: number): void {
    const k = key(name, version);
    this.versions.delete(k);
    const pool = this.pools.get(k);
    if (!pool) return;
    this.pools.delete(k);
    this.retired.set(pool, name);
    pool.drain();
  }
}

function toWork(inv: Invocation, deadline: number): Work {
  const base = { id: inv.id, deadline, traceId: inv.traceId };
  return inv.kind === 'http'
    ? { ...base, kind: 'http', request: inv.request }
    : { ...base, kind: 'event', event: inv.event };
}

function failedStart(lease: Exclude<Lease, { type: 'ok' }>): Outcome {
  if (lease.type === 'throttled') return lease;
  if (lease.crashed) return { type: 'crashed', reason: lease.error.message, logs: '', streamed: false };
  return {
    type: 'error',
    error: { ...lease.error, message: `init failed: ${lease.error.message}` },
    logs: '',
  };
}

function statusOf(outcome: Outcome): InvocationStatus {
  return outcome.type;
}

function errorOf(outcome: Outcome, spec: FunctionSpec): string | null {
  switch (outcome.type) {
    case 'ok':
      return null;
    case 'error':
      return `${outcome.error.name}: ${outcome.error.message}`;
    case 'timeout':
      return `the function ran past its timeout of ${spec.timeoutMs} ms`;
    case 'crashed':
    case 'throttled':
      return outcome.reason;
  }
}
