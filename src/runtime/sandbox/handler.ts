/**
 * handler: finds the function's entry in its bundle and calls it in its style:
 * web (`export default (req, ctx) => Response`) or Lambda (`export const handler = (event, context)`,
 * including the older callback form `(event, context, callback)`).
 */
import type { Context } from './context.js';

export type Style = 'web' | 'lambda';
export type HandlerFn = (...args: unknown[]) => unknown;

export interface Entry {
  readonly style: Style;
  readonly fn: HandlerFn;
}

type Picked = { ok: true; entry: Entry } | { ok: false; message: string };

export function pickEntry(mod: Record<string, unknown>, exportName: string | undefined): Picked {
  if (exportName !== undefined) {
    const fn = mod[exportName] ?? cjsExports(mod)?.[exportName];
    if (typeof fn !== 'function') {
      return { ok: false, message: `the bundle has no exported function named "${exportName}"` };
    }
    return { ok: true, entry: { style: exportName === 'default' ? 'web' : 'lambda', fn: fn as HandlerFn } };
  }
  if (typeof mod.default === 'function')
    return { ok: true, entry: { style: 'web', fn: mod.default as HandlerFn } };
  const handler = mod.handler ?? cjsExports(mod)?.handler;
  if (typeof handler === 'function')
    return { ok: true, entry: { style: 'lambda', fn: handler as HandlerFn } };
  return {
    ok: false,
    message:
      'the module exports neither a default function (web-standard handler) nor a function named "handler" (Lambda style); export one, or name it with handler: PATH#EXPORT',
  };
}

/** A CommonJS handler (`exports.handler = ...`) bundled to ESM arrives as the default export object. */
function cjsExports(mod: Record<string, unknown>): Record<string, unknown> | undefined {
  const d = mod.default;
  return d !== null && typeof d === 'object' ? (d as Record<string, unknown>) : undefined;
}

/** Calls a Lambda-style handler, whether it returns a promise or answers through a callback. */
export function callLambda(fn: HandlerFn, event: unknown, context: Context): Promise<unknown> {
  if (fn.length < 3) return Promise.resolve(fn(event, context));
  return new Promise((resolve, reject) => {
    const callback = (err: unknown, result?: unknown) => (err ? reject(err) : resolve(result));
    const returned = fn(event, context, callback);
    // An async handler with three parameters may still return its answer.
    if (returned instanceof Promise) returned.then(resolve, reject);
  });
}
