/**
 * permissions: the one check of what a function may do through its bindings, made on the platform
 * side for every call (a function's own code could send any call itself). Nothing is allowed
 * unless its `permissions` list it: `topic:NAME:publish`, `function:NAME:invoke` (and, with their
 * issues, `kv:NS:read|write`, `bucket:NAME:read|write`).
 */
import type { FunctionSpec } from '../manifest/types.js';

/** The permission a call needs, as it is written in gust.yaml. */
export type Permission =
  | `topic:${string}:publish`
  | `function:${string}:invoke`
  | `kv:${string}:read`
  | `kv:${string}:write`
  | `bucket:${string}:read`
  | `bucket:${string}:write`;

/** What else grants a permission: writing a namespace or a bucket includes reading it. */
function grantedBy(needed: Permission): Permission[] {
  const read = /^(kv|bucket):(.+):read$/.exec(needed);
  return read ? [needed, `${read[1] as 'kv'}:${read[2]!}:write`] : [needed];
}

/** Undefined when allowed; else the error the function gets, naming what it misses. */
export function refusal(spec: FunctionSpec, needed: Permission, call: string): string | undefined {
  if (spec.permissions.includes(needed)) return undefined;
  if (grantedBy(needed).some((p) => spec.permissions.includes(p))) return undefined;
  return `${call} is not allowed: ${spec.name} needs the permission ${needed} (add it to its permissions in gust.yaml)`;
}
