/** ask: questions to the person at the terminal, and standard input read whole. */
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Cli } from './context.js';

/** A yes/no question; anything but y or yes is no. */
export async function confirm(cli: Cli, question: string): Promise<boolean> {
  const rl = createInterface({ input: cli.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/**
 * One line typed without being shown (a key): readline echoes what is typed to its output, so
 * its output goes nowhere and only the question is written.
 */
export async function askSecret(cli: Cli, question: string): Promise<string> {
  process.stderr.write(question);
  const nowhere = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: cli.stdin, output: nowhere, terminal: true });
  try {
    return (await rl.question('')).trim();
  } finally {
    rl.close();
    process.stderr.write('\n');
  }
}

/** All of standard input, up to its end (a pipe, a file, or Ctrl-D at a terminal). */
export async function readStdin(cli: Cli): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of cli.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
