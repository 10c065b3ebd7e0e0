/**
 * deploy-refusals: what a deploy is refused for beside its manifest: bundles missing or too large,
 * functions that another project owns, routes other functions serve. Each refuses it whole.
 */
import { GustError } from '../errors.js';
import { routeClaims, routeConflicts } from '../manifest/load.js';
import type { FunctionSpec } from '../manifest/types.js';

/** The most a bundle may weigh; bigger is a mistake (a bundled binary, a data file). */
const MAX_BUNDLE_BYTES = 50 * 1024 * 1024;

/** Functions another project owns: refused whole, saying whose they are and how to move them. */
export function ownedElsewhere(
  project: string,
  owned: readonly { name: string; project: string }[],
): GustError {
  const list = owned.map((o) => `${o.name} (project ${o.project})`).join(', ');
  return new GustError(
    'CONFLICT',
    `${owned.length === 1 ? 'a function' : 'functions'} of another project: ${list}; nothing was deployed. ` +
      `Rename ${owned.length === 1 ? 'it' : 'them'} in gust.yaml, or deploy with --adopt to move ${owned.length === 1 ? 'it' : 'them'} to project ${project} on purpose`,
    owned.map(
      (o) => `functions.${o.name}: owned by project ${o.project}; --adopt moves it to project ${project}`,
    ),
  );
}

/** The routes of `incoming` that functions deployed (`others`) serve already; undefined: none. */
export function routesTaken(
  others: readonly { spec: FunctionSpec; project: string | null }[],
  incoming: readonly FunctionSpec[],
  what: string,
): GustError | undefined {
  const owners = new Map(others.map((o) => [o.spec.name, o.project]));
  const errors = routeConflicts([
    ...routeClaims(
      others.map((o) => o.spec),
      (s) => `function ${s.name}${owners.get(s.name) ? ` of project ${owners.get(s.name)}` : ''}`,
    ),
    ...routeClaims(incoming),
  ]);
  if (errors.length === 0) return undefined;
  return new GustError(
    'CONFLICT',
    `a route is already served by another deployed function; nothing was ${what}`,
    errors,
  );
}

export function readBundles(input: unknown, functions: readonly FunctionSpec[]): Record<string, string> {
  if (input === null || typeof input !== 'object') {
    throw new GustError(
      'BAD_REQUEST',
      'bundles must be an object of function name -> bundled code (gust deploy makes it)',
    );
  }
  const bundles = input as Record<string, unknown>;
  const errors: string[] = [];
  for (const spec of functions) {
    const code = bundles[spec.name];
    if (typeof code !== 'string' || code.length === 0)
      errors.push(`functions.${spec.name}.handler: no bundle was uploaded`);
    else if (code.length > MAX_BUNDLE_BYTES)
      errors.push(`functions.${spec.name}.handler: the bundle is over 50 MB`);
  }
  if (errors.length > 0)
    throw new GustError('BAD_REQUEST', 'the upload is missing bundles; nothing was deployed', errors);
  return bundles as Record<string, string>;
}
