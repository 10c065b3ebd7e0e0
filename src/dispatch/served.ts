/** served: the versions of a function the dispatcher serves, each with the pool of its instances. */
import type { RunnableVersion } from './dispatch-types.js';
import type { Pool } from './pool.js';

/** A version and the pool of its instances. */
export interface Served {
  readonly v: RunnableVersion;
  readonly pool: Pool;
}

export interface FunctionPools {
  /** The version that serves the function's calls. */
  active: Served;
  /** Other versions called by number (Lambda Qualifier). */
  readonly others: Map<number, Served>;
  /**
   * Pools of versions no longer active, finishing their calls. Kept apart from `others` so that a
   * later call or a rollback to such a version gets a fresh pool, not one that stops each instance
   * after a call.
   */
  readonly retired: Set<Pool>;
}

/** Every pool of a function: active, called by number, retired. */
export function poolsOf(fn: FunctionPools): Pool[] {
  return [fn.active.pool, ...[...fn.others.values()].map((s) => s.pool), ...fn.retired];
}
