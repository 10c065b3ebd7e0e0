/**
 * manifest/load: gust.yaml from a folder, YAML text or an already-parsed document (the control
 * API receives it as JSON) to a normalized `Manifest`, or every error by key path.
 */

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { exists, isFile } from '../lib/files.js';
import { checkManifest, claimRoute, type RouteClaim } from './schema.js';
import type { FunctionSpec, HttpMethod, Manifest } from './types.js';

export type { RouteClaim } from './schema.js';

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; errors: string[] };

/** Looked for in this order. */
export const MANIFEST_FILES = ['gust.yaml', 'gust.yml'] as const;

/** Validates a parsed document. Never throws: every problem is an error in the result. */
export function validateManifest(raw: unknown): ManifestResult {
  const { manifest, errors, routes } = checkManifest(raw);
  errors.push(...routeConflicts(routes));
  return errors.length === 0 ? { ok: true, manifest } : { ok: false, errors };
}

/** YAML text -> validated manifest. Syntax errors come back as `line L, column C: ...`. */
export function parseManifest(text: string): ManifestResult {
  const lineCounter = new LineCounter();
  // merge: `<<: *defaults` is the usual way to share settings between functions
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true, uniqueKeys: true });
  if (doc.errors.length > 0) return { ok: false, errors: doc.errors.map((e) => syntaxError(e, lineCounter)) };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // toJS throws on an alias used before its anchor, or on an alias bomb: both are the file's fault
    return { ok: false, errors: [`YAML aliases: ${(e as Error).message}`] };
  }
  return validateManifest(raw);
}

/** Whether the folder holds gust.yaml (or gust.yml), valid or not. */
export async function hasManifest(dir: string): Promise<boolean> {
  const present = await Promise.all(MANIFEST_FILES.map((name) => isFile(resolve(dir, name))));
  return present.some(Boolean);
}

/** Reads `dir/gust.yaml` (or `dir/gust.yml`). `path` is the absolute file read, or the one looked for. */
export async function readManifest(dir: string): Promise<ManifestResult & { path: string }> {
  const [preferred, alternative] = MANIFEST_FILES.map((name) => resolve(dir, name)) as [string, string];
  const first = await readText(preferred);
  if (typeof first === 'string') {
    if (await exists(alternative)) {
      return { ok: false, errors: [`both ${preferred} and ${alternative} exist; keep one`], path: preferred };
    }
    return { ...parseManifest(first), path: preferred };
  }
  if (first.code !== 'ENOENT') return { ok: false, errors: [first.message], path: preferred };
  const second = await readText(alternative);
  if (typeof second === 'string') return { ...parseManifest(second), path: alternative };
  if (second.code !== 'ENOENT') return { ok: false, errors: [second.message], path: alternative };
  const message =
    `no manifest in ${resolve(dir)} (looked for ${MANIFEST_FILES.join(' and ')}); ` +
    'create gust.yaml there, like functions: { hello: { handler: src/hello.ts } }, or name the folder that has one';
  return { ok: false, errors: [message], path: preferred };
}

/** For the CLI: one error on one line; several under a count, one per line. */
export function formatManifestErrors(errors: readonly string[], source = 'gust.yaml'): string {
  if (errors.length === 1) return `${source}: ${errors[0]}`;
  return [`${source} has ${errors.length} errors:`, ...errors.map((e) => `  ${e}`)].join('\n');
}

function syntaxError(error: YAMLError, lineCounter: LineCounter): string {
  const { line, col } = lineCounter.linePos(error.pos[0]);
  // yaml's own advice here names its JS API; say it in the user's terms
  const message =
    error.code === 'MULTIPLE_DOCS' ? 'the file must hold one YAML document; remove the ---' : error.message;
  return `line ${line}, column ${col}: ${message}`;
}

async function readText(file: string): Promise<string | { code: string | undefined; message: string }> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    const error = e as NodeJS.ErrnoException;
    return { code: error.code, message: `cannot read ${file}: ${error.message}` };
  }
}

/**
 * The http triggers of validated functions as claims, to check a deploy against what is already
 * deployed. `where` names each in errors; by default its key path in gust.yaml.
 */
export function routeClaims(
  functions: readonly FunctionSpec[],
  where = (fn: FunctionSpec, index: number) =>
    `functions.${fn.name}.triggers[${index}].${fn.triggers[index]?.type ?? 'http'}`,
): RouteClaim[] {
  return functions.flatMap((fn) =>
    fn.triggers.flatMap((trigger, index) => claimRoute(where(fn, index), trigger)),
  );
}

/**
 * Two claims that would serve the same request: same shape (parameters compared by position,
 * not name) and at least one method in common. Each conflict is reported on the later claim.
 */
export function routeConflicts(routes: readonly RouteClaim[]): string[] {
  const errors: string[] = [];
  const byShape = new Map<string, RouteClaim[]>();
  for (const route of routes) {
    const earlier = byShape.get(route.shape) ?? [];
    for (const other of earlier) {
      const shared = sharedMethods(route.methods, other.methods);
      if (shared === undefined) continue;
      const methods = shared.length === 0 ? 'ANY' : shared.join(',');
      errors.push(
        `${route.where}: ${methods} ${route.path} is already served by ${other.where} (${other.path}); ` +
          'change one of the paths or give them different methods',
      );
    }
    byShape.set(route.shape, [...earlier, route]);
  }
  return errors;
}

/** Methods both accept (`[]` = every method), or undefined when they have none in common. */
function sharedMethods(
  a: readonly HttpMethod[],
  b: readonly HttpMethod[],
): readonly HttpMethod[] | undefined {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const shared = a.filter((m) => b.includes(m));
  return shared.length > 0 ? shared : undefined;
}
