/**
 * headers: a response header that HTTP cannot carry (a name that is not a token, a value with a
 * control character or a character past U+00FF) is the function's mistake. Caught here, it is a
 * function error naming the header; past here, the gateway's writeHead would throw instead.
 */
import { validateHeaderName, validateHeaderValue } from 'node:http';

export function checkResponseHeaders(pairs: ReadonlyArray<readonly [string, string]>): void {
  for (const [name, value] of pairs) {
    try {
      validateHeaderName(name);
    } catch {
      throw new TypeError(`response header name ${quote(name)} is not a valid HTTP header name`);
    }
    try {
      validateHeaderValue(name, value);
    } catch {
      throw new TypeError(
        `response header ${quote(name)} has a value HTTP cannot carry (${quote(value)}): use visible ASCII, or encode it (encodeURIComponent)`,
      );
    }
  }
}

const quote = (s: string): string => JSON.stringify(s.length > 100 ? `${s.slice(0, 100)}…` : s);
