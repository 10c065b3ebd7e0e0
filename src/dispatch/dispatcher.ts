/**
 * dispatcher: the one path of an invocation: find the pool of the function's version, lease an
 * instance (maybe cold), run, release, record. Every trigger comes through `invoke`.
 */
import type { InvocationRecord } from '../backends/ports.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { BudgetStatus } from '../observe/budgets.js';
import { meter } from '../observe/records.js';
import type { HttpSink } from '../runtime/types.js';
import { maskSecrets } from '../services/secrets.js';
import type { Apart, DispatcherDeps, DispatchResult, Outcome, RunnableVersion } from './dispatch-types.js';
import type { Invocation } from './invocation.js';
import { errorOf, toWork, unleased } from './outcomes.js';
import { type Lease, Pool } from './pool.js';
import { type FunctionPools, poolsOf, type Served } from './served.js';

export type {
  Apart,
  Bindings,
  DispatcherDeps,
  DispatchResult,
  Outcome,
  RunnableVersion,
} from './dispatch-types.js';

/** Stem cells of the default memory size are always kept: the next deploy most likely uses it. */
const DEFAULT_MEMORY_MB = 128;
const REMOVED = 'the function was removed';
const FORCED = 'the function was removed (gust rm --force) while this call ran';
const STOPPED = 'it was stopped before it ended (its replay was interrupted)';

/** Milliseconds to 3 decimals: records stay readable, sums stay exact enough. */
const round = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Since the call arrived (epoch ms), at sub-millisecond resolution. */
function sinceArrival(inv: Invocation): number {
  return Math.max(0, performance.timeOrigin + performance.now() - inv.received);
}

export class Dispatcher {
  private readonly functions = new Map<string, FunctionPools>();
  /** Pools of removed functions, finishing their calls (or being stopped). */
  private readonly removing = new Set<Pool>();
  private inflight = 0;
  private idle: (() => void) | undefined;

  constructor(private readonly deps: DispatcherDeps) {
    this.prepareStemCells();
  }

  /** Makes `v` the version that serves its function; the previous one drains. */
  activate(v: RunnableVersion): void {
    const name = v.spec.name;
    const fn = this.functions.get(name);
    if (!fn) {
      this.functions.set(name, { active: this.serve(v), others: new Map(), retired: new Set() });
    } else if (fn.active.v.version !== v.version) {
      const previous = fn.active.pool;
      // The pool may exist already, made for calls to this version while it was not the active one.
      fn.active = fn.others.get(v.version) ?? this.serve(v);
      fn.others.delete(v.version);
      fn.retired.add(previous);
      previous.drain();
    }
    this.functions.get(name)?.active.pool.keepWarm(v.spec.scale.min);
    this.prepareStemCells();
  }

  /**
   * Takes the function out of service: new calls are rejected at once. By default the calls
   * running or waiting finish (each within its timeout) before its instances stop; `force` stops
   * them now, and those calls end `rejected`. `done` resolves once every instance has stopped.
   */
  remove(name: string, { force = false } = {}): { pending: number; done: Promise<void> } {
    const fn = this.functions.get(name);
    if (!fn) return { pending: 0, done: Promise.resolve() };
    this.functions.delete(name);
    const pools = poolsOf(fn);
    const pending = pools.reduce((n, pool) => n + pool.load, 0);
    for (const pool of pools) {
      this.removing.add(pool);
      void pool.whenEmpty().then(() => this.removing.delete(pool));
      if (force) pool.close();
      else pool.drain();
    }
    this.prepareStemCells();
    return { pending, done: Promise.all(pools.map((p) => p.whenEmpty())).then(() => {}) };
  }

  /** An instance ready ahead of a call about to come (see Pool.prewarm). */
  prewarm(name: string): void {
    this.functions.get(name)?.active.pool.prewarm();
  }

  /** The spec of the version that serves a function now; undefined when it is not deployed. */
  activeSpec(name: string): FunctionSpec | undefined {
    return this.functions.get(name)?.active.v.spec;
  }

  instances(name: string): number {
    const fn = this.functions.get(name);
    return fn ? poolsOf(fn).reduce((n, pool) => n + pool.size, 0) : 0;
  }

  /** Every pool: active, by number, retired, and those of functions being removed (for metrics). */
  pools(): Pool[] {
    return [...[...this.functions.values()].flatMap(poolsOf), ...this.removing];
  }

  /** The functions deployed now. */
  names(): IterableIterator<string> {
    return this.functions.keys();
  }

  async invoke(inv: Invocation, sink?: HttpSink, apart?: Apart): Promise<DispatchResult> {
    this.inflight++;
    try {
      const found = await this.find(inv);
      if (typeof found === 'string') return this.rejected(inv, found);
      // The active version's budget is the function's, whichever version the call asks for.
      const over = this.deps.budgets?.check(inv.function, this.activeSpec(inv.function)?.budget);
      if (over) return this.rejected(inv, over.reason, { budget: over, version: found.v.version });
      return await this.run(inv, found, sink, apart);
    } finally {
      if (--this.inflight === 0) this.idle?.();
    }
  }

