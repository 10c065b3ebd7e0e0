/** deploy: validate gust.yaml, bundle every handler, upload; the server validates again and activates. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { bundleFunctions } from '../../build/bundle.js';
import { pathKind } from '../../lib/files.js';
import { formatManifestErrors, readManifest } from '../../manifest/load.js';
import { projectFromFolder } from '../../manifest/schema.js';
import type { Manifest } from '../../manifest/types.js';
import { budgetWarning } from '../../observe/budgets.js';
import type { DeployAnswer, FunctionSummary } from '../api.js';
import { confirm } from '../ask.js';
import type { Cli } from '../context.js';
import { CliError, usageError } from '../fail.js';
import { emit, type JsonFlag, table } from '../output.js';
import { bundlingProgress } from '../progress.js';

/** Uploads can be megabytes and the server stores every bundle before answering. */
const DEPLOY_TIMEOUT_MS = 120_000;

interface DeployFlags extends JsonFlag {
  readonly prune?: boolean;
  readonly adopt?: boolean;
  readonly yes?: boolean;
}

/**
 * The project a deploy goes to, as the platform decides it: gust.yaml's `project:`, else the
 * folder's name made a project name. `folder` is that folder's name when the project comes from
 * it: another folder of the same name is the same project, which the output says.
 */
export interface ProjectChoice {
  readonly name: string;
  readonly folder?: string;
}

export function projectChoice(manifest: Manifest, dir: string): ProjectChoice {
  if (manifest.project !== undefined) return { name: manifest.project };
  const folder = path.basename(path.resolve(dir));
  return { name: projectFromFolder(folder), folder };
}

export function registerDeployCommand(program: Command, cli: Cli): void {
  program
    .command('deploy')
    .description('bundle and deploy DIR/gust.yaml to a running platform')
    .argument('[dir]', 'folder holding gust.yaml', '.')
    .option('--prune', "remove the project's functions that gust.yaml no longer declares")
    .option('-y, --yes', 'with --prune: do not ask for confirmation')
    .option('--adopt', 'move functions that another project owns to this one')
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: DeployFlags) => {
      const { answer, project } = await deploy(cli, await projectFolder(cli, dir, 'deploy'), flags);
      emit(cli, flags, answer, (a) => deployText(a, project));
      for (const warning of budgetWarnings(answer)) cli.note(warning);
    });
}

/**
 * What a deploy did, a line per function: deployed, unchanged, moved, removed or left running;
 * first the project, and whether it is the folder's name.
 */
export function deployText(answer: DeployAnswer, project?: ProjectChoice): string {
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
  return `project ${answer.project}${projectOrigin(answer, project)}\n${table(rows)}`;
}

/** A warning line for each function whose new budget refuses its calls at once (stderr). */
export function budgetWarnings(answer: DeployAnswer): string[] {
  return answer.functions.flatMap((f) => (f.budget && budgetWarning(f.name, f.version, f.budget)) ?? []);
}

/** ` (from the folder name; set project: in gust.yaml to choose it)`, when it is the folder's. */
function projectOrigin(answer: DeployAnswer, project: ProjectChoice | undefined): string {
  if (project?.folder === undefined || project.name !== answer.project) return '';
  const rewritten = project.folder === project.name ? '' : `: ${project.folder} -> ${project.name}`;
  return ` (from the folder name${rewritten}; set project: in gust.yaml to choose it)`;
}

export function bundleFailure(errors: readonly string[]): CliError {
  const what = errors.length === 1 ? 'a handler' : 'handlers';
  return new CliError(`${what} could not be bundled; nothing was deployed`, {
    details: errors,
    code: 'BUILD_FAILED',
  });
}

async function deploy(
  cli: Cli,
  dir: string,
  flags: DeployFlags,
): Promise<{ answer: DeployAnswer; project: ProjectChoice }> {
  const read = await readProject(cli, dir);
  const { functions } = read.manifest;
  const progress = cli.progress();
  progress.update(`bundling ${functions.length} function${functions.length === 1 ? '' : 's'}…`);
  const bundled = await bundleFunctions(dir, functions, bundlingProgress(progress)).finally(() =>
    progress.done(),
  );
  if (!bundled.ok) throw bundleFailure(bundled.errors);
  const project = projectChoice(read.manifest, dir);
  if (flags.prune === true && flags.yes !== true && cli.interactive)
    await confirmPrune(cli, read.manifest, project);
  const manifest = await readFile(read.path, 'utf8');
  const answer = await upload(cli, { dir, manifest, bundles: bundled.bundles, ...flags });
  return { answer, project };
}

