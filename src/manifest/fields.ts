/**
 * manifest/fields: the zod building blocks of the manifest schema, each refusing a wrong value
 * with one message that says how to fix it.
 */

import { z } from 'zod';
import { formatDuration, parseDuration } from './duration.js';
import { got, isMap, perKey, suggest } from './issues.js';

export type Range = { readonly min: number; readonly max: number; readonly default: number };

/** What an error callback of zod sees of an issue: the value refused, and where it sits. */
export type Refused = { readonly input?: unknown; readonly path?: readonly PropertyKey[] | undefined };

/** Absent or null takes `fallback`. */
export function withDefault<T extends z.ZodType>(schema: T, fallback: z.output<T>) {
  return schema.nullish().transform((value) => value ?? fallback);
}

/**
 * A map with the keys of `shape` only; `invalid` is the message for anything else than a map.
 * Each unknown key gets its own message: by default the key meant, or the keys there are.
 */
export function strictMap<S extends z.core.$ZodLooseShape>(
  shape: S,
  invalid: (refused: Refused) => string,
  unknown = (key: string) => unknownKey(key, Object.keys(shape)),
) {
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? perKey(iss.keys, unknown) : invalid(iss)),
  });
}

export function unknownKey(key: string, known: readonly string[]): string {
  const guess = suggest(key, known);
  return guess
    ? `unknown key (did you mean ${guess}?)`
    : `unknown key; the keys here are ${known.join(', ')}`;
}

/**
 * A map of names the user chooses, as a `Map`. Not zod's record: it drops a key named
 * `__proto__`, which must be refused as a function name and kept as an env variable.
 */
export function namedMap<K extends z.ZodType<string>, V extends z.ZodType>(
  name: K,
  value: V,
  invalid: (refused: Refused) => string,
) {
  const toMap = (input: unknown) => (isMap(input) ? new Map(Object.entries(input)) : input);
  return z.preprocess(toMap, z.map(name, value, { error: invalid }));
}

export function list<T extends z.ZodType>(item: T, example: string) {
  return withDefault(z.array(item, { error: (iss) => `must be a list, ${example} ${got(iss.input)}` }), []);
}

export function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}

/** One of `choices`, the first being the default; `refused` explains known values not accepted yet. */
export function choice<const T extends readonly [string, ...string[]]>(
  choices: T,
  refused: Record<string, string> = {},
) {
  const accepted = choices.length === 1 ? choices[0] : `one of ${choices.join(', ')}`;
  const error = ({ input }: Refused) =>
    typeof input === 'string' && Object.hasOwn(refused, input)
      ? refused[input]
      : `must be ${accepted} ${got(input)}`;
  return withDefault(z.enum(choices, { error }), choices[0]);
}

export function whole(range: Range, what: string) {
  const error = ({ input }: Refused) => `must be ${what} from ${range.min} to ${range.max} ${got(input)}`;
  // The first failed check is enough: -1.5 is neither whole nor in range, but one message says both.
  return z.number({ error }).int({ abort: true }).min(range.min).max(range.max);
}

/** A duration in milliseconds. */
export function duration(range: Range) {
  const bounds = `from ${formatDuration(range.min)} to ${formatDuration(range.max)}`;
  // A bare number is the likeliest mistake, and its unit would be a guess: ask for one.
  const hint = (input: unknown) =>
    typeof input === 'number' ? `(got ${input}: add a unit, like ${input}s)` : got(input);
  // A text fails one check at most: not a duration fails the first only. (Not `abort`: an aborting
  // issue on scale.idle would also stop the scale.min <= scale.max check beside it.)
  const notOutOfRange = (ms: number | undefined) => ms === undefined || (ms >= range.min && ms <= range.max);
  return withDefault(
    z
      .string({
        error: ({ input }) => `must be a duration like 500ms, 30s, 5m or 1h, ${bounds} ${hint(input)}`,
      })
      .refine((text) => parseDuration(text) !== undefined)
      .refine((text) => notOutOfRange(parseDuration(text)), {
        error: ({ input }) => `must be ${bounds} ${got(input)}`,
      })
      .transform((text) => parseDuration(text)!),
    range.default,
  );
}