  /** Resolves once no invocation is running; then stops every instance. */
  async close(): Promise<void> {
    if (this.inflight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    for (const fn of this.functions.values()) for (const pool of poolsOf(fn)) pool.close();
    for (const pool of this.removing) pool.close();
    this.functions.clear();
  }

  /**
   * The version the call asks for: at once when known (every call but the first of a version by
   * number), else loaded; or why nothing can run it.
   */
  private find(inv: Invocation): Served | string | Promise<Served | string> {
    const fn = this.functions.get(inv.function);
    if (!fn) return REMOVED;
    if (inv.version === undefined || inv.version === fn.active.v.version) return fn.active;
    return fn.others.get(inv.version) ?? this.load(inv.function, inv.version);
  }

  /** A version called by number for the first time (Lambda Qualifier). */
  private async load(name: string, version: number): Promise<Served | string> {
    const loaded = await this.deps.loadVersion(name, version);
    // While it loaded, the function may have been removed, or that version activated or loaded.
    const fn = this.functions.get(name);
    if (!fn) return REMOVED;
    const current = version === fn.active.v.version ? fn.active : fn.others.get(version);
    if (current) return current;
    if (!loaded) return `${name} has no version ${version}`;
    const served = this.serve(loaded);
    fn.others.set(version, served);
    return served;
  }

  private async run(
    inv: Invocation,
    { v, pool }: Served,
    sink: HttpSink | undefined,
    apart: Apart | undefined,
  ): Promise<DispatchResult> {
    // One deadline from the call's arrival: a caller that waited for an instance runs for what is
    // left. Queued work (and a call apart) waits without one, and gets its whole timeout once it runs.
    const patient = inv.patient === true || apart !== undefined;
    const timeoutMs = apart?.timeoutMs ?? v.spec.timeoutMs;
    const lease = apart
      ? await pool.apart({ ...apart.start, inspect: apart.inspect })
      : (pool.tryAcquire() ?? (await pool.acquire(patient ? undefined : inv.received + timeoutMs)));
    const deadline = patient ? Date.now() + timeoutMs : inv.received + timeoutMs;
    const queuedMs = sinceArrival(inv);
    // a call apart is never billed, even when its instance could not start (its inspector's port taken)
    const free = apart !== undefined;
    if (lease.type !== 'ok')
      return this.finish(inv, v, lease, unleased(lease), { queuedMs, durationMs: 0, free });
    if (deadline <= Date.now()) {
      // It got an instance when its time was up: running it would only kill a healthy instance at
      // once. Said as the wait it was: a cold start too slow (timeout), or no instance free (throttled).
      pool.release(lease.slot);
      const late: Lease = lease.cold
        ? {
            type: 'timeout',
            reason: `the instance started for it was ready only after its timeout of ${v.spec.timeoutMs} ms`,
          }
        : { type: 'throttled', reason: `no instance was free before its timeout of ${v.spec.timeoutMs} ms` };
      return this.finish(inv, v, late, unleased(late), { queuedMs, durationMs: 0 });
    }
    const started = performance.now();
    const bindings = this.deps.bindings?.(v.spec, inv);
    const { sandbox } = lease.slot;
    let stopped = false;
    apart?.started({
      inspector: sandbox.inspector,
      stop: () => {
        stopped = true;
        sandbox.stop();
      },
    });
    const ran = await sandbox.invoke(toWork(inv, deadline), sink, bindings?.host);
    const durationMs = performance.now() - started;
    if (apart) sandbox.stop();
    else pool.release(lease.slot);
    // `gust rm --force` (or the end of a replay) stopped its instance: cut short on purpose, not a crash.
    const cut = ran.type === 'crashed' && (pool.stopped || stopped);
    const outcome: Outcome = cut
      ? { type: 'rejected', reason: stopped ? STOPPED : FORCED, logs: ran.logs }
      : ran;
    return this.finish(inv, v, lease, outcome, {
      queuedMs,
      durationMs,
      deniedCalls: bindings?.denied() ?? 0,
      timeoutMs,
      // a person at a debugger set its pace: recorded with its duration, never billed nor counted
      free,
    });
  }

  private finish(
    inv: Invocation,
    v: RunnableVersion,
    lease: Lease,
    outcome: Outcome,
    {
      queuedMs,
      durationMs,
      deniedCalls = 0,
      timeoutMs = v.spec.timeoutMs,
      free = false,
    }: { queuedMs: number; durationMs: number; deniedCalls?: number; timeoutMs?: number; free?: boolean },
  ): DispatchResult {
    const ok = lease.type === 'ok';
    // Waiting for a cold start that did not finish in time is part of a cold start too.
    const cold = ok ? lease.cold : lease.type === 'initError' || lease.type === 'timeout';
    const initMs = ok ? lease.initMs : 0;
    // A call recorded `rejected` (stopped by gust rm --force or Ctrl-C) is never billed nor counted.
    const ran = (ok || lease.type === 'initError') && outcome.type !== 'rejected' && !free;
    const { billedMs, gbSeconds } = meter({ durationMs, initMs, cold, memoryMb: v.spec.memoryMb });
    const initLogs = ok ? lease.initLogs : lease.type === 'initError' ? lease.logs : '';
    return this.save(
      inv,
      outcome,
      {
        function: v.spec.name,
        version: v.version,
        instance: ok ? lease.slot.sandbox.id : null,
        queuedMs: round(queuedMs),
        durationMs: round(durationMs),
        billedMs: ran ? billedMs : 0,
        memoryMb: v.spec.memoryMb,
        gbSeconds: ran ? gbSeconds : 0,
        cold,
        initMs: round(initMs),
        error: lease.type === 'timeout' ? lease.reason : errorOf(outcome, timeoutMs),
        stack: outcome.type === 'error' ? (outcome.error.stack ?? null) : null,
        deniedCalls,
        logs: initLogs + ('logs' in outcome ? outcome.logs : ''),
      },
      v.spec.secrets,
    );
  }

  /** Records a call refused before any instance ran it (an event that does not match `input`). */
  refuse(inv: Invocation, reason: string): DispatchResult {
    return this.rejected(inv, reason);
  }

  /**
   * A call no version could take: the function was removed between routing and dispatch, or has
   * no such version; or one its budget refused (`over`: the budget then, and the version asked for).
   */
  private rejected(
    inv: Invocation,
    reason: string,
    over?: { budget: BudgetStatus; version: number },
  ): DispatchResult {
    return this.save(
      inv,
      over ? { type: 'rejected', reason, budget: over.budget } : { type: 'rejected', reason },
      {
        function: inv.function,
        version: over?.version ?? inv.version ?? 0, // no version served it
        instance: null,
        queuedMs: round(sinceArrival(inv)),
        durationMs: 0,
        billedMs: 0,
        memoryMb: 0,
        gbSeconds: 0,
        cold: false,
        initMs: 0,
        error: reason,
        stack: null,
        deniedCalls: 0,
        logs: '',
      },
    );
  }

  private save(
    inv: Invocation,
    outcome: Outcome,
    given: Omit<
      InvocationRecord,
      'id' | 'attempt' | 'trigger' | 'start' | 'status' | 'traceId' | 'spanId' | 'parentSpanId' | 'replayOf'
    >,
    secrets: readonly string[] = [],
  ): DispatchResult {
    const fields = secrets.length === 0 ? given : this.masked(given, secrets);
    const record: InvocationRecord = {
      id: inv.id,
      attempt: inv.attempt ?? 1,
      trigger: inv.trigger,
      start: new Date(inv.received).toISOString(),
      status: outcome.type,
      traceId: inv.traceId,
      spanId: inv.spanId,
      parentSpanId: inv.parentSpanId,
      replayOf: inv.replayOf ?? null,
      ...fields,
    };
    this.deps.recorder.record(record, inv);
    this.deps.spans?.ended(inv, record);
    return { record, outcome };
  }

  /** A function that printed (or threw) one of its secrets does not leave it in its record. */
  private masked<T extends { error: string | null; stack: string | null; logs: string }>(
    fields: T,
    secrets: readonly string[],
  ): T {
    const values = this.deps.secretMasks(secrets);
    const mask = (text: string) => maskSecrets(text, values);
    return {
      ...fields,
      logs: mask(fields.logs),
      error: fields.error === null ? null : mask(fields.error),
      stack: fields.stack === null ? null : mask(fields.stack),
    };
  }

  private serve(v: RunnableVersion): Served {
    const { spec } = v;
    const { secretEnv } = this.deps;
    const pool: Pool = new Pool(
      this.deps.factory,
      {
        fn: {
          name: spec.name,
          version: v.version,
          memoryMb: spec.memoryMb,
          timeoutMs: spec.timeoutMs,
          concurrency: spec.concurrency,
          egress: spec.egress ?? 'open',
        },
        bundlePath: v.bundlePath,
        exportName: spec.handler.export,
        // A getter: each instance start reads the secrets as they are then, so a changed secret
        // reaches the instances started after the change.
        get env() {
          return spec.secrets.length === 0 ? spec.env : { ...spec.env, ...secretEnv(spec.secrets) };
        },
      },
      {
        concurrency: spec.concurrency,
        min: 0, // the active version's pool is told its scale.min by activate
        max: spec.scale.max,
        idleMs: spec.scale.idleMs,
        queue: this.deps.queuePerFunction,
      },
      () => this.functions.get(spec.name)?.retired.delete(pool),
    );
    return { v, pool };
  }

  /** Stem cells for the memory sizes of the active versions: this alone tells the factory. */
  private prepareStemCells(): void {
    const sizes = [...this.functions.values()].map((fn) => fn.active.v.spec.memoryMb);
    this.deps.factory.prepare([...new Set([DEFAULT_MEMORY_MB, ...sizes])]);
  }
}
