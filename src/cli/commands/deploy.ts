/** deploy: validate gust.yaml, bundle every handler, upload; the server validates again and activates. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { bundleFunctions } from '../../build/bundle.js';
import { formatManifestErrors, readManifest } from '../../manifest/load.js';
import { projectFromFolder } from '../../manifest/schema.js';
import type { DeployAnswer } from '../api.js';
import type { Cli } from '../context.js';
import { CliError } from '../fail.js';
import { emit, type JsonFlag, table } from '../output.js';

/** Uploads can be megabytes and the server stores every bundle before answering. */
const DEPLOY_TIMEOUT_MS = 120_000;

interface DeployFlags extends JsonFlag {
  readonly prune?: boolean;
  readonly adopt?: boolean;
}

export function registerDeployCommand(program: Command, cli: Cli): void {
  program
    .command('deploy')
    .description('bundle and deploy DIR/gust.yaml to a running platform')
    .argument('[dir]', 'folder holding gust.yaml', '.')
    .option('--prune', "remove the project's functions that gust.yaml no longer declares")
    .option('--adopt', 'move functions that another project owns to this one')
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: DeployFlags) => {
      const answer = await deploy(cli, path.resolve(cli.cwd, dir), flags);
      emit(cli, flags, answer, deployText);
    });
}

/** What a deploy did, a line per function: deployed, unchanged, moved, removed or left running. */
export function deployText(answer: DeployAnswer): string {
  const rows = answer.functions.map((f) => {
    const moved =
      f.movedFrom === undefined
        ? ''
        : ` (moved from ${f.movedFrom === null ? 'no project' : `project ${f.movedFrom}`})`;
    return [f.name, `v${f.version}`, `${f.changed ? 'deployed' : 'unchanged'}${moved}`];
  });
  for (const name of answer.removed) rows.push([name, '', 'removed (not in gust.yaml)']);
  for (const name of answer.leftRunning) {
    rows.push([name, '', 'left running: not in gust.yaml (gust deploy --prune removes it)']);
  }
  return `project ${answer.project}\n${table(rows)}`;
}

export function bundleFailure(errors: readonly string[]): CliError {
  const what = errors.length === 1 ? 'a handler' : 'handlers';
  return new CliError(`${what} could not be bundled; nothing was deployed`, {
    details: errors,
    code: 'BUILD_FAILED',
  });
}

async function deploy(cli: Cli, dir: string, flags: DeployFlags): Promise<DeployAnswer> {
  const read = await readManifest(dir);
  const relative = path.relative(cli.cwd, read.path);
  const source = relative.startsWith('..') ? read.path : relative;
  if (!read.ok) {
    const [first = '', ...rest] = formatManifestErrors(read.errors, source).split('\n');
    throw new CliError(first, { details: rest.map((line) => line.trim()), code: 'MANIFEST_INVALID' });
  }
  const { functions } = read.manifest;
  cli.note(`bundling ${functions.length} function${functions.length === 1 ? '' : 's'}…`);
  const bundled = await bundleFunctions(dir, functions);
  if (!bundled.ok) throw bundleFailure(bundled.errors);
  const manifest = await readFile(read.path, 'utf8');
  const bytes = Object.values(bundled.bundles).reduce((n, code) => n + Buffer.byteLength(code), 0);
  cli.note(`uploading ${Math.ceil(bytes / 1024)} kB to ${cli.client().url}…`);
  const body = {
    manifest,
    bundles: bundled.bundles,
    // gust.yaml's own `project:` wins on the server; this is the folder's name, for when it has none
    project: projectFromFolder(path.basename(dir)),
    ...(flags.prune === true ? { prune: true } : {}),
    ...(flags.adopt === true ? { adopt: true } : {}),
  };
  return cli.client().post<DeployAnswer>('/deploy', body, { timeoutMs: DEPLOY_TIMEOUT_MS });
}
