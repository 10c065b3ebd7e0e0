/**
 * runtime: sandboxes behind one interface. A Sandbox is one running instance of one function
 * version; a SandboxFactory starts them. Implementations: node/ (child processes). The isolate
 * runtime implements the same two interfaces.
 */
import type { BindingOp, FunctionInfo, WireError, WireRequest, WireResponse } from './sandbox/protocol.js';

export type { BindingOp, FunctionInfo, WireError, WireRequest, WireResponse };

/**
 * What carries out an invocation's binding calls (`ctx.publish`, `ctx.invoke`), given by dispatch
 * for each invocation (it knows the function's permissions and the trace). Never rejects: a refusal
 * is an error the function gets thrown.
 */
export type BindingHost = (
  op: BindingOp,
  args: unknown,
) => Promise<{ readonly json?: string } | { readonly error: WireError }>;

export interface LoadSpec {
  readonly fn: FunctionInfo;
  /** Local path of the function's bundle (an ES module). */
  readonly bundlePath: string;
  readonly exportName: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

export type Work = {
  readonly id: string;
  readonly deadline: number;
  /** W3C `traceparent` naming the invocation's own span: what the function passes on. */
  readonly traceparent: string;
  readonly attempt: number;
} & (
  | { readonly kind: 'http'; readonly request: WireRequest }
  | { readonly kind: 'event'; readonly event: unknown }
);

/** Where a streamed HTTP response goes as it is produced. */
export interface HttpSink {
  head(status: number, headers: WireResponse['headers']): void;
  chunk(data: Uint8Array): void;
  end(): void;
  /** Calls `listener` if the client goes away before the end: the stream is then cancelled. */
  onClose?(listener: () => void): void;
}

export type InvokeOutcome =
  | {
      readonly type: 'ok';
      /** A whole HTTP response; absent when it was streamed to the sink, or for events. */
      readonly response?: WireResponse;
      readonly streamed: boolean;
      /** JSON text of the returned value (events); absent for undefined. */
      readonly json?: string;
      readonly logs: string;
    }
  | { readonly type: 'error'; readonly error: WireError; readonly logs: string }
  | { readonly type: 'timeout'; readonly logs: string; readonly streamed: boolean }
  | { readonly type: 'crashed'; readonly reason: string; readonly logs: string; readonly streamed: boolean };

export interface Sandbox {
  readonly id: string;
  /** The inspector's WebSocket URL (`ws://127.0.0.1:PORT/UUID`) of an instance started to be inspected. */
  readonly inspector?: string | undefined;
  /**
   * False once it takes no new invocation: stopped, dead, or being killed (a timeout, a protocol
   * violation) while its process has not exited yet. A pool must not lease it then.
   */
  readonly accepting: boolean;
  invoke(work: Work, sink?: HttpSink, host?: BindingHost): Promise<InvokeOutcome>;
  /** Stops the instance; in-flight invocations end as crashed. */
  stop(): void;
  /** Resolves with a reason once the instance has died, whatever the cause. */
  readonly exited: Promise<string>;
}

export type StartOutcome =
  | { readonly type: 'ok'; readonly sandbox: Sandbox; readonly initMs: number; readonly logs: string }
  /** The function's module failed to load (it threw, has no handler, or never finished): every start would fail alike. */
  | { readonly type: 'error'; readonly error: WireError; readonly logs: string }
  /** The instance died while starting. */
  | { readonly type: 'crashed'; readonly reason: string };

/** How one instance is started, beside its function's spec. */
export interface StartOptions {
  /**
   * Under the debugger (`gust replay --inspect`): a new process with the inspector open on
   * 127.0.0.1 (Node's permission model allows none, so it runs without it: the caller decides who
   * may ask), which waits for a debugger and pauses on the handler's first line.
   */
  readonly inspect?: boolean;
  /** With `inspect`: the inspector's port on 127.0.0.1; absent: any free one. */
  readonly inspectPort?: number;
  /**
   * With `inspect`: the folder (a file URL ending in `/`) where the debugger's side has the
   * sources named in the bundle's source map, so that its breakpoints in them bind.
   */
  readonly sourceRoot?: string;
}

export interface SandboxFactory {
  /** Never rejects: whatever goes wrong ends as an outcome. */
  start(spec: LoadSpec, options?: StartOptions): Promise<StartOutcome>;
  /** Memory sizes in use, so that idle stem cells of those sizes are kept ready. */
  prepare(memorySizesMb: readonly number[]): void;
  close(): Promise<void>;
}
