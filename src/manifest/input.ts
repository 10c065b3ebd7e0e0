/**
 * manifest/input: a function's `input`, a JSON Schema (draft 2020-12) every event must match
 * before any instance runs. Compiled with ajv, once per schema text: at deploy to refuse a schema
 * that is not one (strict mode: an unknown keyword is a typo, not a silent no-op), then on the
 * platform once per version.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export type CompiledInput =
  | { ok: true; validate: (event: unknown) => string[] }
  | { ok: false; error: string };

const MAX_SCHEMA_CHARS = 64 * 1024;
const MAX_ERRORS_SHOWN = 10;

// strictSchema only: an unknown keyword is refused; `required: [id]` without `properties` is fine
const ajv = new Ajv2020({
  allErrors: true,
  strictSchema: true,
  strictTypes: false,
  strictTuples: false,
  strictRequired: false,
  allowUnionTypes: true,
});
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const cache = new Map<string, ValidateFunction>();

export function compileInput(schema: Readonly<Record<string, unknown>>): CompiledInput {
  const text = JSON.stringify(schema);
  if (text.length > MAX_SCHEMA_CHARS)
    return { ok: false, error: `is over ${MAX_SCHEMA_CHARS / 1024} KB of JSON` };
  let validate = cache.get(text);
  if (!validate) {
    try {
      validate = ajv.compile(JSON.parse(text) as object);
    } catch (e) {
      return { ok: false, error: `is not a valid JSON Schema (draft 2020-12): ${(e as Error).message}` };
    }
    cache.set(text, validate);
  }
  const fn = validate;
  return { ok: true, validate: (event) => (fn(event) ? [] : describeErrors(fn.errors ?? [])) };
}

/** `/id: must be string` lines, as many as help (a huge event could fail in thousands of places). */
function describeErrors(errors: readonly ErrorObject[]): string[] {
  const lines = errors.slice(0, MAX_ERRORS_SHOWN).map((e) => {
    const where = e.instancePath === '' ? '(the event)' : e.instancePath;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` (${String((e.params as { additionalProperty?: string }).additionalProperty)})`
        : '';
    return `${where}: ${e.message ?? e.keyword}${extra}`;
  });
  if (errors.length > MAX_ERRORS_SHOWN) lines.push(`… and ${errors.length - MAX_ERRORS_SHOWN} more`);
  return lines;
}

/** Why `data` does not match a function's `input` (empty when it does, or when there is none). */
export function inputErrors(
  input: Readonly<Record<string, unknown>> | null | undefined,
  data: unknown,
): string[] {
  if (input === null || input === undefined) return [];
  const compiled = compileInput(input);
  return compiled.ok ? compiled.validate(data) : [compiled.error];
}
