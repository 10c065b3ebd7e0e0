/**
 * cell: one Node child process under the permission model, before and after it takes a function.
 * It can read only the sandbox runtime and its own folder, write nothing, start no process or
 * worker, load no addon; its environment is empty; its heap is capped; it dies with the platform
 * (PR_SET_PDEATHSIG through setpriv, and it exits itself when the IPC channel closes).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { encodeHost, Outbox } from '../sandbox/codec.js';
import type { HostMessage, SandboxMessage } from '../sandbox/protocol.js';
import { readSandboxMessage } from './wire.js';

export interface CellOptions {
  readonly id: string;
  /** The copied sandbox runtime (main.js and siblings). */
  readonly runtimeDir: string;
  /** This cell's own folder, the only other place it may read. */
  readonly dir: string;
  readonly memoryMb: number;
  /** Run as this uid/gid (only when the platform runs as root). */
  readonly uid: number | undefined;
}

const STDERR_TAIL = 4096;
const SETPRIV = '/usr/bin/setpriv';
const permissionFlag =
  Number(process.versions.node.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';

function command(opts: CellOptions): { file: string; args: string[] } {
  const node = [
    process.execPath,
    permissionFlag,
    '--disable-warning=ExperimentalWarning',
    `--allow-fs-read=${opts.runtimeDir}${path.sep}`,
    `--allow-fs-read=${opts.dir}${path.sep}`,
    `--max-old-space-size=${opts.memoryMb}`,
    path.join(opts.runtimeDir, 'main.js'),
  ];
  if (!existsSync(SETPRIV)) return { file: node[0]!, args: node.slice(1) };
  const user = opts.uid === undefined ? [] : [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups'];
  // pdeathsig last: a change of uid clears it.
  return { file: SETPRIV, args: [...user, '--pdeathsig=SIGKILL', ...node] };
}

export class Cell {
  readonly id: string;
  readonly dir: string;
  readonly memoryMb: number;
  readonly ready: Promise<boolean>;
  readonly exited: Promise<string>;
  private readonly child: ChildProcess;
  private stderrTail = '';
  private fatal: string | undefined;
  /** Why the instance was killed for what it sent, if it was. */
  private violation: string | undefined;
  /** The channel failed (EPIPE on a send): what was sent may be lost, so the cell is killed. */
  private channelError: string | undefined;
  private becameReady: (ready: boolean) => void = () => {};
  private listener: ((message: SandboxMessage) => void) | undefined;
  private readonly outbox = new Outbox((batch) => {
    if (this.child.connected) this.child.send(batch);
  });

  private constructor(opts: CellOptions) {
    this.id = opts.id;
    this.dir = opts.dir;
    this.memoryMb = opts.memoryMb;
    const { file, args } = command(opts);
    this.child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: {},
      serialization: 'json',
    });
    this.child.stdout?.on('data', (b: Buffer) => this.keepTail(b));
    this.child.stderr?.on('data', (b: Buffer) => this.keepTail(b));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve(this.deathReason(code, signal)));
      // Not `once`: errors also come after the start, and one without a listener would kill Gust.
      this.child.on('error', (e) => {
        // A process that never started has no exit to wait for.
        if (this.child.pid === undefined) resolve(`the instance could not start: ${e.message}`);
        else {
          this.channelError ??= e.message;
          this.kill();
        }
      });
    });
    this.ready = new Promise((resolve) => {
      this.becameReady = resolve;
      void this.exited.then(() => resolve(false));
    });
    this.child.on('message', (batch: unknown) => this.receive(batch));
  }

  static async spawn(opts: CellOptions): Promise<Cell> {
    await mkdir(opts.dir, { recursive: true, mode: 0o755 });
    return new Cell(opts);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  onMessage(listener: (message: SandboxMessage) => void): void {
    this.listener = listener;
  }

  /** Queued for this turn's batch; `now`: at once (an answer a function is waiting for). */
  send(message: HostMessage, now = false): void {
    this.outbox.push(encodeHost(message), now);
  }

  /** The instance broke the protocol: it is killed, and that is the reason its invocations hear. */
  violate(why: string): void {
    this.violation ??= why;
    this.kill();
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  async dispose(): Promise<void> {
    this.kill();
    await this.exited;
    await rm(this.dir, { recursive: true, force: true }).catch(() => {});
  }

  /**
   * Nothing that arrives is trusted: a batch that is not an array, a malformed message, or one the
   * listener refuses (it calls `violate`, or throws: a sink that refused it) kills the instance,
   * never the platform. Whatever follows a violation is ignored.
   */
  private receive(batch: unknown): void {
    if (this.violation !== undefined) return;
    try {
      if (!Array.isArray(batch)) {
        this.violate(`a message batch is ${batch === null ? 'null' : typeof batch}, not an array`);
        return;
      }
      for (const raw of batch) {
        const read = readSandboxMessage(raw);
        if (!read.ok) {
          this.violate(read.why);
          return;
        }
        const m = read.message;
        if (m.t === 'ready') this.becameReady(true);
        else if (m.t === 'fatal') this.fatal = `${m.error.name}: ${m.error.message}`;
        this.listener?.(m);
        if (this.violation !== undefined) return;
      }
    } catch (e) {
      this.violate(`its message could not be handled: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private keepTail(chunk: Buffer): void {
    this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
  }

  private deathReason(code: number | null, signal: NodeJS.Signals | null): string {
    if (this.violation) return `protocol violation: ${this.violation}`;
    if (this.fatal) return `the function crashed: ${this.fatal}`;
    if (/heap out of memory|Reached heap limit/.test(this.stderrTail)) {
      return `out of memory: the function went past its ${this.memoryMb} MB heap limit`;
    }
    if (this.channelError) return `the channel to the instance failed: ${this.channelError}`;
    if (signal) return `the instance was killed by ${signal}`;
    return `the instance exited with code ${code ?? '?'} (process.exit or a fatal error)`;
  }
}