/**
 * DIR of `gust deploy DIR` or `gust dev DIR`, absolute: a folder, else a usage error that says
 * what it is instead (missing, a file).
 */
export async function projectFolder(cli: Cli, dir: string, command: 'deploy' | 'dev'): Promise<string> {
  const root = path.resolve(cli.cwd, dir);
  const kind = await pathKind(root);
  if (kind === 'directory') return root;
  const what =
    kind === 'missing'
      ? `there is no folder ${dir}`
      : `${dir} is a ${kind === 'file' ? 'file' : 'special file'}, not a folder`;
  throw usageError(`${what}: gust ${command} takes the folder that holds gust.yaml (default: this one)`);
}

/** gust.yaml of DIR, valid, or a MANIFEST_INVALID error listing every error by path. */
export async function readProject(cli: Cli, dir: string): Promise<{ manifest: Manifest; path: string }> {
  const read = await readManifest(dir);
  const relative = path.relative(cli.cwd, read.path);
  const source = relative.startsWith('..') ? read.path : relative;
  if (!read.ok) {
    const [first = '', ...rest] = formatManifestErrors(read.errors, source).split('\n');
    throw new CliError(first, { details: rest.map((line) => line.trim()), code: 'MANIFEST_INVALID' });
  }
  return read;
}

export interface Upload {
  readonly dir: string;
  /** gust.yaml's text. */
  readonly manifest: string;
  readonly bundles: Readonly<Record<string, string>>;
  readonly prune?: boolean | undefined;
  readonly adopt?: boolean | undefined;
}

/** The manifest and its bundles to the control API, which validates them again and activates. */
export async function upload(cli: Cli, what: Upload): Promise<DeployAnswer> {
  const bytes = Object.values(what.bundles).reduce((n, code) => n + Buffer.byteLength(code), 0);
  const client = cli.client();
  const progress = cli.progress();
  progress.update(`uploading ${Math.ceil(bytes / 1024)} kB to ${client.url}…`);
  const body = {
    manifest: what.manifest,
    bundles: what.bundles,
    // gust.yaml's own `project:` wins on the server; this is the folder's name, for when it has none
    project: projectFromFolder(path.basename(what.dir)),
    ...(what.prune === true ? { prune: true } : {}),
    ...(what.adopt === true ? { adopt: true } : {}),
  };
  return client
    .post<DeployAnswer>('/deploy', body, { timeoutMs: DEPLOY_TIMEOUT_MS })
    .finally(() => progress.done());
}

/**
 * On a terminal, --prune asks before it removes anything, naming what and of which project: a
 * folder that merely has the name of another team's project would otherwise remove its functions.
 * Scripts are not asked (no one is there), as for `gust rm`.
 */
async function confirmPrune(cli: Cli, manifest: Manifest, project: ProjectChoice): Promise<void> {
  const { functions } = await cli
    .client()
    .get<{ functions: FunctionSummary[] }>('/functions', { query: { project: project.name } });
  const declared = new Set(manifest.functions.map((f) => f.name));
  const dropped = functions.map((f) => f.name).filter((name) => !declared.has(name));
  if (dropped.length === 0) return;
  const names = listed(dropped);
  const whose = `project ${project.name}${project.folder === undefined ? '' : ' (from the folder name)'}`;
  if (!(await confirm(cli, `Remove ${names} of ${whose}, which this gust.yaml does not declare?`))) {
    throw new CliError(
      `kept ${names}: nothing was deployed (without --prune, gust deploy leaves ${dropped.length === 1 ? 'it' : 'them'} running)`,
    );
  }
}

/** `a`, `a and b`, `a, b and c`. */
function listed(names: readonly string[]): string {
  return names.length === 1 ? (names[0] ?? '') : `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}
