/** deploy: validate gust.yaml, bundle every handler, upload; the server validates again and activates. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { bundleFunctions } from '../../build/bundle.js';
import { formatManifestErrors, readManifest } from '../../manifest/load.js';
import type { DeployAnswer } from '../api.js';
import type { Cli } from '../context.js';
import { CliError } from '../fail.js';
import { emit, type JsonFlag, table } from '../output.js';

/** Uploads can be megabytes and the server stores every bundle before answering. */
const DEPLOY_TIMEOUT_MS = 120_000;

export function registerDeployCommand(program: Command, cli: Cli): void {
  program
    .command('deploy')
    .description('bundle and deploy DIR/gust.yaml to a running platform')
    .argument('[dir]', 'folder holding gust.yaml', '.')
    .option('--json', 'print JSON')
    .action(async (dir: string, flags: JsonFlag) => {
      const answer = await deploy(cli, path.resolve(cli.cwd, dir));
      emit(cli, flags, answer, ({ functions }) =>
        table(functions.map((f) => [f.name, `v${f.version}`, f.changed ? 'deployed' : 'unchanged'])),
      );
    });
}

export function bundleFailure(errors: readonly string[]): CliError {
  const what = errors.length === 1 ? 'a handler' : 'handlers';
  return new CliError(`${what} could not be bundled; nothing was deployed`, { details: errors });
}

async function deploy(cli: Cli, dir: string): Promise<DeployAnswer> {
  const read = await readManifest(dir);
  const relative = path.relative(cli.cwd, read.path);
  const source = relative.startsWith('..') ? read.path : relative;
  if (!read.ok) {
    const [first = '', ...rest] = formatManifestErrors(read.errors, source).split('\n');
    throw new CliError(first, { details: rest.map((line) => line.trim()) });
  }
  const { functions } = read.manifest;
  cli.err(`bundling ${functions.length} function${functions.length === 1 ? '' : 's'}…`);
  const bundled = await bundleFunctions(dir, functions);
  if (!bundled.ok) {
    throw new CliError(
      `${bundled.errors.length === 1 ? 'a handler' : 'handlers'} could not be bundled; nothing was deployed`,
      {
        details: bundled.errors,
      },
    );
  }
  const manifest = await readFile(read.path, 'utf8');
  const bytes = Object.values(bundled.bundles).reduce((n, code) => n + Buffer.byteLength(code), 0);
  cli.err(`uploading ${Math.ceil(bytes / 1024)} kB to ${cli.client().url}…`);
  return cli
    .client()
    .post<DeployAnswer>('/deploy', { manifest, bundles: bundled.bundles }, { timeoutMs: DEPLOY_TIMEOUT_MS });
}
