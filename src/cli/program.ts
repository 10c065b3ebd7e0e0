/** program: the `gust` command tree. Usage errors become one `gust:` line and exit 2 (see fail.ts). */
import { Command } from 'commander';
import { registerDeployCommand } from './commands/deploy.js';
import { registerDevCommand } from './commands/dev.js';
import { registerFunctionCommands } from './commands/functions.js';
import { registerInvokeCommand } from './commands/invoke.js';
import { registerKeyCommands } from './commands/keys.js';
import { registerKvCommands } from './commands/kv.js';
import { registerLoginCommand } from './commands/login.js';
import { registerLogCommands } from './commands/logs.js';
import { registerPublishCommand } from './commands/publish.js';
import { registerReplayCommand } from './commands/replay.js';
import { registerSecretCommands } from './commands/secrets.js';
import { registerUpCommand } from './commands/up.js';
import { registerUsageCommand } from './commands/usage.js';
import type { Cli } from './context.js';
import { printCommanderError } from './fail.js';

export function createProgram(cli: Cli, version: string): Command {
  const program = new Command('gust')
    .description('Gust: self-hosted serverless functions')
    .version(version, '-V, --version')
    // `gust --version`, while `gust replay ID --version 2` is the command's own option
    .enablePositionalOptions()
    .showSuggestionAfterError()
    // settings are copied to subcommands when they are created, so these come first
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void process.stdout.write(text),
      writeErr: (text) => void process.stderr.write(text),
    });

  for (const register of [
    registerUpCommand,
    registerDevCommand,
    registerDeployCommand,
    registerInvokeCommand,
    registerFunctionCommands,
    registerLogCommands,
    registerReplayCommand,
    registerPublishCommand,
    registerSecretCommands,
    registerKvCommands,
    registerKeyCommands,
    registerLoginCommand,
    registerUsageCommand,
  ]) {
    register(program, cli);
  }
  oneLineUsageErrors(program, cli);
  return program;
}

/** Each command prints its usage errors as `gust: ... (see \`gust keys create --help\`)`, or as JSON. */
function oneLineUsageErrors(command: Command, cli: Cli): void {
  command.configureOutput({ outputError: (text) => printCommanderError(cli, text, command) });
  for (const sub of command.commands) oneLineUsageErrors(sub, cli);
}
