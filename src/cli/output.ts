/**
 * output: `--json` prints exactly one JSON document on stdout, on one line (so a script can read it
 * from a process that keeps running, like `gust up`); otherwise readable text and tables.
 */

export interface Output {
  /** One line (or several, joined by newlines) on stdout. */
  out(text: string): void;
  /** Errors and diagnostics on stderr, never data. */
  err(text: string): void;
  /** Progress on stderr (`bundling…`), left out with --json: stderr then holds only a JSON error. */
  note(text: string): void;
}

export interface JsonFlag {
  readonly json?: boolean | undefined;
}

/** The one switch between machine and human output. An empty human text prints nothing. */
export function emit<T>(io: Output, flags: JsonFlag, data: T, human: (data: T) => string): void {
  if (flags.json === true) {
    io.out(JSON.stringify(data));
    return;
  }
  const text = human(data);
  if (text !== '') io.out(text);
}

/** Columns separated by two spaces; the last column is not padded. */
export function table(rows: readonly (readonly string[])[], headers?: readonly string[]): string {
  const all = headers === undefined ? rows : [headers, ...rows];
  const widths: number[] = [];
  for (const row of all) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 1000) return `${Math.round(ms * 10) / 10} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

/** An ISO time as local `YYYY-MM-DD HH:MM:SS`; what the server sent if it does not parse. */
export function formatTime(iso: string | null | undefined): string {
  if (iso === null || iso === undefined || iso === '') return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** An error field as one line, whether the server sent a string or `{name, message}`. */
export function oneLine(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value.split('\n')[0] ?? '';
  if (typeof value === 'object' && 'message' in value && typeof value.message === 'string') {
    const name = 'name' in value && typeof value.name === 'string' ? `${value.name}: ` : '';
    return `${name}${value.message.split('\n')[0] ?? ''}`;
  }
  return JSON.stringify(value);
}
