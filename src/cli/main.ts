/** main: the `gust` entry point (bin/gust.js imports the compiled file). Reads env and cwd, runs, exits. */
import { readFileSync } from 'node:fs';
import { loadClientConfig } from '../config/client.js';
import { processEnv } from '../config/config.js';
import { createCli } from './context.js';
import { reportError } from './fail.js';
import { createProgram } from './program.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const env = processEnv();
const cwd = process.cwd();
const cli = createCli({
  env,
  cwd,
  clientConfig: () => loadClientConfig(env, cwd),
  json: wantsJson(process.argv.slice(2)),
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
});

try {
  await createProgram(cli, version).parseAsync(process.argv);
} catch (e) {
  // exitCode, not exit(): stdout may still be draining into a pipe
  process.exitCode = reportError(e, cli);
}

/**
 * `--json` anywhere before `--`. Read from the arguments rather than from the command's options:
 * commander's own usage errors come before any option is parsed, and they are to be JSON too.
 */
function wantsJson(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).includes('--json');
}
