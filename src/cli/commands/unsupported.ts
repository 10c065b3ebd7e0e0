/** Commands of the product that need features this version lacks: they exist, and say so. */
import type { Command } from 'commander';
import type { Cli } from '../context.js';
import { CliError } from '../fail.js';

const LATER: readonly (readonly [name: string, usage: string, description: string])[] = [
  ['replay', '<invocation-id>', 'run a recorded invocation again with its exact event'],
];

export function registerUnsupportedCommands(program: Command, _cli: Cli): void {
  for (const [name, usage, description] of LATER) {
    program
      .command(name)
      .usage(usage)
      .description(`${description} (not supported yet)`)
      .allowExcessArguments()
      .allowUnknownOption()
      .helpOption(false)
      .action(() => {
        throw new CliError('not supported yet by this version of Gust', { command: name });
      });
  }
}
