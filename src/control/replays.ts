/**
 * replays: the replays running under the debugger (`gust replay --inspect`), by the id of the new
 * invocation. Such a replay outlives the request that started it (it waits for a person at a
 * debugger): the CLI asks for its result again and again (`result`, each ask waiting a while), and
 * stops it on Ctrl-C. One that nobody asks about for a minute is stopped (its CLI went away, or was
 * killed), so an instance never waits for a debugger that will not come. A result is kept a minute
 * after its end, for an ask that was under way. In memory: a restart ends them all.
 */
import type { Apart } from '../dispatch/dispatcher.js';
import { GustError } from '../errors.js';

/** Where a debugger attaches. */
export interface Inspector {
  readonly host: string;
  readonly port: number;
  /** The inspector's WebSocket URL. */
  readonly url: string;
  /** Chrome's DevTools front end for it (paste it in the address bar). */
  readonly devtools: string;
}

/** How long a replay may run under the debugger: a session paused at a breakpoint is not cut short. */
export const INSPECT_TIMEOUT_MS = 3_600_000;
/** Replays under a debugger at once, at most: each holds a process of its own. */
const MAX_RUNNING = 8;
const ABANDONED_MS = 60_000;
const KEPT_AFTER_END_MS = 60_000;
const CHECK_EVERY_MS = 10_000;

interface Running {
  readonly done: Promise<unknown>;
  answer: unknown;
  ended: boolean;
  stop: () => void;
  /** When it was last asked about (epoch ms), and how many asks wait for it now. */
  seen: number;
  waiting: number;
}

export class InspectedReplays {
  private readonly replays = new Map<string, Running>();
  private timer: NodeJS.Timeout | undefined;

  /**
   * Runs it (`run` is given the Apart that opens the inspector) and resolves once its inspector
   * listens, or with its answer when it ended before (its function failed to start).
   */
  async start(
    id: string,
    run: (apart: Apart) => Promise<unknown>,
  ): Promise<{ inspector: Inspector } | { answer: unknown }> {
    const running = [...this.replays.values()].filter((r) => !r.ended).length;
    if (running >= MAX_RUNNING) {
      throw new GustError(
        'THROTTLED',
        `${running} replays are under a debugger already, as many as run at once: end one (Ctrl-C in its gust replay) first`,
      );
    }
    let listening: (instance: { inspector: string | undefined; stop(): void }) => void = () => {};
    const started = new Promise<{ inspector: string | undefined; stop(): void }>((resolve) => {
      listening = resolve;
    });
    const entry: Running = {
      done: run({ inspect: true, timeoutMs: INSPECT_TIMEOUT_MS, started: (i) => listening(i) }),
      answer: undefined,
      ended: false,
      stop: () => {},
      seen: Date.now(),
      waiting: 0,
    };
    this.replays.set(id, entry);
    this.watch();
    void entry.done.then(
      (answer) => this.ended(id, entry, answer),
      () => this.replays.delete(id),
    );
    const first = await Promise.race([started, entry.done.then((answer) => ({ answer }))]);
    if ('answer' in first) return first;
    entry.stop = first.stop;
    if (first.inspector === undefined)
      throw new GustError('INTERNAL', 'the inspected instance has no inspector');
    return { inspector: inspectorAt(first.inspector) };
  }

  /** Its answer once it has ended, waiting up to `waitMs`; undefined while it still runs. */
  async result(id: string, waitMs: number): Promise<unknown> {
    const entry = this.need(id);
    entry.seen = Date.now();
    if (entry.ended) return entry.answer;
    entry.waiting++;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      return await Promise.race([entry.done, late]);
    } finally {
      clearTimeout(timer);
      entry.waiting--;
      entry.seen = Date.now();
    }
  }

  /** Stops it: its invocation ends `rejected` (stopped before it ended). */
  stop(id: string): void {
    this.need(id).stop();
  }

  private need(id: string): Running {
    const entry = this.replays.get(id);
    if (!entry) {
      throw new GustError(
        'NOT_FOUND',
        `no replay ${id.slice(0, 60)} under way here (a replay's result is kept a minute after it ends; its record stays: gust logs NAME --invocation ID)`,
      );
    }
    return entry;
  }

  private ended(id: string, entry: Running, answer: unknown): void {
    entry.answer = answer;
    entry.ended = true;
    setTimeout(() => {
      if (this.replays.get(id) === entry) this.replays.delete(id);
    }, KEPT_AFTER_END_MS).unref();
  }

  /** Stops those nobody asks about; looks only while there are some. */
  private watch(): void {
    this.timer ??= setInterval(() => {
      const now = Date.now();
      for (const entry of this.replays.values()) {
        if (!entry.ended && entry.waiting === 0 && now - entry.seen > ABANDONED_MS) entry.stop();
      }
      if (this.replays.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, CHECK_EVERY_MS).unref();
  }
}

function inspectorAt(url: string): Inspector {
  const { hostname, port, pathname } = new URL(url);
  const where = `${hostname}:${port}${pathname}`;
  return {
    host: hostname,
    port: Number(port),
    url,
    devtools: `devtools://devtools/bundled/js_app.html?experiments=true&v8only=true&ws=${where}`,
  };
}
