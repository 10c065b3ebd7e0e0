/**
 * log-tail: the new log entries of one or several functions as they are recorded (`gust logs
 * --follow`, `gust dev`), by polling the control API with a cursor per function. Each round asks
 * every function at once; a full page is followed at once so that a backlog catches up, an empty
 * round waits FOLLOW_INTERVAL_MS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LogEntry, LogsAnswer } from './api.js';
import type { GustClient, Query } from './client.js';

export const FOLLOW_INTERVAL_MS = 500;
/** Entries asked for per function and round (the platform's most). */
const PAGE = 1000;

export interface LogTailOptions {
  readonly client: GustClient;
  /** Each new entry; those of one round in the order their calls started. */
  readonly print: (name: string, entry: LogEntry) => void;
  /**
   * A round that failed (the platform stopped, say): told once until a round succeeds again, and
   * the tail goes on. Without it, `run` throws the error.
   */
  readonly failed?: (e: unknown) => void;
}

interface Followed {
  cursor: number;
  /** `--invocation ID`: only that invocation's entries (its retries come as new ones). */
  readonly invocation?: string | undefined;
}

export class LogTail {
  private readonly followed = new Map<string, Followed>();
  private failure: string | undefined;

  constructor(private readonly options: LogTailOptions) {}

  /**
   * Prints the last page of one function's logs (`limit` calls, the platform's 50 by default) and
   * follows it from there; how many entries the page had (undefined: stopped meanwhile).
   */
  async backlog(
    name: string,
    query: { readonly invocation?: string | undefined; readonly limit?: number | undefined },
    signal: AbortSignal,
  ): Promise<number | undefined> {
    const answer = await this.fetch(name, query, signal);
    if (answer === undefined) return undefined;
    for (const entry of answer.logs) this.options.print(name, entry);
    this.followed.set(name, { cursor: answer.cursor, invocation: query.invocation });
    return answer.logs.length;
  }

  /**
   * Follows exactly these functions from now on: one not followed yet from its newest entry (what
   * it logged before is not shown), and stops following the others. Resolves once every new
   * function's starting point is known, so that nothing logged after it is missed.
   */
  async only(names: readonly string[]): Promise<void> {
    for (const name of [...this.followed.keys()]) if (!names.includes(name)) this.followed.delete(name);
    const added = names.filter((name) => !this.followed.has(name));
    const starts = await Promise.all(added.map((name) => this.fetch(name, { limit: 1 })));
    added.forEach((name, i) => {
      this.followed.set(name, { cursor: starts[i]?.cursor ?? 0 });
    });
  }

  /** Rounds until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let full = false;
      try {
        full = await this.round(signal);
        this.failure = undefined;
      } catch (e) {
        if (signal.aborted) return;
        if (this.options.failed === undefined) throw e;
        const message = e instanceof Error ? e.message : String(e);
        if (message !== this.failure) this.options.failed(e);
        this.failure = message;
      }
      if (!full) await sleep(FOLLOW_INTERVAL_MS, undefined, { signal }).catch(() => {});
    }
  }

  /** One request per function; whether a page came back full (more is waiting). */
  private async round(signal: AbortSignal): Promise<boolean> {
    const asked = [...this.followed];
    const answers = await Promise.all(
      asked.map(([name, f]) =>
        this.fetch(name, { invocation: f.invocation, after: f.cursor, limit: PAGE }, signal),
      ),
    );
    const entries: { name: string; entry: LogEntry }[] = [];
    let full = false;
    asked.forEach(([name, f], i) => {
      const answer = answers[i];
      // dropped while asked (a redeploy without it), or stopped
      if (answer === undefined || this.followed.get(name) !== f) return;
      f.cursor = answer.cursor;
      full ||= answer.logs.length >= PAGE;
      for (const entry of answer.logs) entries.push({ name, entry });
    });
    entries.sort((a, b) => a.entry.start.localeCompare(b.entry.start));
    for (const { name, entry } of entries) this.options.print(name, entry);
    return full;
  }

  /** undefined when the signal aborted it. */
  private async fetch(name: string, query: Query, signal?: AbortSignal): Promise<LogsAnswer | undefined> {
    try {
      return await this.options.client.get<LogsAnswer>(`/functions/${encodeURIComponent(name)}/logs`, {
        query,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (e) {
      if (signal?.aborted === true) return undefined;
      throw e;
    }
  }
}
