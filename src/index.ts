/**
 * What a function's author imports from `gust`: the types (`import type { Context } from 'gust'`)
 * and NonRetriableError. (The platform itself is the `gust` command; a deployed handler gets this
 * module's runtime part from the bundler, see build/bundle.ts.)
 */

import type { Context } from './runtime/sandbox/context.js';

export type { Bucket, BucketBody, BucketObject } from './runtime/sandbox/bucket.js';
export type { Context, KvNamespace, Logger } from './runtime/sandbox/context.js';

/** The web-standard handler: `export default handler`. */
export type HttpHandler = (req: Request, ctx: Context) => Response | Promise<Response>;

/** The Lambda-style handler: `export const handler`. */
export type EventHandler<E = unknown, R = unknown> = (event: E, ctx: Context) => R | Promise<R>;

/**
 * Throw it from a function that handles events to say that retrying would not help (a malformed
 * order, a deleted account): the event goes to the dead-letter topic at once, without retries.
 */
export class NonRetriableError extends Error {
  constructor(message?: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'NonRetriableError';
  }
}
