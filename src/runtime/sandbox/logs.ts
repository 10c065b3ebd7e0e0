/**
 * logs: console output of the function, captured per invocation (AsyncLocalStorage) and
 * bounded in size. Output written while no invocation runs (module init) goes to the init buffer,
 * which the host attaches to the cold invocation, as Lambda does with INIT logs.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { format } from 'node:util';
import { cleanText } from './stack.js';

export const LOG_LIMIT_BYTES = 64 * 1024;

/**
 * Lines of one invocation go to the host as they are written (`emit`), so that what a function
 * printed before it crashed or hung is kept; the init buffer (no emitter) keeps them until `take`.
 */
export class LogBuffer {
  private text = '';
  private size = 0;
  private truncated = false;

  constructor(private readonly emit?: (text: string) => void) {}

  add(level: string, message: string): void {
    if (this.truncated) return;
    // A stack the function prints reads as the ones in its records.
    let line = `${new Date().toISOString()}\t${level}\t${cleanText(message)}\n`;
    if (this.size + line.length > LOG_LIMIT_BYTES) {
      line = `${line.slice(0, Math.max(0, LOG_LIMIT_BYTES - this.size))}\n[gust: log truncated at ${LOG_LIMIT_BYTES / 1024} KiB]\n`;
      this.truncated = true;
    }
    this.size += line.length;
    if (this.emit) this.emit(line);
    else this.text += line;
  }

  take(): string {
    const text = this.text;
    this.text = '';
    this.truncated = false;
    return text;
  }
}

export const initLogs = new LogBuffer();

/**
 * Whose lines these are. With one invocation at a time, simply the one running; with several at
 * once, AsyncLocalStorage tells them apart, at the price of promise hooks that slow every
 * invocation by a few microseconds, so it is used only then.
 */
const concurrentOwner = new AsyncLocalStorage<LogBuffer>();
let concurrent = false;
let soleOwner: LogBuffer | undefined;

export function setConcurrent(yes: boolean): void {
  concurrent = yes;
}

export function runWithLogs<T>(buffer: LogBuffer, fn: () => T): T {
  if (concurrent) return concurrentOwner.run(buffer, fn);
  soleOwner = buffer;
  return fn();
}

/** Lines written after the invocation ended (a stray timer) belong to no one. */
export function endLogs(buffer: LogBuffer): void {
  if (soleOwner === buffer) soleOwner = undefined;
}

const owner = (): LogBuffer => (concurrent ? concurrentOwner.getStore() : soleOwner) ?? initLogs;

const LEVELS = {
  log: 'INFO',
  info: 'INFO',
  warn: 'WARN',
  error: 'ERROR',
  debug: 'DEBUG',
  trace: 'TRACE',
} as const;

/**
 * Replaces the console methods, and direct writes to stdout/stderr (loggers such as pino use
 * those), so that every line lands in the buffer of the invocation that wrote it.
 */
export function captureConsole(): void {
  for (const [method, level] of Object.entries(LEVELS)) {
    (console as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
      owner().add(level, format(...args));
    };
  }
  captureStream(process.stdout, 'INFO');
  captureStream(process.stderr, 'ERROR');
}

function captureStream(stream: NodeJS.WriteStream, level: string): void {
  stream.write = ((chunk: unknown, encoding?: unknown, callback?: unknown) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    owner().add(level, text.replace(/\n$/, ''));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') queueMicrotask(() => (done as () => void)());
    return true;
  }) as typeof stream.write;
}

/** `ctx.log`: a console-like logger bound to one invocation, usable from callbacks that lost the async context. */
export class InvocationLogger {
  constructor(private readonly buffer: LogBuffer) {}
  log(...args: unknown[]): void {
    this.buffer.add(LEVELS.log, format(...args));
  }
  info(...args: unknown[]): void {
    this.buffer.add(LEVELS.info, format(...args));
  }
  warn(...args: unknown[]): void {
    this.buffer.add(LEVELS.warn, format(...args));
  }
  error(...args: unknown[]): void {
    this.buffer.add(LEVELS.error, format(...args));
  }
  debug(...args: unknown[]): void {
    this.buffer.add(LEVELS.debug, format(...args));
  }
  trace(...args: unknown[]): void {
    this.buffer.add(LEVELS.trace, format(...args));
  }
}
