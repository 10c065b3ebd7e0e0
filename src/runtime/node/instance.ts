/**
 * instance: a cell that has loaded one function version and serves its invocations, up to the
 * function's concurrency at once. A timeout kills the process (JavaScript cannot be interrupted);
 * every invocation still running on it then ends as crashed. The timed-out invocation itself is
 * answered once the process is gone: answered earlier, its caller would release the instance to
 * the pool, which would hand the dying process to the next invocation.
 * What the instance sends is held to the protocol: per invocation, a head at most once, chunks only
 * after it, nothing after the end. A breach kills the instance (see wire.ts for why it can happen).
 */
import type { SandboxMessage } from '../sandbox/protocol.js';
import type { BindingHost, HttpSink, InvokeOutcome, Sandbox, WireError, Work } from '../types.js';
import type { Cell } from './cell.js';
import { cut } from './wire.js';

/** A little over the sandbox's own bound, which already truncates; this guards against a hostile instance. */
export const LOG_LIMIT = 80 * 1024;
const TRUNCATED = '\n[gust: log truncated]\n';
/** Binding calls one invocation may have waiting at once (a loop of un-awaited publishes is bounded). */
const MAX_CALLS_IN_FLIGHT = 100;
/**
 * An instance with no call to run that keeps a CPU busy (a loop a function left behind after it
 * answered) is stopped: it would spin unbilled until its next call timed out, blamed on that call.
 * Looked at every second (the first look takes the baseline); stopped once it has used over a tenth
 * of the time since, 500 ms at least.
 */
const IDLE_CHECK_MS = 1000;
const IDLE_CPU_SHARE = 0.1;
const IDLE_CPU_MIN_MS = 500;

/** running: no answer yet; streaming: the head went out, chunks and the end may follow. */
type Phase = 'running' | 'streaming';

interface Pending {
  readonly sink: HttpSink | undefined;
  readonly host: BindingHost | undefined;
  /** Binding calls made and not answered yet. */
  calls: number;
  readonly resolve: (outcome: InvokeOutcome) => void;
  readonly timer: NodeJS.Timeout;
  phase: Phase;
  logs: string;
  /** Past its deadline: the process is being killed; its late messages are ignored. */
  timedOut: boolean;
}

type InvocationMessage = Extract<SandboxMessage, { id: string }>;

export class NodeInstance implements Sandbox {
  readonly id: string;
  readonly exited: Promise<string>;
  private readonly pending = new Map<string, Pending>();
  private timedOut = false;
  /** Stopped, timed out or in breach: no new invocation may be sent to it. */
  private closing = false;
  /** Why the process died, once it has. */
  private dead: string | undefined;
  /**
   * Whether no call runs on it; once a check has looked, since when and its CPU time then. The
   * CPU time is read by the checks only, never when a call ends: /proc reads stay off the hot path.
   */
  private idle: { at: number; cpuMs: number } | 'since-last-call' | undefined;
  private readonly idleCheck: NodeJS.Timeout;

  constructor(
    private readonly cell: Cell,
    /** Its inspector's WebSocket URL, when it was started to be inspected. */
    readonly inspector?: string,
  ) {
    this.id = cell.id;
    this.exited = cell.exited;
    cell.onMessage((m) => this.onMessage(m));
    this.markIdle();
    this.idleCheck = setInterval(() => this.checkIdle(), IDLE_CHECK_MS);
    this.idleCheck.unref();
    void cell.exited.then((reason) => {
      clearInterval(this.idleCheck);
      this.failAll(reason);
    });
  }

  get accepting(): boolean {
    return !this.closing && this.dead === undefined;
  }

