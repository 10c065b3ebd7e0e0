/**
 * json-depth: deeper JSON is refused at every door (HTTP bodies, the control API, the Lambda API,
 * CloudEvents, webhooks, the CLI's --data): JSON.parse takes any depth, but JSON.stringify
 * recurses, and a value is stringified again on its way to a queue or an instance (a stack
 * overflow there would fail the call with a 500, or worse).
 */
export const MAX_JSON_DEPTH = 1000;

/** Whether the arrays and objects of a valid JSON text nest deeper than MAX_JSON_DEPTH. */
export function nestsTooDeep(json: string): boolean {
  if (json.length <= 2 * MAX_JSON_DEPTH) return false; // each level takes two characters
  let depth = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    // in a string, a backslash escapes the next character (which may be a quote)
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > MAX_JSON_DEPTH) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}
