/**
 * inspect: a handler under the debugger (`gust replay --inspect`), loaded only by an instance
 * started for it (the inspector is open; Node's permission model is off, as it allows none). The
 * first call waits until a debugger attaches (chrome://inspect, VS Code), then pauses on the first
 * line of the author's handler itself: a breakpoint on its call, set through a session of this
 * process's own inspector (a pause reaches every attached debugger). No `debugger` statement of
 * Gust's: the author would first land in Gust's code, a step or two away from their own.
 */
import inspector from 'node:inspector';
import type { HandlerFn } from './handler.js';

/** Where the handler waits for a moment, for the session to find it by an expression. */
const SLOT = '__gustInspectedHandler';

export function pausing(fn: HandlerFn): HandlerFn {
  let attached = false;
  const paused = function (this: unknown, ...args: unknown[]): unknown {
    if (!attached) inspector.waitForDebugger();
    attached = true;
    const session = breakOnCall(fn);
    try {
      return fn.apply(this, args);
    } finally {
      session?.disconnect(); // its breakpoint goes with it: only this call's entry pauses
    }
  };
  // callLambda tells the callback form by the number of parameters
  Object.defineProperty(paused, 'length', { value: fn.length });
  return paused;
}

/** A session whose breakpoint pauses at `fn`'s entry; undefined if the inspector refused it. */
function breakOnCall(fn: HandlerFn): inspector.Session | undefined {
  const session = new inspector.Session();
  const global = globalThis as Record<string, unknown>;
  let set = false;
  try {
    session.connect();
    session.post('Debugger.enable');
    global[SLOT] = fn;
    // an in-process session answers at once (synchronously)
    session.post('Runtime.evaluate', { expression: `globalThis.${SLOT}` }, (error, found) => {
      const objectId = error ? undefined : found.result.objectId;
      if (objectId === undefined) return;
      session.post('Debugger.setBreakpointOnFunctionCall', { objectId }, (refused) => {
        set = refused === null;
      });
    });
  } catch {
    // no breakpoint: the call runs, and the author's own breakpoints still bind
  } finally {
    delete global[SLOT];
  }
  if (set) return session;
  session.disconnect();
  return undefined;
}
