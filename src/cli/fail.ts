/**
 * fail: the CLI's one way out. Commands throw a CliError; main prints it on stderr and exits with
 * its code. As text: `gust: what went wrong and how to fix it`, then any details one per line. With
 * `--json`: `{"error": {"code", "message", "details"?}}` on one line, as the API answers, with the
 * same exit code. Codes: the API's own for its errors, CLI_ERROR_CODES (src/errors.ts) for the rest.
 */
import { type Command, CommanderError } from 'commander';
import { ConfigError } from '../config/config.js';
import type { CliErrorCode, ErrorCode } from '../errors.js';

/** `interrupted`: stopped by Ctrl-C before it ended (128 + SIGINT, as shells say it). */
export const EXIT = { ok: 0, failure: 1, usage: 2, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export interface CliErrorOptions {
  readonly exitCode?: ExitCode;
  /** Default: USAGE for exit 2, else FAILED. An API error keeps the API's code. */
  readonly code?: CliErrorCode | ErrorCode;
  /** Further lines after the first one, e.g. every manifest error by path. */
  readonly details?: readonly string[];
  /** Printed after `gust`: `gust replay: ...` for errors about a whole command. */
  readonly command?: string;
}

export class CliError extends Error {
  override name = 'CliError';
  readonly exitCode: ExitCode;
  readonly code: CliErrorCode | ErrorCode;
  readonly details: readonly string[];
  readonly command: string | undefined;

  constructor(message: string, options: CliErrorOptions = {}) {
    super(message);
    this.exitCode = options.exitCode ?? EXIT.failure;
    this.code = options.code ?? (this.exitCode === EXIT.usage ? 'USAGE' : 'FAILED');
    this.details = options.details ?? [];
    this.command = options.command;
  }
}

/** The command line itself is wrong (exit 2). */
export function usageError(message: string): CliError {
  return new CliError(message, { exitCode: EXIT.usage, code: 'USAGE' });
}

/** Where errors go, and in which form. */
export interface ErrorSink {
  /** `--json` was given: errors as JSON too. */
  readonly json: boolean;
  err(line: string): void;
}

/** Prints what went wrong and returns the exit code. Commander has already printed its own errors. */
export function reportError(e: unknown, sink: ErrorSink): ExitCode {
  if (e instanceof CommanderError) return commanderExitCode(e);
  if (e instanceof CliError) {
    printError(sink, e.code, e.message, e.details, e.command);
    return e.exitCode;
  }
  if (e instanceof ConfigError) {
    printError(sink, 'CONFIG_INVALID', e.message);
    return EXIT.usage;
  }
  const message = e instanceof Error ? e.message : String(e);
  printError(sink, 'INTERNAL', `unexpected error: ${message} (a bug in Gust: please report it)`);
  return EXIT.failure;
}

function printError(
  sink: ErrorSink,
  code: string,
  message: string,
  details: readonly string[] = [],
  command?: string,
): void {
  if (sink.json) {
    const text = command === undefined ? message : `${command}: ${message}`;
    sink.err(JSON.stringify({ error: { code, message: text, ...(details.length > 0 ? { details } : {}) } }));
    return;
  }
  sink.err(`gust${command === undefined ? '' : ` ${command}`}: ${message}`);
  for (const line of details) sink.err(`  ${line}`);
}

function commanderExitCode(e: CommanderError): ExitCode {
  if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.ok;
  return EXIT.usage;
}

/** Commander's usage errors, in the CLI's words and form (see formatCommanderError). */
export function printCommanderError(sink: ErrorSink, text: string, command: Command): void {
  printError(sink, 'USAGE', formatCommanderError(text, command));
}

/**
 * Commander's `error: unknown option '--x'\n(Did you mean --json?)` as one line, its option errors
 * said plainly (`--scope root is not a choice: use admin, deploy, invoke, storage or metrics`), and a
 * pointer to the command's help.
 */
export function formatCommanderError(text: string, command: Command): string {
  const lines = text
    .trim()
    .replace(/^error: /, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const hint = lines.length > 1 ? '' : ` (see \`${commandPath(command)} --help\`)`;
  return `${lines.map((line) => plainOptionError(line, command)).join(' ')}${hint}`;
}

function plainOptionError(line: string, command: Command): string {
  const invalid = /^option '([^']*)' argument '(.*)' is invalid\. (.*)$/s.exec(line);
  if (invalid) {
    const [, flags = '', value = '', why = ''] = invalid;
    const flag = flagOf(flags);
    const choices = choicesOf(command, flag);
    return choices === undefined
      ? `${flag} ${quote(value)}: ${why.replace(/\.$/, '')}`
      : `${flag} ${quote(value)} is not a choice: use ${choices}`;
  }
  const missing = /^(?:required )?option '([^']*)' (argument missing|not specified)$/.exec(line);
  if (missing) {
    const flag = flagOf(missing[1] ?? '');
    const choices = choicesOf(command, flag);
    const what = missing[2] === 'not specified' ? 'is required' : 'needs a value';
    return `${flag} ${what}${choices === undefined ? '' : `: ${choices}`}`;
  }
  const argument = /^command-argument value '(.*)' is invalid for argument '([^']*)'\. (.*)$/s.exec(line);
  if (argument) {
    const [, value = '', name = '', why = ''] = argument;
    return `${name} ${quote(value)}: ${why.replace(/\.$/, '')}`;
  }
  return line;
}

/** `--data` of `-d, --data <JSON>`. */
function flagOf(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0] ?? flags;
}

/** `admin, deploy, invoke, storage or metrics`, when the option takes one of a list. */
function choicesOf(command: Command, flag: string): string | undefined {
  const choices = command.options.find((o) => o.long === flag || o.short === flag)?.argChoices;
  if (choices === undefined || choices.length === 0) return undefined;
  return choices.length === 1 ? choices[0] : `${choices.slice(0, -1).join(', ')} or ${choices.at(-1)}`;
}

/** A value as typed: bare when it is a plain word, quoted when empty or odd. */
export function quote(value: string): string {
  return /^[\w./:@-]+$/.test(value) ? value : JSON.stringify(value);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}
