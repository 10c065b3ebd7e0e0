/**
 * instance: a cell that has loaded one function version and serves its invocations, up to the
 * function's concurrency at once. A timeout kills the process (JavaScript cannot be interrupted);
 * every invocation still running on it then ends as crashed. The timed-out invocation itself is
 * answered once the process is gone: answered earlier, its caller would release the instance to
 * the pool, which would hand the dying process to the next invocation.
 */
import type { SandboxMessage } from '../sandbox/protocol.js';
import type { HttpSink, InvokeOutcome, Sandbox, Work } from '../types.js';
import type { Cell } from './cell.js';

/** A little over the sandbox's own bound, which already truncates; this guards against a hostile instance. */
const LOG_LIMIT = 80 * 1024;

interface Pending {
  readonly sink: HttpSink | undefined;
  readonly resolve: (outcome: InvokeOutcome) => void;
  readonly timer: NodeJS.Timeout;
  streamed: boolean;
  logs: string;
  /** Past its deadline: the process is being killed; its late messages are ignored. */
  timedOut: boolean;
}

export class NodeInstance implements Sandbox {
  readonly id: string;
  readonly exited: Promise<string>;
  private readonly pending = new Map<string, Pending>();
  private timedOut = false;
  /** Why the process died, once it has. */
  private dead: string | undefined;

  constructor(private readonly cell: Cell) {
    this.id = cell.id;
    this.exited = cell.exited;
    cell.onMessage((m) => this.onMessage(m));
    void cell.exited.then((reason) => this.failAll(reason));
  }

  invoke(work: Work, sink?: HttpSink): Promise<InvokeOutcome> {
    if (this.dead !== undefined) {
      return Promise.resolve({ type: 'crashed', reason: this.dead, logs: '', streamed: false });
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.timeout(work.id), Math.max(0, work.deadline - Date.now()));
      this.pending.set(work.id, { sink, resolve, timer, streamed: false, logs: '', timedOut: false });
      this.cell.send({ t: 'invoke', ...work });
    });
  }

  stop(): void {
    void this.cell.dispose();
  }

  private settle(id: string, outcome: (p: Pending) => InvokeOutcome): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(outcome(p));
  }

  private onMessage(m: SandboxMessage): void {
    if ('id' in m && this.pending.get(m.id)?.timedOut) return;
    switch (m.t) {
      case 'log': {
        const p = this.pending.get(m.id);
        if (p && p.logs.length < LOG_LIMIT) p.logs += m.text;
        return;
      }
      case 'result':
        this.settle(m.id, (p) => ({
          type: 'ok',
          streamed: false,
          logs: p.logs + m.logs,
          ...(m.response ? { response: m.response } : {}),
          ...(m.json === undefined ? {} : { json: m.json }),
        }));
        return;
      case 'head': {
        const p = this.pending.get(m.id);
        if (p) p.streamed = true;
        p?.sink?.head(m.status, m.headers);
        return;
      }
      case 'chunk':
        this.pending.get(m.id)?.sink?.chunk(m.data);
        return;
      case 'end':
        this.settle(m.id, (p) => {
          p.sink?.end();
          return { type: 'ok', streamed: true, logs: p.logs + m.logs };
        });
        return;
      case 'error':
        this.settle(m.id, (p) => ({ type: 'error', error: m.error, logs: p.logs + m.logs }));
        return;
      default:
        return;
    }
  }

  /** Settled by failAll once the process has exited: its caller resumes after every watcher of `exited` (the pool) saw the death. */
  private timeout(id: string): void {
    const p = this.pending.get(id);
    if (!p) return;
    p.timedOut = true;
    this.timedOut = true;
    this.cell.kill();
  }

  private failAll(reason: string): void {
    const why = this.timedOut
      ? 'the instance was stopped because another invocation on it timed out'
      : reason;
    this.dead = why;
    for (const id of [...this.pending.keys()]) {
      this.settle(id, (p) =>
        p.timedOut
          ? { type: 'timeout', logs: p.logs, streamed: p.streamed }
          : { type: 'crashed', reason: why, logs: p.logs, streamed: p.streamed },
      );
    }
  }
}
