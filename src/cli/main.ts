/** main: the `gust` entry point (bin/gust.js imports the compiled file). Reads env and cwd, runs, exits. */
import { readFileSync } from 'node:fs';
import { loadClientConfig, processEnv } from '../config/config.js';
import { createCli } from './context.js';
import { reportError } from './fail.js';
import { createProgram } from './program.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const env = processEnv();
const cli = createCli({
  env,
  cwd: process.cwd(),
  clientConfig: loadClientConfig(env, process.cwd()),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

try {
  await createProgram(cli, version).parseAsync(process.argv);
} catch (e) {
  // exitCode, not exit(): stdout may still be draining into a pipe
  process.exitCode = reportError(e, cli.err);
}
