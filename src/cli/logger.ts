/**
 * logger: the platform's pino logger for `gust up`. JSON lines on stderr when it is piped (for log
 * collectors); a short human line per record on a terminal, without extra dependencies.
 */
import { type Logger, pino } from 'pino';
import type { PlatformConfig } from '../config/config.js';

const LEVEL_NAMES: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export function createLogger(level: PlatformConfig['logLevel'], stream: NodeJS.WriteStream): Logger {
  const options = { level, base: null };
  if (!stream.isTTY) return pino(options, stream);
  return pino(options, { write: (line: string) => stream.write(humanLine(line)) });
}

/** `12:00:03 INFO  deployed name=api version=3` */
function humanLine(json: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof record.time === 'number' ? new Date(record.time).toTimeString().slice(0, 8) : '';
  // pino serializes errors as {type, message, stack}: show `err=Error: message`, then the stack
  const err = record.err as { type?: string; message?: string; stack?: unknown } | undefined;
  if (err !== undefined) record.err = `${err.type ?? 'Error'}: ${err.message ?? ''}`;
  const level = (LEVEL_NAMES[Number(record.level)] ?? String(record.level)).padEnd(5);
  const fields = Object.entries(record)
    .filter(([key]) => !OMITTED.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  const stack =
    typeof err?.stack === 'string' ? `\n  ${err.stack.split('\n').slice(1).join('\n  ').trim()}` : '';
  return `${[time, level, String(record.msg ?? ''), ...fields].join(' ')}${stack}\n`;
}
