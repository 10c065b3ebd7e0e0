/**
 * The types a function's author imports: `import type { Context } from 'gust'`.
 * (The platform itself is the `gust` command; nothing here runs.)
 */

export interface Logger {
  log(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  trace(...args: unknown[]): void;
}

/** The second argument of every handler. Lambda-style handlers find the fields of AWS's context too. */
export interface Context {
  readonly invocationId: string;
  /** Same as invocationId, under AWS's name. */
  readonly awsRequestId: string;
  readonly functionName: string;
  readonly functionVersion: string;
  readonly version: number;
  readonly memoryLimitInMB: string;
  readonly invokedFunctionArn: string;
  readonly logGroupName: string;
  readonly logStreamName: string;
  /** W3C trace id of the invocation. */
  readonly traceId: string;
  /** The route's path parameters (`/items/:id` -> `{ id }`); `proxy` holds what a final `*` caught. */
  readonly params: Readonly<Record<string, string>>;
  /** The function's own environment: its manifest `env`, nothing of the platform's. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Writes to this invocation's logs (console.* does the same). */
  readonly log: Logger;
  callbackWaitsForEmptyEventLoop: boolean;
  getRemainingTimeInMillis(): number;
}

/** The web-standard handler: `export default handler`. */
export type HttpHandler = (req: Request, ctx: Context) => Response | Promise<Response>;

/** The Lambda-style handler: `export const handler`. */
export type EventHandler<E = unknown, R = unknown> = (event: E, ctx: Context) => R | Promise<R>;
