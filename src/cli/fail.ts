/**
 * fail: the CLI's one way out. Commands throw a CliError; main prints it as one line on stderr
 * (`gust: what went wrong and how to fix it`, then any details one per line) and exits with its code.
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';

export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliErrorOptions {
  readonly exitCode?: ExitCode;
  /** Further lines after the first one, e.g. every manifest error by path. */
  readonly details?: readonly string[];
  /** Printed after `gust`: `gust replay: ...` for errors about a whole command. */
  readonly command?: string;
}

export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;
  readonly details: readonly string[];
  readonly command: string | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message);
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.details = options.details ?? [];
    this.command = options.command;
  }
}

/** The command line itself is wrong (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: EXIT.usage });
}

/** Prints what went wrong and returns the exit code. Commander has already printed its own errors. */
export function reportError(e: unknown, writeErr: (line: string) => void): ExitCode {
  if (e instanceof CommanderError) return commanderExitCode(e);
  if (e instanceof CliError) {
    writeErr(`gust${e.command === undefined ? '' : ` ${e.command}`}: ${e.message}`);
    for (const line of e.details) writeErr(`  ${line}`);
    return e.exitCode;
  }
  if (e instanceof ConfigError) {
    writeErr(`gust: ${e.message}`);
    return EXIT.usage;
  }
  const message = e instanceof Error ? e.message : String(e);
  writeErr(`gust: unexpected error: ${message} (a bug in Gust: please report it)`);
  return EXIT.failure;
}

function commanderExitCode(e: CommanderError): ExitCode {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
  return EXIT.usage;
}

/** Commander's `error: unknown option '--x'\n(Did you mean --json?)` as one `gust:` line. */
export function formatCommanderError(text: string, commandPath: string): string {
  const lines = text
    .trim()
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const hint = lines.length > 1 ? '' : ` (see \`${commandPath} --help\`)`;
  return `gust: ${lines.join(' ')}${hint}`;
}
