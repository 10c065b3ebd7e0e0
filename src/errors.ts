/**
 * errors: the one error type of Gust and its code table (code, HTTP status, whose fault).
 * Shown to users as one line: what went wrong and how to fix it.
 */

export type ErrorKind = 'user' | 'system';

export const ERROR_CODES = {
  BAD_REQUEST: { status: 400, kind: 'user', meaning: 'the request is malformed' },
  MANIFEST_INVALID: { status: 400, kind: 'user', meaning: 'gust.yaml has errors; nothing was deployed' },
  BUILD_FAILED: { status: 400, kind: 'user', meaning: 'a handler could not be bundled' },
  UNAUTHORIZED: { status: 401, kind: 'user', meaning: 'no valid key was given' },
  SIGNATURE_INVALID: {
    status: 401,
    kind: 'user',
    meaning: "a webhook delivery's signature is missing or does not match its body and secret",
  },
  FORBIDDEN: { status: 403, kind: 'user', meaning: "the key's scope does not allow this" },
  NOT_FOUND: { status: 404, kind: 'user', meaning: 'no such function, route, version or record' },
  METHOD_NOT_ALLOWED: { status: 405, kind: 'user', meaning: 'the route exists but not for this method' },
  CONFLICT: { status: 409, kind: 'user', meaning: 'the change conflicts with what is deployed' },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    kind: 'user',
    meaning: 'a body is over the limit: the request, or an answer the control API collects whole',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    kind: 'user',
    meaning: 'the body is not of a content type read here (the CloudEvents ingress)',
  },
  THROTTLED: {
    status: 429,
    kind: 'user',
    meaning:
      "every instance is busy and the wait queue is full, or a function's event queue is (publish, async invoke)",
  },
  RATE_LIMITED: {
    status: 429,
    kind: 'user',
    meaning: "the key's request rate limit (--rate) is used up for now",
  },
  BUDGET_EXCEEDED: {
    status: 429,
    kind: 'user',
    meaning: "the function's monthly budget (budget.gbSeconds) is used up: nothing ran",
  },
  FUNCTION_ERROR: { status: 500, kind: 'user', meaning: 'the function threw or failed to load' },
  FUNCTION_CRASHED: { status: 502, kind: 'user', meaning: 'the instance died (exit, crash, out of memory)' },
  FUNCTION_TIMEOUT: { status: 504, kind: 'user', meaning: 'the function ran past its timeout' },
  QUEUE_FULL: {
    status: 503,
    kind: 'user',
    meaning: "a function's event queue is full: nothing was queued, retry after Retry-After",
  },
  UNAVAILABLE: { status: 503, kind: 'system', meaning: 'the platform is shutting down or not ready' },
  INTERNAL: { status: 500, kind: 'system', meaning: 'a bug in Gust' },
} as const satisfies Record<string, { status: number; kind: ErrorKind; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * Codes of the errors the CLI finds itself, before or instead of an answer of the API. They are
 * printed as the API's are (`gust --json` too: `{"error": {"code", "message"}}`), with their exit code.
 */
export const CLI_ERROR_CODES = {
  USAGE: {
    exit: 2,
    meaning:
      'the command line is wrong: an unknown command or option, a missing argument, a value that makes no sense',
  },
  CONFIG_INVALID: {
    exit: 2,
    meaning: "a GUST_* variable, or the CLI's config file, holds a value that makes no sense",
  },
  UNREACHABLE: { exit: 1, meaning: 'nothing answers at the platform URL' },
  NO_ANSWER: { exit: 1, meaning: 'the platform took the request but did not answer in time' },
  NOT_GUST: { exit: 1, meaning: 'what answers at the platform URL is not Gust' },
  FAILED: {
    exit: 1,
    meaning:
      'another failure found by the CLI: a manifest or handler with errors before upload, a port in use at gust up, a removal not confirmed',
  },
} as const satisfies Record<string, { exit: 1 | 2; meaning: string }>;

export type CliErrorCode = keyof typeof CLI_ERROR_CODES;

export class GustError extends Error {
  readonly code: ErrorCode;
  readonly details: readonly string[] | undefined;
  /** For a 429: when to try again, in whole seconds (the Retry-After header). */
  retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, details?: readonly string[]) {
    super(message);
    this.name = 'GustError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return ERROR_CODES[this.code].status;
  }

  toJSON(): { error: { code: ErrorCode; message: string; details?: readonly string[] } } {
    return {
      error: { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) },
    };
  }
}

export function isGustError(e: unknown): e is GustError {
  return e instanceof GustError;
}
