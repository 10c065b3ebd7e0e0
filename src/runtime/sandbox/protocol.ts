/**
 * protocol: the messages between the platform (host) and one instance (sandbox), over the
 * child's channel (fd 3, one JSON batch per line: node/channel.ts). The sandbox side imports nothing else from src/; the host imports this file.
 */

/** An HTTP request as it crosses into an instance. Header names are lower case; repeated headers repeat. */
export interface WireRequest {
  readonly method: string;
  /** Raw path and query as received, e.g. `/items/42?x=1`. */
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
  /** Path parameters of the matched route (`/items/:id` -> `{ id: '42' }`). */
  readonly params: Readonly<Record<string, string>>;
  /** The route as API Gateway names it: `GET /items/{id}` (`$default` when invoked without a route). */
  readonly routeKey: string;
  readonly sourceIp: string;
  readonly protocol: string;
  /** Epoch ms when the gateway received the request. */
  readonly timeEpoch: number;
}

/** An HTTP response as it leaves an instance. `set-cookie` may repeat. */
export interface WireResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: Uint8Array | null;
}

export interface FunctionInfo {
  readonly name: string;
  readonly version: number;
  readonly memoryMb: number;
  readonly timeoutMs: number;
  /** Invocations one instance serves at once. */
  readonly concurrency: number;
  /** `none`: the instance has no network at all (absent: open). */
  readonly egress?: 'open' | 'none';
}

/** Host -> sandbox. */
export type HostMessage =
  | {
      readonly t: 'load';
      /** Absolute path of the bundle (an ES module) inside the instance's readable folder. */
      readonly bundle: string;
      readonly exportName: string | undefined;
      readonly env: Readonly<Record<string, string>>;
      readonly fn: FunctionInfo;
      /** Under the debugger: each call waits for one and pauses before the handler (inspect.ts). */
      readonly inspect?: true;
    }
  | ({
      readonly t: 'invoke';
      readonly id: string;
      /** Epoch ms at which the host kills the instance. */
      readonly deadline: number;
      /** W3C `traceparent` of the invocation's own span (`00-<trace id>-<span id>-01`). */
      readonly traceparent: string;
      /** Which delivery of a queued event this is (1 for everything else). */
      readonly attempt: number;
    } & (
      | { readonly kind: 'http'; readonly request: WireRequest }
      | { readonly kind: 'event'; readonly event: unknown }
    ))
  /** The client of a streamed response went away: stop reading the function's stream. */
  | { readonly t: 'cancel'; readonly id: string }
  /** The answer to a binding call (`call`): its value as JSON text, or the error to throw. */
  | { readonly t: 'reply'; readonly call: number; readonly json?: string; readonly error?: WireError };

/** What functions call through `ctx` (checked against `permissions` by the host). */
export type BindingOp = 'publish' | 'invoke' | 'kv' | 'bucket';

/** The most bytes one `chunk` message carries: a bigger piece of a body goes in several. */
export const MAX_CHUNK_BYTES = 1024 * 1024;

export interface WireError {
  readonly name: string;
  readonly message: string;
  readonly stack?: string;
  /** The platform's error code, as `e.code` (host -> sandbox: a `ctx.invoke` that did not run to an answer). */
  readonly code?: string;
}

/** Sandbox -> host. */
export type SandboxMessage =
  /** Sent once the process is up and waiting for `load`. */
  | { readonly t: 'ready' }
  | { readonly t: 'loaded'; readonly initMs: number; readonly style: 'web' | 'lambda'; readonly logs: string }
  | { readonly t: 'loadError'; readonly error: WireError; readonly logs: string }
  /** The head of a streamed HTTP response; `chunk`s and then `end` follow. */
  | {
      readonly t: 'head';
      readonly id: string;
      readonly status: number;
      readonly headers: WireResponse['headers'];
    }
  | { readonly t: 'chunk'; readonly id: string; readonly data: Uint8Array }
  /** Console output of a running invocation, sent as it is written. */
  | { readonly t: 'log'; readonly id: string; readonly text: string }
  | { readonly t: 'end'; readonly id: string; readonly logs: string }
  /** A whole HTTP response (kind http) or the returned value as JSON text (kind event; absent: undefined). */
  | {
      readonly t: 'result';
      readonly id: string;
      readonly response?: WireResponse;
      readonly json?: string;
      readonly logs: string;
    }
  | { readonly t: 'error'; readonly id: string; readonly error: WireError; readonly logs: string }
  /** The instance is about to die (unhandled rejection, uncaught exception). */
  | { readonly t: 'fatal'; readonly error: WireError }
  /**
   * A binding call of a running invocation (`ctx.publish`, `ctx.invoke`): `call` numbers it within
   * the instance, `args` is what the function passed (JSON). The host answers with a `reply`.
   */
  | {
      readonly t: 'call';
      readonly id: string;
      readonly call: number;
      readonly op: BindingOp;
      readonly args: unknown;
    };
