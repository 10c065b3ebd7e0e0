/** context: what every command gets from main: the environment, the folder, output, and a client. */
import type { ClientConfig } from '../config/client.js';
import type { Env } from '../config/config.js';
import { GustClient, platformNote } from './client.js';
import type { ErrorSink } from './fail.js';
import type { Output } from './output.js';
import { type Progress, progressLine } from './progress.js';

export interface Cli extends Output, ErrorSink {
  readonly env: Env;
  readonly cwd: string;
  /** Standard input: `--data -`, keys for `gust login`, answers to questions. */
  readonly stdin: NodeJS.ReadStream;
  /** Whether a person is there to answer a question (stdin and stderr are terminals). */
  readonly interactive: boolean;
  /** Bytes on stdout as they are (a response body of `gust invoke --path`), no newline added. */
  write(data: string | Uint8Array): void;
  /** Whether stdout is a terminal (a body without a final newline then gets one). */
  readonly stdoutIsTTY: boolean;
  /** Made on first use, so commands that never call the API never read a key or the config file. */
  client(): GustClient;
  /**
   * The progress line on stderr: drawn on a terminal, nothing in a pipe or with --json. One per
   * CLI: `out` and `err` clear it before their line and draw it again after.
   */
  progress(): Progress;
  /** Whether stdout and stderr take colours: terminals, unless NO_COLOR is set (no-color.org). */
  readonly colors: { readonly stdout: boolean; readonly stderr: boolean };
}

export interface CliDeps {
  readonly env: Env;
  readonly cwd: string;
  /** Read on first use: a damaged config file only matters to commands that need it. */
  readonly clientConfig: () => ClientConfig;
  /** `--json` is on the command line: errors are JSON too. */
  readonly json: boolean;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
}

export function createCli(deps: CliDeps): Cli {
  let client: GustClient | undefined;
  // one line for every progress, which every other line clears first (stdout and stderr are
  // often the same terminal)
  const line = progressLine(deps.stderr, !deps.json);
  const err = (text: string) => line.around(() => deps.stderr.write(`${text}\n`));
  const noColor = (deps.env.NO_COLOR ?? '') !== '';
  return {
    env: deps.env,
    cwd: deps.cwd,
    json: deps.json,
    stdin: deps.stdin,
    interactive: deps.stdin.isTTY === true && deps.stderr.isTTY === true,
    stdoutIsTTY: deps.stdout.isTTY === true,
    out: (text) => line.around(() => deps.stdout.write(`${text}\n`)),
    err,
    note: (text) => {
      if (!deps.json) err(text);
    },
    write: (data) => void deps.stdout.write(data),
    progress: () => line,
    colors: {
      stdout: deps.stdout.isTTY === true && !noColor,
      stderr: deps.stderr.isTTY === true && !noColor,
    },
    client: () => {
      if (client === undefined) {
        const config = deps.clientConfig();
        client = new GustClient(config);
        // Say where commands go when it is not this machine's own platform (not with --json:
        // stderr then holds nothing but a JSON error).
        const note = platformNote(config);
        if (note !== undefined && !deps.json) err(note);
      }
      return client;
    },
  };
}
