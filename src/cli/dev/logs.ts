/**
 * logs: what `gust dev` prints of each invocation of the project's functions, as `gust logs`
 * finds them (the same API, the same tail): every line under the function's name, then how the
 * call ended. Coloured on a terminal: the name (one colour per function), the status (green ok,
 * red otherwise) and a failure's error and stack in red.
 */
import type { LogEntry } from '../api.js';
import type { Palette } from '../colors.js';
import { entryLines } from '../commands/logs.js';
import { formatMs } from '../output.js';

/**
 * ```
 * hello  2026-11-30T12:00:03.120Z	INFO	pricing B-2
 * hello  ok 3.2 ms · v4 · 0194f3…
 * ```
 * `width`: the longest name followed, so that the lines of several functions align.
 */
export function devLogLines(name: string, entry: LogEntry, colors: Palette, width: number): string[] {
  const label = colors.name(name)(name.padEnd(width));
  const { logged, failure } = entryLines(entry);
  const ok = entry.status === 'ok';
  const status = ok ? colors.green(entry.status) : colors.red(entry.status);
  // A platform older than version and duration in log entries sends neither.
  const about = [
    entry.durationMs === undefined ? '' : ` ${formatMs(entry.durationMs)}`,
    colors.dim(`${entry.version === undefined ? '' : ` · v${entry.version}`} · ${entry.invocation}`),
  ].join('');
  return [
    ...logged.map((line) => `${label}  ${line}`),
    `${label}  ${status}${about}`,
    ...failure.map((line) => `${label}  ${colors.red(line)}`),
  ];
}
