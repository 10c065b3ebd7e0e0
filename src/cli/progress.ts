/**
 * progress: one line on stderr that says how long work is going (`bundling 3/12 orders…`), for a
 * person at a terminal. Each update rewrites the line in place; `done` clears it, so what follows
 * starts on a clean line. Lines the CLI prints while it is drawn (`gust dev`'s logs during a deploy)
 * go through `around`, which clears it first and draws it again below them: they never land on it.
 * Not a terminal (a pipe, a file, a CI log) or `--json`: nothing at all,
 * since lines rewritten with carriage returns are noise in a log and stderr then holds only errors.
 */

export interface Progress {
  /** The line now, replacing the one before. */
  update(text: string): void;
  /** Clears the line (when one was drawn). */
  done(): void;
}

/** The CLI's one progress line (Cli.progress), and the door of every other line it prints. */
export interface StatusLine extends Progress {
  /** Runs `write` (a whole line, on stdout or stderr) with the progress line out of its way. */
  around(write: () => void): void;
}

/** What is drawn on: stderr, or a fake terminal in tests. */
export interface ProgressStream {
  readonly isTTY?: boolean;
  /** The terminal's width: a longer line would wrap, and `\r` would then rewrite only its end. */
  readonly columns?: number;
  write(text: string): unknown;
}

const CLEAR_LINE = '\r\x1b[K';
const QUIET: StatusLine = { update: () => {}, done: () => {}, around: (write) => write() };

export function progressLine(stream: ProgressStream, enabled = true): StatusLine {
  if (!enabled || stream.isTTY !== true) return QUIET;
  let drawn = '';
  return {
    update(text) {
      // a terminal of unknown width (0: under `script`, say) is taken as 80 columns
      const columns = stream.columns !== undefined && stream.columns > 0 ? stream.columns : 80;
      const width = columns - 1;
      const line = text.length > width ? `${text.slice(0, width - 1)}…` : text;
      if (line === drawn) return;
      drawn = line;
      stream.write(`${CLEAR_LINE}${line}`);
    },
    done() {
      if (drawn === '') return;
      drawn = '';
      stream.write(CLEAR_LINE);
    },
    around(write) {
      if (drawn === '') return write();
      stream.write(CLEAR_LINE);
      write();
      stream.write(drawn);
    },
  };
}

/** `bundling 3/12 orders…`: for bundleFunctions' progress callback. */
export function bundlingProgress(progress: Progress): (done: number, total: number, name: string) => void {
  return (done, total, name) => progress.update(`bundling ${done}/${total} ${name}…`);
}
