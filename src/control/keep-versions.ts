/**
 * keep-versions: how many versions a function keeps (`--keep-versions`, GUST_KEEP_VERSIONS).
 * After a deploy makes new versions, the oldest past the bound are removed with their bundle files
 * (a bundle stays while any version of any function uses it: they are stored by hash); the active
 * version and the one before it always stay. A removed version asked for by number (`gust
 * rollback`, `gust replay --version`, the Lambda Qualifier) is said to be removed by the setting.
 */
import type { BundleStore, RegistryStore } from '../backends/ports.js';
import { GustError } from '../errors.js';

export interface KeepDeps {
  readonly registry: Pick<RegistryStore, 'trimVersions' | 'wasTrimmed'>;
  readonly bundles: Pick<BundleStore, 'remove'>;
  /** Versions kept per function; undefined: all. */
  readonly keepVersions?: number | undefined;
}

/**
 * Trims the versions of these functions. Deploys run one at a time (FunctionControl), so no deploy
 * is between storing a bundle and making a version of it while a bundle is deleted.
 */
export async function trimVersions(deps: KeepDeps, names: readonly string[]): Promise<void> {
  if (deps.keepVersions === undefined) return;
  for (const name of names) {
    for (const hash of await deps.registry.trimVersions(name, deps.keepVersions)) {
      await deps.bundles.remove(hash);
    }
  }
}

/** NOT_FOUND for a version the function does not have: removed by the setting, or never made. */
export async function noSuchVersion(deps: KeepDeps, name: string, version: number): Promise<GustError> {
  return new GustError('NOT_FOUND', await noSuchVersionText(deps, name, version));
}

export async function noSuchVersionText(deps: KeepDeps, name: string, version: number): Promise<string> {
  if (await deps.registry.wasTrimmed(name, version)) {
    return `${name} v${version} was removed: this platform keeps the last ${deps.keepVersions ?? 'few'} versions of a function (--keep-versions, GUST_KEEP_VERSIONS); gust versions ${name} lists those kept`;
  }
  return `${name} has no version ${version}: gust versions ${name} lists them`;
}
