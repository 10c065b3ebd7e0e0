/** dispatch-types: what the dispatcher (dispatcher.ts) is given and what it answers. */
import type { InvocationRecord } from '../backends/ports.js';
import type { FunctionSpec } from '../manifest/types.js';
import type { BudgetStatus, Budgets } from '../observe/budgets.js';
import type { Recorder } from '../observe/records.js';
import type { SpanSink } from '../observe/traces.js';
import type { BindingHost, InvokeOutcome, SandboxFactory, StartOptions } from '../runtime/types.js';
import type { Invocation } from './invocation.js';

export interface RunnableVersion {
  readonly spec: FunctionSpec;
  readonly version: number;
  readonly bundlePath: string;
}

/**
 * What became of an invocation. Besides what an instance answers: `throttled` (no instance free,
 * the queue full) and `rejected` (the function was removed before it could run, or its monthly
 * budget is used up).
 */
export type Outcome =
  | InvokeOutcome
  | { readonly type: 'throttled'; readonly reason: string }
  /**
   * Never ran, or (`logs` set) was stopped running by `gust rm --force`: what it printed is kept.
   * `budget` set: refused because its function's monthly budget is used up (not because it is gone).
   */
  | {
      readonly type: 'rejected';
      readonly reason: string;
      readonly logs?: string;
      readonly budget?: BudgetStatus;
    };

export interface DispatchResult {
  readonly record: InvocationRecord;
  readonly outcome: Outcome;
}

export interface Bindings {
  readonly host: BindingHost;
  denied(): number;
}

/** A call run on an instance started for it alone (gust replay --inspect): see Pool.apart. */
export interface Apart {
  readonly inspect: true;
  /** Where its instance's inspector listens and its debugger finds the sources (StartOptions). */
  readonly start?: Pick<StartOptions, 'inspectPort' | 'sourceRoot'>;
  /** Its timeout in place of the function's: a session paused in the debugger is not cut short. */
  readonly timeoutMs: number;
  /** Told once its instance has started, before the call runs: its inspector, and how to stop it. */
  readonly started: (instance: { readonly inspector: string | undefined; stop(): void }) => void;
}

export interface DispatcherDeps {
  readonly factory: SandboxFactory;
  readonly recorder: Recorder;
  /** Looks up a version that is not the active one (Lambda Qualifier). */
  readonly loadVersion: (name: string, version: number) => Promise<RunnableVersion | undefined>;
  readonly queuePerFunction: number;
  /**
   * What carries out the binding calls (`ctx.publish`, `ctx.kv`, ...) of one invocation, and how
   * many of them its permissions refused (kept in its record).
   */
  readonly bindings?: (spec: FunctionSpec, inv: Invocation) => Bindings;
  /** The values of secrets by name (only those that exist): read at each instance start. */
  readonly secretEnv: (names: readonly string[]) => Record<string, string>;
  /** What records of a function with these secrets mask: their values now and since the platform started. */
  readonly secretMasks: (names: readonly string[]) => readonly string[];
  /** Told of each invocation as it ends, with its record (observe/traces.ts); absent: traces are off. */
  readonly spans?: SpanSink;
  /** What refuses calls past their function's monthly budget; absent: none is ever refused. */
  readonly budgets?: Pick<Budgets, 'check'>;
}
