/**
 * manifest/issues: zod's issues as the lines users read, `functions.api.memory: must be ...`, and
 * the kit the schema's messages share (quoting a wrong value back, guessing the key meant).
 */

import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

/** One line per problem, each prefixed by its key path; unknown keys first in their map. */
export function formatIssues(issues: readonly Issue[]): string[] {
  return unknownKeysFirst(issues).flatMap((issue) => {
    if (issue.code !== 'unrecognized_keys') return [line(issue.path, issue.message)];
    const messages = issue.message.split('\n');
    return issue.keys.map((key, i) => line([...issue.path, key], messages[i] ?? issue.message));
  });
}

/**
 * zod reports all the unknown keys of a map in one issue, so its message is made by `perKey`:
 * one line per key, in the order of `keys`, which `formatIssues` splits again.
 */
export function perKey(keys: readonly string[], message: (key: string) => string): string {
  return keys.map(message).join('\n');
}

/**
 * zod reports a map's unknown keys after the errors of its known keys. Put them first: a misspelt
 * key often explains the error after it (`handlr:`, then `handler: required`). The errors under
 * a map are pushed together, just before its unknown keys, so they are the run to jump over.
 */
function unknownKeysFirst(issues: readonly Issue[]): Issue[] {
  const ordered: Issue[] = [];
  for (const issue of issues) {
    let at = ordered.length;
    if (issue.code === 'unrecognized_keys') {
      while (at > 0 && isUnder(ordered[at - 1]!.path, issue.path)) at--;
    }
    ordered.splice(at, 0, issue);
  }
  return ordered;
}

/** Strictly under: an error at the map's own path (its name, say) stays before its keys. */
function isUnder(path: Path, map: Path): boolean {
  return path.length > map.length && map.every((key, i) => path[i] === key);
}

function line(path: Path, message: string): string {
  return path.length === 0 ? message : `${keyPath(path)}: ${message}`;
}

const SIMPLE_KEY = /^[A-Za-z_][\w-]*$/;

/** `['functions', 'my fn', 'triggers', 2]` -> `functions["my fn"].triggers[2]`: odd keys quoted. */
export function keyPath(path: Path): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'symbol' || !SIMPLE_KEY.test(key)) text += `[${showKey(String(key))}]`;
    else text += text === '' ? key : `.${key}`;
  }
  return text;
}

/** A key as messages show it: as is when plain, else quoted so that errors stay on one line. */
export function showKey(key: string): string {
  return SIMPLE_KEY.test(key) ? key : describe(key);
}

/** `(got "lots")`: how a wrong value is quoted back, short and safe whatever its type. */
export function got(value: unknown): string {
  return `(got ${describe(value)})`;
}

export function describe(value: unknown): string {
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (absent(value)) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'function' || typeof value === 'symbol') return `a ${typeof value}`;
  return String(value);
}

/** Null counts as absent: YAML reads a key left empty (`memory:`) as null. */
export function absent(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

export function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The known word a typo most likely meant: edit distance of 1 (2 for words over 4 letters). */
export function suggest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance && d <= (candidate.length > 4 ? 2 : 1)) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return Number.POSITIVE_INFINITY; // too far to suggest anyway
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
