/** context: what every command gets from main: the environment, the folder, output, and a client. */
import type { ClientConfig, Env } from '../config/config.js';
import { GustClient } from './client.js';
import type { Output } from './output.js';

export interface Cli extends Output {
  readonly env: Env;
  readonly cwd: string;
  /** Standard input: `--data -`, keys for `gust login`, answers to questions. */
  readonly stdin: NodeJS.ReadStream;
  /** Whether a person is there to answer a question (stdin and stderr are terminals). */
  readonly interactive: boolean;
  /** Made on first use, so commands that never call the API never read a key. */
  client(): GustClient;
}

export interface CliDeps {
  readonly env: Env;
  readonly cwd: string;
  readonly clientConfig: ClientConfig;
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WriteStream;
}

export function createCli(deps: CliDeps): Cli {
  let client: GustClient | undefined;
  return {
    env: deps.env,
    cwd: deps.cwd,
    stdin: deps.stdin,
    interactive: deps.stdin.isTTY === true && deps.stderr.isTTY === true,
    out: (text) => deps.stdout.write(`${text}\n`),
    err: (text) => deps.stderr.write(`${text}\n`),
    client: () => {
      client ??= new GustClient(deps.clientConfig);
      return client;
    },
  };
}
