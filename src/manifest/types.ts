/** manifest/types: the normalized shape of gust.yaml once validated, every default applied. */

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

export interface HttpTrigger {
  readonly type: 'http';
  /** `/items/:id`, `/files/*` (a trailing `*` catches the rest); always starts with `/`. */
  readonly path: string;
  /** Empty means every method. */
  readonly methods: readonly HttpMethod[];
  readonly auth: 'public' | 'key';
}

/** Only `http` is served by the core; the other trigger kinds are refused until their issue lands. */
export type Trigger = HttpTrigger;

export interface FunctionSpec {
  readonly name: string;
  /** Path relative to the manifest's folder, and the export to call (undefined: `default`, else `handler`). */
  readonly handler: { readonly path: string; readonly export?: string };
  readonly runtime: 'node';
  readonly memoryMb: number;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly scale: { readonly min: number; readonly max: number; readonly idleMs: number };
  readonly env: Readonly<Record<string, string>>;
  readonly permissions: readonly string[];
  readonly events: 'cloudevents' | 'aws';
  readonly triggers: readonly Trigger[];
}

export interface Manifest {
  /** The owner of the functions, when gust.yaml names it; else the deploying folder's name. */
  readonly project?: string;
  readonly functions: readonly FunctionSpec[];
}
