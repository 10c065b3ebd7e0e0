/**
 * deploy-folder: `gust up DIR` deploys DIR/gust.yaml at start, in-process: the manifest read and
 * checked, its handlers bundled, then the same deploy the control API makes.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { type BundleProgress, bundleFunctions } from '../build/bundle.js';
import { GustError } from '../errors.js';
import { isDirectory } from '../lib/files.js';
import { hasManifest, readManifest } from '../manifest/load.js';
import { projectFromFolder } from '../manifest/schema.js';
import type { DeployAnswer, FunctionControl } from './functions.js';

/** gust.yaml of a folder, bundled and deployed in-process (as `gust deploy` does over HTTP). */
export async function deployFolder(
  control: FunctionControl,
  dir: string,
  onBundled?: BundleProgress,
): Promise<DeployAnswer | undefined> {
  if (!(await isDirectory(dir))) throw new GustError('NOT_FOUND', `there is no folder ${dir} to deploy`);
  if (!(await hasManifest(dir))) return undefined; // a folder without gust.yaml: start empty
  const found = await readManifest(dir);
  if (!found.ok) {
    throw new GustError('MANIFEST_INVALID', `${found.path} has errors; nothing was deployed`, found.errors);
  }
  const built = await bundleFunctions(dir, found.manifest.functions, onBundled);
  if (!built.ok)
    throw new GustError('BUILD_FAILED', `${found.path}: a handler could not be bundled`, built.errors);
  return control.deploy(await readFile(found.path, 'utf8'), built.bundles, {
    project: projectFromFolder(path.basename(path.resolve(dir))),
  });
}
