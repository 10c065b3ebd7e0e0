/**
 * pool: the instances of one function version. Each instance serves up to `concurrency`
 * invocations at once; new ones start when all are busy, as many as the waiting callers need, up to
 * `scale.max`; past that callers wait in a bounded queue, then are throttled. Idle instances stop
 * after `scale.idle`; `scale.min` stay warm. Waiters belong to the pool, not to an instance: when one
 * dies, they go to another.
 */
import type { InstanceCount } from '../observe/metrics.js';
import type { LoadSpec, Sandbox, SandboxFactory, StartOptions, WireError } from '../runtime/types.js';

export interface PoolLimits {
  readonly concurrency: number;
  readonly min: number;
  readonly max: number;
  readonly idleMs: number;
  /** Callers that may wait, past those the starting instances will take, before the pool answers 429. */
  readonly queue: number;
  /** How warm instances that keep failing come back; RESTARTS unless given. */
  readonly restarts?: Restarts;
}

/**
 * A start fails when the instance dies starting, its module throws at load, or it dies on its own
 * within `earlyExitMs` of its start. After a failure, warm (`scale.min`) instances come back after
 * `firstMs`, doubling up to `maxMs`; after `tries` failures in a row, no more: only a call starts
 * one. An instance that lasts `earlyExitMs` clears the count.
 */
export interface Restarts {
  readonly earlyExitMs: number;
  readonly firstMs: number;
  readonly maxMs: number;
  readonly tries: number;
}

export const RESTARTS: Restarts = { earlyExitMs: 5000, firstMs: 1000, maxMs: 30_000, tries: 6 };

export interface Slot {
  readonly sandbox: Sandbox;
  inflight: number;
  /** Set until its first invocation: that one is the cold start. */
  fresh: { readonly initMs: number; readonly logs: string } | undefined;
  idleTimer: NodeJS.Timeout | undefined;
}

export type Lease =
  | {
      readonly type: 'ok';
      readonly slot: Slot;
      readonly cold: boolean;
      readonly initMs: number;
      readonly initLogs: string;
    }
  /**
   * No instance for this caller. `throttled`: every instance busy at scale.max and the queue full,
   * or busy until the caller's deadline; `timeout`: the instance started for it was not ready by its
   * deadline; `rejected`: the pool was closed (the function was removed).
   */
  | { readonly type: 'throttled' | 'timeout' | 'rejected'; readonly reason: string }
  /** The function failed to start: its module threw at load, or instances keep dying at start. */
  | {
      readonly type: 'initError';
      readonly error: WireError;
      readonly logs: string;
      readonly crashed: boolean;
    };

interface Waiter {
  readonly resolve: (lease: Lease) => void;
  timer: NodeJS.Timeout | undefined;
}

const REMOVED = 'the function was removed';
/** Failed starts in a row after which waiters hear the function cannot start. */
const MAX_START_CRASHES = 3;

export class Pool {
  private readonly slots = new Set<Slot>();
  /** Instances started for one call each (`apart`): stopped by `close` too. */
  private readonly apartOnes = new Set<Sandbox>();
  private readonly waiters: Waiter[] = [];
  private readonly restarts: Restarts;
  private starting = 0;
  /** Starts in a row that gave no lasting instance (see Restarts). */
  private failedStarts = 0;
  /** Set while warm instances wait to be started again after a failure. */
  private restartTimer: NodeJS.Timeout | undefined;
  private draining = false;
  private closed = false;
  private readonly emptied: Promise<void>;
  private markEmptied: () => void = () => {};

  constructor(
    private readonly factory: SandboxFactory,
    private readonly spec: LoadSpec,
    private limits: PoolLimits,
    private readonly onEmpty: () => void = () => {},
  ) {
    this.restarts = limits.restarts ?? RESTARTS;
    this.emptied = new Promise((resolve) => {
      this.markEmptied = resolve;
    });
    this.fillWarm();
  }

  get size(): number {
    return this.slots.size;
  }

  /** Its instances by state, for metrics: serving a call, idle, starting. */
  census(): InstanceCount {
    let running = 0;
    for (const slot of this.slots) if (slot.inflight > 0) running++;
    return { function: this.spec.fn.name, running, idle: this.slots.size - running, starting: this.starting };
  }

  /** Calls running on its instances and calls waiting for one. */
  get load(): number {
    let running = 0;
    for (const slot of this.slots) running += slot.inflight;
    return running + this.waiters.length;
  }

  /** Whether `close` stopped it: the calls that were running on it were cut short on purpose. */
  get stopped(): boolean {
    return this.closed;
  }

  /** Resolves once the pool drains or closes and its last instance has stopped. */
  whenEmpty(): Promise<void> {
    return this.emptied;
  }

