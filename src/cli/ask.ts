/** ask: a yes/no question to the person at the terminal; anything but y or yes is no. */
import { createInterface } from 'node:readline/promises';
import type { Cli } from './context.js';

export async function confirm(cli: Cli, question: string): Promise<boolean> {
  const rl = createInterface({ input: cli.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
