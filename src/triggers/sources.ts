/**
 * sources: triggers fed by systems the user runs (database changes, message brokers). Each kind
 * (triggers/postgres, triggers/stream) is a `Source`: it follows a function's active version like
 * the scheduler does, keeps its connections itself (reconnecting with backoff, never throwing out of
 * `serve` for a server that is down) and says how each trigger is doing, for `gust ls` and the API.
 * `Sources` is the list of them that the control plane talks to.
 */
import type { FunctionSpec } from '../manifest/types.js';

/** How one trigger of a function is doing, as `gust ls` and the API show it. */
export interface SourceState {
  /** The trigger, as a user reads it (e.g. `stream mqtt sensors/+/temp`, `postgres public.orders`). */
  readonly trigger: string;
  readonly state: 'connecting' | 'running' | 'failing';
  /** Why it is failing (or still connecting after a failure), null when running. */
  readonly reason: string | null;
  /** When it entered this state (ISO). */
  readonly since: string;
}

export interface Source {
  /** Starts, or restarts with the new spec, the function's triggers of this kind (none: stops them). */
  serve(spec: FunctionSpec): void;
  /** The function is removed: stop its triggers and tear down what they set up outside Gust. */
  forget(name: string): Promise<void>;
  states(name: string): SourceState[];
  close(): Promise<void>;
}

export class Sources implements Source {
  constructor(private readonly kinds: readonly Source[]) {}

  serve(spec: FunctionSpec): void {
    for (const k of this.kinds) k.serve(spec);
  }

  async forget(name: string): Promise<void> {
    await Promise.all(this.kinds.map((k) => k.forget(name)));
  }

  states(name: string): SourceState[] {
    return this.kinds.flatMap((k) => k.states(name));
  }

  async close(): Promise<void> {
    await Promise.all(this.kinds.map((k) => k.close()));
  }
}
