/**
 * references: what a manifest names that must exist on the platform, checked at deploy with every
 * error by key path, so that a function never starts to find its topic or secret missing.
 * - topics of `topic` triggers, of `retries.deadLetter` and of `topic:NAME:publish` permissions:
 *   declared by this manifest's `topics:` or by another project's;
 * - KV namespaces of `kv` triggers and `kv:NS:read|write` permissions: declared like topics;
 * - buckets of `bucket` triggers and `bucket:NAME:read|write` permissions: declared by a project
 *   or created through the S3 API;
 * - secrets of `secrets:`, of webhook triggers, of stream triggers and of postgres triggers'
 *   connections: set with `gust secrets set`.
 */
import { BUCKET_NAME } from '../manifest/triggers.js';
import type { FunctionSpec, Manifest } from '../manifest/types.js';

export interface Known {
  /** Topics that exist once this deploy is made. */
  readonly topics: ReadonlySet<string>;
  /** KV namespaces that exist once this deploy is made. */
  readonly namespaces: ReadonlySet<string>;
  /** Buckets that exist once this deploy is made. */
  readonly buckets: ReadonlySet<string>;
  readonly secret: (name: string) => boolean;
}

/** What one function names: its topics, KV namespaces and secrets, each with where it says so. */
export interface Uses {
  readonly topics: readonly (readonly [where: string, name: string])[];
  readonly namespaces: readonly (readonly [where: string, name: string])[];
  readonly secrets: readonly (readonly [where: string, name: string])[];
  readonly buckets: readonly (readonly [where: string, name: string])[];
}

export function usesOf(fn: FunctionSpec): Uses {
  const at = `functions.${fn.name}`;
  const topics: [string, string][] = [];
  const namespaces: [string, string][] = [];
  const buckets: [string, string][] = [];
  const secrets: [string, string][] = fn.secrets.map((name, i) => [`${at}.secrets[${i}]`, name]);
  fn.permissions.forEach((p, i) => {
    const m = /^topic:(.+):publish$/.exec(p);
    if (m) topics.push([`${at}.permissions[${i}]`, m[1]!]);
    const ns = /^kv:(.+):(?:read|write)$/.exec(p);
    if (ns) namespaces.push([`${at}.permissions[${i}]`, ns[1]!]);
    const b = /^bucket:(.+):(?:read|write)$/.exec(p);
    if (b) buckets.push([`${at}.permissions[${i}]`, b[1]!]);
  });
  if (fn.retries.deadLetter !== null) topics.push([`${at}.retries.deadLetter`, fn.retries.deadLetter]);
  fn.triggers.forEach((t, i) => {
    if (t.type === 'topic') topics.push([`${at}.triggers[${i}].topic.name`, t.name]);
    if (t.type === 'webhook') secrets.push([`${at}.triggers[${i}].webhook.secret`, t.secret]);
    if (t.type === 'kv') namespaces.push([`${at}.triggers[${i}].kv.namespace`, t.namespace]);
    if (t.type === 'postgres') secrets.push([`${at}.triggers[${i}].postgres.connection`, t.connection]);
    if (t.type === 'bucket') buckets.push([`${at}.triggers[${i}].bucket.name`, t.name]);
    if (t.type === 'stream') secrets.push([`${at}.triggers[${i}].stream.connection`, t.connection]);
  });
  return { topics, namespaces, secrets, buckets };
}

export function missingReferences(manifest: Manifest, known: Known): string[] {
  const errors: string[] = [];
  for (const fn of manifest.functions) {
    const uses = usesOf(fn);
    for (const [where, name] of uses.secrets) {
      if (!known.secret(name))
        errors.push(`${where}: no secret ${name}: set it first with gust secrets set ${name}`);
    }
    for (const [where, name] of uses.topics) {
      if (!known.topics.has(name)) {
        errors.push(
          `${where}: no topic ${name}: declare it under topics (in this gust.yaml, or in another project's)`,
        );
      }
    }
    for (const [where, name] of uses.namespaces) {
      if (!known.namespaces.has(name)) {
        errors.push(
          `${where}: no KV namespace ${name}: declare it under kv (in this gust.yaml, or in another project's)`,
        );
      }
    }
    for (const [where, name] of uses.buckets) {
      if (!BUCKET_NAME.test(name)) {
        errors.push(
          `${where}: ${name} is not a bucket name (3 to 63 lower-case letters, digits, . and -, as S3 names them)`,
        );
      } else if (!known.buckets.has(name)) {
        errors.push(
          `${where}: no bucket ${name}: declare it under buckets (in this gust.yaml, or in another project's), or create it through the S3 API`,
        );
      }
    }
  }
  return errors;
}

/**
 * What a deploy would take away from functions that stay deployed (other projects', and this
 * project's left running): a topic or namespace that only this project declared, and no longer
 * does, while one of them still uses it. Dropping it would break them at run time (their dead
 * letters lost, their calls failing), so the deploy is refused, naming them.
 */
export function stillUsed(
  staying: readonly FunctionSpec[],
  gone: { readonly topics: ReadonlySet<string>; readonly namespaces: ReadonlySet<string> },
): string[] {
  const errors: string[] = [];
  for (const fn of staying) {
    const uses = usesOf(fn);
    for (const [where, name] of uses.topics) {
      if (gone.topics.has(name))
        errors.push(
          `topics: ${name} is still used by ${fn.name} (${where}): keep declaring it, or change ${fn.name} first`,
        );
    }
    for (const [where, name] of uses.namespaces) {
      if (gone.namespaces.has(name))
        errors.push(
          `kv: ${name} is still used by ${fn.name} (${where}): keep declaring it, or change ${fn.name} first`,
        );
    }
  }
  return errors;
}
