/**
 * The types a function's author imports: `import type { Context } from 'gust'`.
 * (The platform itself is the `gust` command; nothing here runs.)
 */

import type { Context } from './runtime/sandbox/context.js';

export type { Context, Logger } from './runtime/sandbox/context.js';

/** The web-standard handler: `export default handler`. */
export type HttpHandler = (req: Request, ctx: Context) => Response | Promise<Response>;

/** The Lambda-style handler: `export const handler`. */
export type EventHandler<E = unknown, R = unknown> = (event: E, ctx: Context) => R | Promise<R>;
