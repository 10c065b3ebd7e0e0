/**
 * A `gust` command that keeps running (`gust dev`), as a user runs it: a real process whose
 * output the test waits on, a line at a time, and stops with a signal. Killed after the test file
 * if the test did not stop it.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import os from 'node:os';
import { vi } from 'vitest';
import { BIN, CONFIG_HOME, tracked, WAIT } from './gust.js';

export interface Running {
  readonly pid: number;
  /** All it wrote so far on stdout, on stderr. */
  stdout(): string;
  stderr(): string;
  /**
   * The first match of `re` in what `stream` holds past `from` (characters; default: all), once it
   * is there. Rejects when the process exits first, with what it wrote.
   */
  waitFor(stream: 'stdout' | 'stderr', re: RegExp, from?: number): Promise<RegExpExecArray>;
  /** Sends the signal and resolves with the exit code (null: killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export interface RunningOptions {
  readonly env?: Record<string, string>;
  readonly cwd?: string;
}

export function runGust(args: readonly string[], options: RunningOptions = {}): Running {
  const child: ChildProcessWithoutNullStreams = tracked(
    spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? os.tmpdir(),
      env: {
        PATH: process.env.PATH ?? '',
        XDG_CONFIG_HOME: CONFIG_HOME,
        TMPDIR: os.tmpdir(),
        GUST_STEM_CELLS: '1',
        ...options.env,
      },
    }),
  );
  const text = { stdout: '', stderr: '' };
  child.stdout.on('data', (b: Buffer) => {
    text.stdout += b.toString();
  });
  child.stderr.on('data', (b: Buffer) => {
    text.stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ended = exited.then((code) => {
    throw new Error(`gust ${args.join(' ')} exited (${code}):\n${text.stderr}\n${text.stdout}`);
  });
  ended.catch(() => {}); // only a waitFor that loses the race reports it
  return {
    pid: child.pid!,
    stdout: () => text.stdout,
    stderr: () => text.stderr,
    waitFor: (stream, re, from = 0) =>
      Promise.race([
        vi.waitFor(() => {
          const m = re.exec(text[stream].slice(from));
          if (m === null) throw new Error(`no match of ${re} on ${stream} yet:\n${text[stream].slice(from)}`);
          return m;
        }, WAIT),
        ended,
      ]),
    stop: (signal = 'SIGINT') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
    exited,
  };
}
