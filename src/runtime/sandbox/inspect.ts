/**
 * inspect: a handler under the debugger (`gust replay --inspect`), loaded only by an instance
 * started for it (the inspector is open; Node's permission model is off, as it allows none). The
 * first call waits until a debugger attaches (chrome://inspect, VS Code), then stops at the
 * `debugger` statement just before the handler: step into the next line to walk through it.
 */
import inspector from 'node:inspector';
import type { HandlerFn } from './handler.js';

export function pausing(fn: HandlerFn): HandlerFn {
  let attached = false;
  const paused = function (this: unknown, ...args: unknown[]): unknown {
    if (!attached) inspector.waitForDebugger();
    attached = true;
    // Gust paused here, before your handler: step into the next line (F11) to walk through it.
    // biome-ignore lint/suspicious/noDebugger: the pause an author asked for with gust replay --inspect
    debugger;
    return fn.apply(this, args);
  };
  // callLambda tells the callback form by the number of parameters
  Object.defineProperty(paused, 'length', { value: fn.length });
  return paused;
}
