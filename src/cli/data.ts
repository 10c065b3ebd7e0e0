/** data: the `--data` of a command (inline JSON, `@file.json`, or `-` for standard input), read as JSON. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MAX_JSON_DEPTH, nestsTooDeep } from '../lib/json-depth.js';
import { readStdin } from './ask.js';
import type { Cli } from './context.js';
import { usageError } from './fail.js';

export interface Data {
  readonly text: string;
  readonly value: unknown;
}

/** `--data '{"a":1}'`, `--data @event.json` or `--data -`; in any case JSON (a usage error if not). */
export async function readData(cli: Cli, arg: string): Promise<Data> {
  let text = arg;
  let source = 'value';
  if (arg === '-') {
    if (cli.stdin.isTTY === true) cli.note('reading the data from standard input (end it with Ctrl-D)…');
    text = (await readStdin(cli)).toString('utf8');
    source = '- (standard input)';
  } else if (arg.startsWith('@')) {
    const file = arg.slice(1);
    source = arg;
    try {
      text = await readFile(path.resolve(cli.cwd, file), 'utf8');
    } catch (e) {
      const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
      throw usageError(`--data ${arg}: cannot read ${file}: ${reason}`);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (e) {
    throw usageError(
      `--data ${source} is not valid JSON: ${(e as Error).message} (a string needs quotes: --data '"text"')`,
    );
  }
  if (nestsTooDeep(text)) {
    throw usageError(
      `--data ${source} nests arrays and objects over ${MAX_JSON_DEPTH} deep; Gust takes ${MAX_JSON_DEPTH} at most`,
    );
  }
  return { text, value };
}