  /** A warm slot at once, when one is free and nobody waits before us; otherwise `acquire`. */
  tryAcquire(): Lease | undefined {
    if (this.waiters.length > 0) return undefined;
    const free = this.freeSlot();
    return free && this.lease(free);
  }

  /**
   * A slot, once one is free. With a `deadline`, the caller is throttled when the queue is full, and
   * expires at its deadline. Without one (queued work, which its consumer already bounds), it waits
   * in line until a slot frees up, past the queue's bound.
   */
  acquire(deadline: number | undefined): Promise<Lease> {
    const now = this.tryAcquire();
    if (now) return Promise.resolve(now);
    if (this.closed) return Promise.resolve({ type: 'rejected', reason: REMOVED });
    if (deadline !== undefined && this.queueFull()) {
      return Promise.resolve({
        type: 'throttled',
        reason: 'every instance is busy and the wait queue is full',
      });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { resolve, timer: undefined };
      if (deadline !== undefined) {
        waiter.timer = setTimeout(() => this.expire(waiter), Math.max(0, deadline - Date.now()));
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /**
   * An instance of its own for one call (a replay under the debugger): started apart from the
   * pool's, never counted, lent or kept; the caller stops it once its call has ended. A failed
   * start is told as `acquire` tells it.
   */
  async apart(options: StartOptions): Promise<Lease> {
    if (this.closed) return { type: 'rejected', reason: REMOVED };
    const outcome = await this.factory.start(this.spec, options);
    if (outcome.type === 'error') {
      return { type: 'initError', error: outcome.error, logs: outcome.logs, crashed: false };
    }
    if (outcome.type === 'crashed') {
      const error = { name: 'StartError', message: outcome.reason };
      return { type: 'initError', error, logs: '', crashed: true };
    }
    const { sandbox } = outcome;
    this.apartOnes.add(sandbox);
    void sandbox.exited.then(() => this.apartOnes.delete(sandbox));
    if (this.closed) sandbox.stop(); // its call ends crashed, told as stopped on purpose
    const slot: Slot = { sandbox, inflight: 1, fresh: undefined, idleTimer: undefined };
    return { type: 'ok', slot, cold: true, initMs: outcome.initMs, initLogs: outcome.logs };
  }

  release(slot: Slot): void {
    slot.inflight--;
    if (!this.slots.has(slot)) return;
    this.pump();
    if (slot.inflight === 0 && this.slots.has(slot)) this.armIdle(slot);
  }

  /** No new work; instances stop as soon as they are idle (a newer version took over). */
  drain(): void {
    this.draining = true;
    for (const slot of this.slots) if (slot.inflight === 0) this.stopSlot(slot);
    this.checkEmpty();
  }

  /** Stops everything now; waiters are rejected (the function was removed). */
  close(): void {
    this.draining = true;
    this.closed = true;
    clearTimeout(this.restartTimer);
    for (const w of this.waiters.splice(0)) this.settle(w, { type: 'rejected', reason: REMOVED });
    for (const slot of this.slots) this.stopSlot(slot);
    for (const sandbox of this.apartOnes) sandbox.stop();
    this.checkEmpty();
  }

  /**
   * Starts one instance ahead of a call that is about to come (a schedule's tick), unless one is
   * free or starting already; it counts as warm, and stops after scale.idle like any other.
   */
  prewarm(): void {
    if (this.draining || this.freeSlot() || this.starting > 0) return;
    if (this.slots.size < this.limits.max) this.startInstance(true);
  }

  /** Sets how many instances are kept warm (a version that becomes active keeps its scale.min). */
  keepWarm(min: number): void {
    this.limits = { ...this.limits, min };
    this.fillWarm();
  }

  /**
   * Full only when no more instances may start and the callers past what the starting ones will
   * take already fill the queue: callers waiting for a cold start are not queued behind busy ones.
   */
  private queueFull(): boolean {
    if (this.slots.size + this.starting < this.limits.max) return false;
    return this.waiters.length - this.starting * this.limits.concurrency >= this.limits.queue;
  }

  /** A slot with room that still takes calls (not timed out, stopped or dying). */
  private freeSlot(): Slot | undefined {
    for (const slot of this.slots) {
      if (slot.sandbox.accepting && slot.inflight < this.limits.concurrency) return slot;
    }
    return undefined;
  }

  private lease(slot: Slot): Lease {
    slot.inflight++;
    clearTimeout(slot.idleTimer);
    slot.idleTimer = undefined;
    const fresh = slot.fresh;
    slot.fresh = undefined;
    return {
      type: 'ok',
      slot,
      cold: fresh !== undefined,
      initMs: fresh?.initMs ?? 0,
      initLogs: fresh?.logs ?? '',
    };
  }

  /** Hands free capacity to waiters, and starts the instances those still waiting need, up to max. */
  private pump(): void {
    for (let slot = this.freeSlot(); slot && this.waiters.length > 0; slot = this.freeSlot()) {
      this.settle(this.waiters.shift()!, this.lease(slot));
    }
    const { concurrency, max } = this.limits;
    const uncovered = this.waiters.length - this.starting * concurrency;
    const needed = Math.min(max - this.slots.size - this.starting, Math.ceil(uncovered / concurrency));
    for (let i = 0; i < needed; i++) this.startInstance(false);
  }

  private startInstance(warm: boolean): void {
    this.starting++;
    void this.factory.start(this.spec).then((outcome) => {
      this.starting--;
      if (outcome.type === 'ok') {
        this.addSlot(outcome.sandbox, warm ? undefined : { initMs: outcome.initMs, logs: outcome.logs });
      } else {
        this.startFailed();
        // Every start would fail alike: every waiter hears it now, not one more process each.
        if (outcome.type === 'error') {
          this.failWaiters({ type: 'initError', error: outcome.error, logs: outcome.logs, crashed: false });
        } else if (this.failedStarts >= MAX_START_CRASHES) {
          const error = { name: 'StartError', message: outcome.reason };
          this.failWaiters({ type: 'initError', error, logs: '', crashed: true });
        }
      }
      this.pump();
      this.checkEmpty();
    });
  }

  private fillWarm(): void {
    if (this.draining || this.restartTimer || this.failedStarts > this.restarts.tries) return;
    while (this.slots.size + this.starting < this.limits.min) this.startInstance(true);
  }

  /** Counts a failed start; missing warm instances come back later each time, then no more (no restart storm). */
  private startFailed(): void {
    this.failedStarts++;
    const { firstMs, maxMs, tries } = this.restarts;
    if (this.restartTimer || this.failedStarts > tries) return;
    if (this.draining || this.slots.size + this.starting >= this.limits.min) return;
    const delay = Math.min(maxMs, firstMs * 2 ** (this.failedStarts - 1));
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.fillWarm();
    }, delay).unref();
  }

  private addSlot(sandbox: Sandbox, fresh: Slot['fresh']): void {
    if (this.draining && this.waiters.length === 0) {
      sandbox.stop();
      return;
    }
    const slot: Slot = { sandbox, inflight: 0, fresh, idleTimer: undefined };
    const started = Date.now();
    this.slots.add(slot);
    // An instance that lasts shows the function starts: earlier failures no longer count.
    setTimeout(() => {
      if (!this.slots.has(slot)) return;
      this.failedStarts = 0;
      this.fillWarm();
    }, this.restarts.earlyExitMs).unref();
    void sandbox.exited.then(() => {
      if (!this.slots.delete(slot)) return; // stopped by the pool
      clearTimeout(slot.idleTimer);
      // Dying on its own soon after its start (a module that exits or crashes at once, a call
      // timing out at once) is a failed start: its warm replacement waits.
      if (Date.now() - started < this.restarts.earlyExitMs) this.startFailed();
      this.fillWarm();
      this.pump();
      this.checkEmpty();
    });
    if (this.waiters.length === 0) this.armIdle(slot);
  }

  private failWaiters(lease: Lease): void {
    for (const w of this.waiters.splice(0)) this.settle(w, lease);
  }

  private armIdle(slot: Slot): void {
    if (this.draining && this.waiters.length === 0) {
      this.stopSlot(slot);
      this.checkEmpty();
      return;
    }
    clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      if (slot.inflight === 0 && this.slots.size > this.limits.min) this.stopSlot(slot);
    }, this.limits.idleMs);
    slot.idleTimer.unref();
  }

  private stopSlot(slot: Slot): void {
    clearTimeout(slot.idleTimer);
    this.slots.delete(slot);
    slot.sandbox.stop();
  }

  /**
   * A waiter whose deadline (the function's timeout, counted from the call's arrival) passed.
   * Waiters take instances in order, so the first `starting x concurrency` of them wait for the
   * instances being started: for such a one the cold start outlasted the timeout, which is a
   * `timeout` (504). Any other waited while every instance stayed busy at scale.max: a matter of
   * capacity, which a retry later may find, so `throttled` (429, Retry-After).
   */
  private expire(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    waiter.resolve(
      i < this.starting * this.limits.concurrency
        ? { type: 'timeout', reason: 'no instance could be started within the timeout' }
        : { type: 'throttled', reason: 'no instance became free before the timeout' },
    );
  }

  private settle(waiter: Waiter, lease: Lease): void {
    clearTimeout(waiter.timer);
    waiter.resolve(lease);
  }

  private checkEmpty(): void {
    if (!this.draining || this.slots.size > 0 || this.starting > 0) return;
    this.onEmpty();
    this.markEmptied();
  }
}
