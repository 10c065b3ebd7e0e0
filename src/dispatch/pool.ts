/**
 * pool: the instances of one function version. Each instance serves up to `concurrency`
 * invocations at once; a new one starts when all are busy, up to `scale.max`; past that callers
 * wait in a bounded queue, then are throttled. Idle instances stop after `scale.idle`; `scale.min`
 * stay warm. Waiters belong to the pool, not to an instance: when one dies, they go to another.
 */
import type { LoadSpec, Sandbox, SandboxFactory, WireError } from '../runtime/types.js';

export interface PoolLimits {
  readonly concurrency: number;
  readonly min: number;
  readonly max: number;
  readonly idleMs: number;
  /** Callers that may wait for a busy pool before it answers 429. */
  readonly queue: number;
}

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
  | { readonly type: 'throttled'; readonly reason: string }
  /** The function failed to start: its module threw at load, or instances keep dying at start. */
  | {
      readonly type: 'initError';
      readonly error: WireError;
      readonly logs: string;
      readonly crashed: boolean;
    };

interface Waiter {
  readonly deadline: number;
  readonly resolve: (lease: Lease) => void;
  timer: NodeJS.Timeout | undefined;
}

const MAX_START_CRASHES = 3;
const WARM_RETRY_MS = 1000;

export class Pool {
  private readonly slots = new Set<Slot>();
  private readonly waiters: Waiter[] = [];
  private starting = 0;
  private startCrashes = 0;
  private draining = false;

  constructor(
    private readonly factory: SandboxFactory,
    private readonly spec: LoadSpec,
    private limits: PoolLimits,
    private readonly onEmpty: () => void = () => {},
  ) {
    this.fillWarm();
  }

  get size(): number {
    return this.slots.size;
  }

  get busy(): boolean {
    return this.waiters.length > 0 || [...this.slots].some((s) => s.inflight > 0);
  }

  /** A warm slot at once, when one is free and nobody waits before us; otherwise `acquire`. */
  tryAcquire(): Lease | undefined {
    if (this.waiters.length > 0) return undefined;
    const free = this.freeSlot();
    return free && this.lease(free);
  }

  acquire(deadline: number): Promise<Lease> {
    const free = this.freeSlot();
    if (free && this.waiters.length === 0) return Promise.resolve(this.lease(free));
    if (this.waiters.length >= this.limits.queue) {
      return Promise.resolve({
        type: 'throttled',
        reason: 'every instance is busy and the wait queue is full',
      });
    }
    return new Promise((resolve) => {
      const waiter: Waiter = { deadline, resolve, timer: undefined };
      waiter.timer = setTimeout(() => this.expire(waiter), Math.max(0, deadline - Date.now()));
      this.waiters.push(waiter);
      this.pump();
    });
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

  /** Stops everything now; waiters are throttled. */
  close(): void {
    this.draining = true;
    for (const w of this.waiters.splice(0))
      this.settle(w, { type: 'throttled', reason: 'the function is being removed' });
    for (const slot of this.slots) this.stopSlot(slot);
  }

  private freeSlot(): Slot | undefined {
    for (const slot of this.slots) if (slot.inflight < this.limits.concurrency) return slot;
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

  /** Hands free capacity to waiters, and starts instances for those still waiting. */
  private pump(): void {
    let slot = this.freeSlot();
    while (this.waiters.length > 0 && slot) {
      this.settle(this.waiters.shift()!, this.lease(slot));
      slot = this.freeSlot();
    }
    const capacityComing = this.starting * this.limits.concurrency;
    if (this.waiters.length > capacityComing && this.slots.size + this.starting < this.limits.max) {
      this.startInstance(false);
    }
  }

  private startInstance(warm: boolean): void {
    this.starting++;
    void this.factory.start(this.spec).then((outcome) => {
      this.starting--;
      if (outcome.type === 'ok') {
        this.startCrashes = 0;
        this.addSlot(outcome.sandbox, warm ? undefined : { initMs: outcome.initMs, logs: outcome.logs });
      } else if (outcome.type === 'error') {
        this.failOne({ type: 'initError', error: outcome.error, logs: outcome.logs, crashed: false });
      } else if (++this.startCrashes >= MAX_START_CRASHES) {
        // The function cannot start: every waiter hears it now, not one more crashed process each.
        const error = { name: 'StartError', message: outcome.reason };
        for (const w of this.waiters.splice(0))
          this.settle(w, { type: 'initError', error, logs: '', crashed: true });
      }
      if (outcome.type !== 'ok' && warm) this.retryWarm();
      this.pump();
      this.checkEmpty();
    });
  }

  /** Sets how many instances are kept warm (a version that becomes active keeps its scale.min). */
  keepWarm(min: number): void {
    this.limits = { ...this.limits, min };
    this.fillWarm();
  }

  private fillWarm(): void {
    while (!this.draining && this.slots.size + this.starting < this.limits.min) this.startInstance(true);
  }

  /** A warm instance that failed to start is tried again a little later, not at once (no restart storm). */
  private retryWarm(): void {
    setTimeout(() => this.fillWarm(), WARM_RETRY_MS).unref();
  }

  private addSlot(sandbox: Sandbox, fresh: Slot['fresh']): void {
    const slot: Slot = { sandbox, inflight: 0, fresh, idleTimer: undefined };
    if (this.draining && this.waiters.length === 0) {
      sandbox.stop();
      return;
    }
    this.slots.add(slot);
    void sandbox.exited.then(() => {
      if (!this.slots.delete(slot)) return;
      clearTimeout(slot.idleTimer);
      this.fillWarm();
      this.pump();
      this.checkEmpty();
    });
    if (this.waiters.length === 0) this.armIdle(slot);
  }

  private failOne(lease: Lease): void {
    const waiter = this.waiters.shift();
    if (waiter) this.settle(waiter, lease);
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

  private expire(waiter: Waiter): void {
    const i = this.waiters.indexOf(waiter);
    if (i < 0) return;
    this.waiters.splice(i, 1);
    waiter.resolve({ type: 'throttled', reason: 'no instance became free before the timeout' });
  }

  private settle(waiter: Waiter, lease: Lease): void {
    clearTimeout(waiter.timer);
    waiter.resolve(lease);
  }

  private checkEmpty(): void {
    if (this.draining && this.slots.size === 0 && this.starting === 0) this.onEmpty();
  }
}
