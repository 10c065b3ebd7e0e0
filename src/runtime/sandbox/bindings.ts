/**
 * bindings: what a function calls through `ctx` (`ctx.publish`, `ctx.invoke`) travels to the host
 * as a `call` message of its invocation and comes back as a `reply`. The host checks each call
 * against the function's `permissions` and carries it out; here it is only a promise per call.
 * Nothing is checked here on purpose: the function's own code could send any call itself.
 */
import type { BindingOp, SandboxMessage, WireError } from './protocol.js';

type Pending = { resolve: (value: unknown) => void; reject: (error: Error) => void };

const pending = new Map<number, Pending>();
let next = 0;
let sender: (m: SandboxMessage) => void = () => {};

/** Set once by main: how messages reach the host. */
export function setBindingSender(send: (m: SandboxMessage) => void): void {
  sender = send;
}

/** A binding call of invocation `id`; resolves with what the host answers, or rejects with its error. */
export function callHost(id: string, op: BindingOp, args: unknown): Promise<unknown> {
  const call = ++next;
  return new Promise((resolve, reject) => {
    pending.set(call, { resolve, reject });
    sender({ t: 'call', id, call, op, args });
  });
}

const BUILT_IN: Readonly<Record<string, ErrorConstructor>> = {
  TypeError,
  RangeError,
  SyntaxError,
};

export function settleCall(call: number, json: string | undefined, error: WireError | undefined): void {
  const p = pending.get(call);
  if (!p) return;
  pending.delete(call);
  if (error) {
    // the language's own kinds are made as such (`instanceof TypeError` holds); the platform's
    // own kinds (PermissionError, Throttled...) are Errors with that name
    const Kind = BUILT_IN[error.name] ?? Error;
    const e: Error & { code?: string } = new Kind(error.message);
    if (e.name !== error.name) e.name = error.name;
    // as Node's own errors carry theirs: `e.code === 'BUDGET_EXCEEDED'`
    if (error.code !== undefined) e.code = error.code;
    p.reject(e);
  } else p.resolve(json === undefined ? undefined : (JSON.parse(json) as unknown));
}
