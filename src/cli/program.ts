/** program: the `gust` command tree. Usage errors become one `gust:` line and exit 2 (see fail.ts). */
import { Command } from 'commander';
import { registerDeployCommand } from './commands/deploy.js';
import { registerFunctionCommands } from './commands/functions.js';
import { registerInvokeCommand } from './commands/invoke.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerLogCommands } from './commands/logs.js';
import { registerUnsupportedCommands } from './commands/unsupported.js';
import { registerUpCommand } from './commands/up.js';
import type { Cli } from './context.js';
import { formatCommanderError } from './fail.js';

export function createProgram(cli: Cli, version: string): Command {
  const program = new Command('gust')
    .description('Gust: self-hosted serverless functions')
    .version(version, '-V, --version')
    .showSuggestionAfterError()
    // settings are copied to subcommands when they are created, so these come first
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void process.stdout.write(text),
      writeErr: (text) => void process.stderr.write(text),
    });

  for (const register of [
    registerUpCommand,
    registerDeployCommand,
    registerInvokeCommand,
    registerFunctionCommands,
    registerLogCommands,
    registerKeyCommands,
    registerUnsupportedCommands,
  ]) {
    register(program, cli);
  }
  oneLineUsageErrors(program, 'gust', cli);
  return program;
}

/** Each command prints its usage errors as `gust: ... (see \`gust keys create --help\`)`. */
function oneLineUsageErrors(command: Command, commandPath: string, cli: Cli): void {
  command.configureOutput({ outputError: (text) => cli.err(formatCommanderError(text, commandPath)) });
  for (const sub of command.commands) oneLineUsageErrors(sub, `${commandPath} ${sub.name()}`, cli);
}
