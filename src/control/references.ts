/**
 * references: what a manifest names that must exist on the platform, checked at deploy with every
 * error by key path, so that a function never starts to find its topic or secret missing.
 * - topics of `topic` triggers, of `retries.deadLetter` and of `topic:NAME:publish` permissions:
 *   declared by this manifest's `topics:` or by another project's;
 * - KV namespaces of `kv` triggers and `kv:NS:read|write` permissions: declared like topics;
 * - buckets of `bucket` triggers and `bucket:NAME:read|write` permissions: declared by a project
 *   or created through the S3 API;
 * - secrets of `secrets:` and of webhook triggers: set with `gust secrets set`.
 */
import type { Manifest } from '../manifest/types.js';

export interface Known {
  /** Topics that exist once this deploy is made. */
  readonly topics: ReadonlySet<string>;
  /** KV namespaces that exist once this deploy is made. */
  readonly namespaces: ReadonlySet<string>;
  /** Buckets that exist once this deploy is made. */
  readonly buckets: ReadonlySet<string>;
  readonly secret: (name: string) => boolean;
}

export function missingReferences(manifest: Manifest, known: Known): string[] {
  const errors: string[] = [];
  const topic = (where: string, name: string) => {
    if (!known.topics.has(name)) {
      errors.push(
        `${where}: no topic ${name}: declare it under topics (in this gust.yaml, or in another project's)`,
      );
    }
  };
  const namespace = (where: string, name: string) => {
    if (!known.namespaces.has(name)) {
      errors.push(
        `${where}: no KV namespace ${name}: declare it under kv (in this gust.yaml, or in another project's)`,
      );
    }
  };
  const bucket = (where: string, name: string) => {
    if (!known.buckets.has(name)) {
      errors.push(
        `${where}: no bucket ${name}: declare it under buckets (in this gust.yaml, or in another project's), or create it through the S3 API`,
      );
    }
  };
  const secret = (where: string, name: string) => {
    if (!known.secret(name))
      errors.push(`${where}: no secret ${name}: set it first with gust secrets set ${name}`);
  };
  for (const fn of manifest.functions) {
    const at = `functions.${fn.name}`;
    fn.secrets.forEach((name, i) => {
      secret(`${at}.secrets[${i}]`, name);
    });
    fn.permissions.forEach((p, i) => {
      const m = /^topic:(.+):publish$/.exec(p);
      if (m) topic(`${at}.permissions[${i}]`, m[1]!);
      const ns = /^kv:(.+):(?:read|write)$/.exec(p);
      if (ns) namespace(`${at}.permissions[${i}]`, ns[1]!);
      const b = /^bucket:(.+):(?:read|write)$/.exec(p);
      if (b) bucket(`${at}.permissions[${i}]`, b[1]!);
    });
    if (fn.retries.deadLetter !== null) topic(`${at}.retries.deadLetter`, fn.retries.deadLetter);
    fn.triggers.forEach((t, i) => {
      if (t.type === 'topic') topic(`${at}.triggers[${i}].topic.name`, t.name);
      if (t.type === 'webhook') secret(`${at}.triggers[${i}].webhook.secret`, t.secret);
      if (t.type === 'kv') namespace(`${at}.triggers[${i}].kv.namespace`, t.namespace);
      if (t.type === 'bucket') bucket(`${at}.triggers[${i}].bucket.name`, t.name);
    });
  }
  return errors;
}