  invoke(work: Work, sink?: HttpSink, host?: BindingHost): Promise<InvokeOutcome> {
    if (this.dead !== undefined) {
      return Promise.resolve({ type: 'crashed', reason: this.dead, logs: '', streamed: false });
    }
    this.idle = undefined;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.timeout(work.id), Math.max(0, work.deadline - Date.now()));
      this.pending.set(work.id, {
        sink,
        host,
        calls: 0,
        resolve,
        timer,
        phase: 'running',
        logs: '',
        timedOut: false,
      });
      this.cell.send({ t: 'invoke', ...work });
    });
  }

  stop(): void {
    this.closing = true;
    void this.cell.dispose();
  }

  private settle(id: string, outcome: (p: Pending) => InvokeOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (this.pending.size === 0) this.markIdle();
    p.resolve(outcome(p));
  }

  private markIdle(): void {
    this.idle = 'since-last-call';
  }

  /** Stops an instance that burns CPU with no call to run (see IDLE_CPU_SHARE). */
  private checkIdle(): void {
    if (this.idle === undefined || this.pending.size > 0 || this.closing) return;
    const cpuMs = this.cell.cpuMs();
    if (cpuMs === undefined) return;
    if (this.idle === 'since-last-call') {
      this.idle = { at: Date.now(), cpuMs }; // the baseline; the next check compares
      return;
    }
    const idleMs = Date.now() - this.idle.at;
    const used = cpuMs - this.idle.cpuMs;
    if (used >= IDLE_CPU_MIN_MS && used > idleMs * IDLE_CPU_SHARE) {
      this.closing = true;
      this.cell.stopForIdleWork(
        `it kept running after its calls had answered (${Math.round(used)} ms of CPU in ${Math.round(idleMs)} ms without a call)`,
      );
    }
  }

  private onMessage(m: SandboxMessage): void {
    if (m.t === 'fatal') return; // the cell keeps it as the reason of the coming death
    if (!('id' in m)) {
      this.violate(`a '${m.t}' message after the function was loaded`);
      return;
    }
    const p = this.pending.get(m.id);
    if (m.t === 'call') {
      this.call(p, m);
      return;
    }
    if (m.t === 'log') {
      // Lines may come after the end (a stray timer holding ctx.log): they belong to no one.
      if (p && !p.timedOut) p.logs = appendLogs(p.logs, m.text);
      return;
    }
    if (!p) {
      this.violate(`a '${m.t}' message for invocation ${clipId(m.id)}, which is not running on it`);
      return;
    }
    if (p.timedOut) return;
    const breach = this.deliver(p, m);
    if (breach) this.violate(`invocation ${clipId(m.id)}: ${breach}`);
  }

  /** One step of the invocation's state machine; what is wrong with the message, if anything. */
  private deliver(p: Pending, m: Exclude<InvocationMessage, { t: 'log' }>): string | undefined {
    switch (m.t) {
      case 'head':
        if (p.phase !== 'running') return 'a second response head';
        p.phase = 'streaming';
        p.sink?.head(m.status, m.headers);
        p.sink?.onClose?.(() => {
          if (this.pending.get(m.id) === p) this.cell.send({ t: 'cancel', id: m.id });
        });
        return undefined;
      case 'chunk':
        if (p.phase !== 'streaming') return 'a body chunk before the response head';
        p.sink?.chunk(m.data);
        return undefined;
      case 'end':
        if (p.phase !== 'streaming') return 'the end of a response that has no head';
        this.settle(m.id, () => {
          p.sink?.end();
          return { type: 'ok', streamed: true, logs: appendLogs(p.logs, m.logs) };
        });
        return undefined;
      case 'result':
        if (p.phase !== 'running') return 'a whole result after a streamed head';
        this.settle(m.id, () => ({
          type: 'ok',
          streamed: false,
          logs: appendLogs(p.logs, m.logs),
          ...(m.response ? { response: m.response } : {}),
          ...(m.json === undefined ? {} : { json: m.json }),
        }));
        return undefined;
      case 'error':
        // Also after the head: a stream that failed midway.
        this.settle(m.id, () => ({ type: 'error', error: m.error, logs: appendLogs(p.logs, m.logs) }));
        return undefined;
    }
  }

  /**
   * A binding call, carried out by the invocation's host and answered with a `reply`. A call of an
   * invocation that has ended (a publish not awaited) is answered with an error, not a violation:
   * it is a bug of the function, not a breach of the protocol.
   */
  private call(p: Pending | undefined, m: Extract<SandboxMessage, { t: 'call' }>): void {
    const reply = (answer: { json?: string } | { error: WireError }) => {
      if (this.dead === undefined) this.cell.send({ t: 'reply', call: m.call, ...answer }, true);
    };
    if (!p || p.timedOut || !p.host) {
      reply({
        error: { name: 'InvocationEnded', message: `ctx.${m.op} was called after its invocation ended` },
      });
      return;
    }
    if (p.calls >= MAX_CALLS_IN_FLIGHT) {
      reply({
        error: { name: 'TooManyCalls', message: `more than ${MAX_CALLS_IN_FLIGHT} ctx calls at once` },
      });
      return;
    }
    p.calls++;
    void p.host(m.op, m.args).then((answer) => {
      p.calls--;
      reply(answer);
    });
  }

  /** Its invocations end as crashed once the process is gone (failAll), with the cell's reason. */
  private violate(why: string): void {
    this.closing = true;
    this.cell.violate(why);
  }

  /** Settled by failAll once the process has exited: its caller resumes after every watcher of `exited` (the pool) saw the death. */
  private timeout(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.timedOut = true;
    this.timedOut = true;
    this.closing = true;
    this.cell.kill();
  }

  private failAll(reason: string): void {
    const why = this.timedOut
      ? 'the instance was stopped because another invocation on it timed out'
      : reason;
    this.dead = why;
    for (const id of [...this.pending.keys()]) {
      this.settle(id, (p) => {
        const streamed = p.phase === 'streaming';
        return p.timedOut
          ? { type: 'timeout', logs: p.logs, streamed }
          : { type: 'crashed', reason: why, logs: p.logs, streamed };
      });
    }
  }
}

/** Logs kept per invocation stay within LOG_LIMIT, however much an instance sends. */
export function appendLogs(kept: string, text: string): string {
  const room = LOG_LIMIT - kept.length;
  if (text.length <= room) return kept + text;
  return room > 0 ? kept + cut(text, room) + TRUNCATED : kept;
}

const clipId = (id: string): string => JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id);
