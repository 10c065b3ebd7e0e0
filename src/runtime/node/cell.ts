/**
 * cell: one Node child process under the permission model, before and after it takes a function.
 * It can read only the sandbox runtime and its own folder, write nothing, start no process or
 * worker, load no addon; its environment is empty; its heap is capped; it dies with the platform
 * (PR_SET_PDEATHSIG through setpriv, and it exits itself when its channel closes).
 * Around that, what the operating system adds (`command`, the one place the command is made):
 * - as root, its own uid (uids.ts) and a memory cgroup (cgroup.ts) that bounds the whole process;
 * - not root, its own user and PID namespaces (util-linux `unshare`): it sees and can signal no
 *   process but itself, and RLIMIT_DATA (`prlimit`) bounds its memory where no cgroup can;
 * - with `egress: none`, a network namespace without interfaces (inside the user namespace when
 *   not root).
 * A cell started to be inspected (gust replay --inspect) has the inspector on 127.0.0.1 instead of
 * the permission model, which allows none; what it starts is killed with it (its cgroup, or its PID
 * namespace).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { encodeHost, Outbox } from '../sandbox/codec.js';
import type { HostMessage, SandboxMessage } from '../sandbox/protocol.js';
import type { CellGroup } from './cgroup.js';
import { LineReader } from './channel.js';
import { readSandboxMessage } from './wire.js';

/**
 * How a cell is kept from the platform and the other cells, chosen once per platform (factory):
 * `uid` as root, `namespaces` otherwise, `shared` where neither can be had (said in the log).
 */
export type Isolation =
  | { readonly kind: 'uid'; readonly uid: number }
  | { readonly kind: 'namespaces' }
  | { readonly kind: 'shared' };

export type Egress = 'open' | 'none';

export interface CellOptions {
  readonly id: string;
  /** The copied sandbox runtime (main.js and siblings). */
  readonly runtimeDir: string;
  /** This cell's own folder, the only other place it may read. */
  readonly dir: string;
  readonly memoryMb: number;
  readonly isolation: Isolation;
  /** `none`: a network namespace without interfaces (needs `uid` or `namespaces` isolation). */
  readonly egress: Egress;
  /** The memory cgroup the process joins at spawn, before it is ready; else `dataLimitBytes` applies. */
  readonly group: CellGroup | undefined;
  /** RLIMIT_DATA of the process when it has no group (bytes). */
  readonly dataLimitBytes: number | undefined;
  /**
   * The inspector open on 127.0.0.1 (a port of its own): then without Node's permission model,
   * which allows no inspector. Only for one call under the debugger (factory.ts).
   */
  readonly inspect?: boolean;
  /** With `inspect`: the inspector's port; absent: any free one. */
  readonly inspectPort?: number;
}

const STDERR_TAIL = 4096;
/** How the death of an instance stopped for work left running starts (the factory logs those). */
export const IDLE_WORK = 'stopped: ';
/** /proc counts CPU time in clock ticks: 100 a second on Linux (USER_HZ). */
const MS_PER_TICK = 10;

/** utime + stime of a process, in ticks (fields 14 and 15 of /proc/PID/stat, after its name). */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
const SETPRIV = '/usr/bin/setpriv';
const UNSHARE = '/usr/bin/unshare';
const PRLIMIT = '/usr/bin/prlimit';
const permissionFlag =
  Number(process.versions.node.split('.')[0]) >= 22 ? '--permission' : '--experimental-permission';

/** The util-linux tools a cell's command uses, where this machine has them. */
export const tools = {
  setpriv: existsSync(SETPRIV),
  unshare: existsSync(UNSHARE),
  prlimit: existsSync(PRLIMIT),
} as const;

/**
 * The whole command of a cell, each wrapper exec'ing the next (so `uid` and `shared` cells are one
 * process from spawn to node, and the host can move that pid into its cgroup):
 *   uid:        [prlimit] [unshare --net] setpriv --reuid --regid --clear-groups --pdeathsig node
 *   namespaces: setpriv --pdeathsig [prlimit] unshare --user --pid --fork --kill-child [--net] node
 * Root's `unshare --net` comes before setpriv drops the uid it needs. The namespaced cell is two
 * processes: unshare (the pid the host holds, dying with the host by its pdeathsig, kept across
 * exec and the new user namespace) and node, pid 1 of its namespace, killed with unshare by
 * --kill-child; node inherits the channel's fd. Its uid inside is the overflow id (no mapping):
 * it holds no capability, even in its own namespace.
 */
export function command(opts: CellOptions): { file: string; args: string[] } {
  // the inspector instead of the permission model, which allows none
  const permission = opts.inspect ? `--inspect=127.0.0.1:${opts.inspectPort ?? 0}` : permissionFlag;
  const reads = opts.inspect
    ? []
    : [`--allow-fs-read=${opts.runtimeDir}${path.sep}`, `--allow-fs-read=${opts.dir}${path.sep}`];
  const node = [
    process.execPath,
    permission,
    '--disable-warning=ExperimentalWarning',
    ...reads,
    `--max-old-space-size=${opts.memoryMb}`,
    path.join(opts.runtimeDir, 'main.js'),
  ];
  const limit = opts.dataLimitBytes === undefined ? [] : [PRLIMIT, `--data=${opts.dataLimitBytes}`];
  const net = opts.egress === 'none' ? ['--net'] : [];
  const pdeathsig = tools.setpriv ? [SETPRIV, '--pdeathsig=SIGKILL'] : [];
  let argv: string[];
  switch (opts.isolation.kind) {
    case 'uid': {
      const { uid } = opts.isolation;
      const unshare = opts.egress === 'none' ? [UNSHARE, ...net] : [];
      // pdeathsig after the change of uid, which clears it.
      const user = [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--pdeathsig=SIGKILL'];
      argv = [...limit, ...unshare, ...user, ...node];
      break;
    }
    case 'namespaces':
      argv = [...pdeathsig, ...limit, UNSHARE, '--user', '--pid', '--fork', '--kill-child', ...net, ...node];
      break;
    case 'shared':
      argv = [...limit, ...pdeathsig, ...node];
      break;
  }
  return { file: argv[0]!, args: argv.slice(1) };
}

export class Cell {
  readonly id: string;
  readonly dir: string;
  readonly memoryMb: number;
  /** How its memory is bounded, for the reason of an out-of-memory death. */
  private readonly memoryBound: 'cgroup' | 'rlimit' | 'heap';
  private readonly group: CellGroup | undefined;
  readonly ready: Promise<boolean>;
  readonly exited: Promise<string>;
  /** The inspector's WebSocket URL once node has said it on stderr (`inspect`); undefined if it died first. */
  readonly inspector: Promise<string | undefined>;
  private readonly child: ChildProcess;
  private readonly inspectPort: number;
  private stderrTail = '';
  private fatal: string | undefined;
  /** Why the instance was killed for what it sent, if it was. */
  private violation: string | undefined;
  /** Why it was stopped with no call running (stopForIdleWork), if it was. */
  private idleWork: string | undefined;
  /** Why a started process was killed before it could be ready. */
  private startFailure: string | undefined;
  /** The channel failed (EPIPE on a send): what was sent may be lost, so the cell is killed. */
  private channelError: string | undefined;
  private becameReady: (ready: boolean) => void = () => {};
  private listener: ((message: SandboxMessage) => void) | undefined;
  /** fd 3 of the instance: one JSON batch per line each way (channel.ts says why not Node's IPC). */
  private readonly channel: Duplex;
  private readonly outbox = new Outbox((batch) => {
    if (this.channel.writable) this.channel.write(`${JSON.stringify(batch)}\n`);
  });

  private constructor(opts: CellOptions) {
    this.id = opts.id;
    this.inspectPort = opts.inspectPort ?? 0;
    this.dir = opts.dir;
    this.memoryMb = opts.memoryMb;
    this.group = opts.group;
    this.memoryBound = opts.group ? 'cgroup' : opts.dataLimitBytes === undefined ? 'heap' : 'rlimit';
    const { file, args } = command(opts);
    this.child = spawn(file, args, {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env: {},
    });
    // A spawn that failed still has its pipes; they never carry anything.
    this.channel = this.child.stdio[3] as Duplex;
    this.child.stdout?.on('data', (b: Buffer) => this.keepTail(b));
    this.child.stderr?.on('data', (b: Buffer) => this.keepTail(b));
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        // The group is read for an OOM kill before it goes.
        void this.deathReason(code, signal).then(async (reason) => {
          // without the permission model (inspect) it may have started processes: none outlives it
          if (opts.inspect) await this.group?.killAll();
          await this.group?.remove();
          resolve(reason);
        });
      });
      // Not `once`: errors also come after the start, and one without a listener would kill Gust.
      this.child.on('error', (e) => {
        // A process that never started has no exit to wait for.
        if (this.child.pid === undefined) {
          void this.group?.remove();
          resolve(`the instance could not start: ${e.message}`);
        } else this.failChannel(e);
      });
    });
    this.inspector = opts.inspect ? this.inspectorUrl() : Promise.resolve(undefined);
    // Ready once it says so and is in its group: no function code is sent to it before.
    const joined = this.joinGroup();
    this.ready = new Promise<boolean>((resolve) => {
      this.becameReady = resolve;
      void this.exited.then(() => resolve(false));
    }).then(async (ready) => ready && (await joined));
    const reader = new LineReader((line) => {
      if (line.ok) this.receive(line.value);
      else this.violate(line.why);
    });
    this.channel.on('data', (chunk: Buffer) => reader.push(chunk));
    // EPIPE on a write to an instance that died: what was sent may be lost.
    this.channel.on('error', (e) => this.failChannel(e));
  }

  private failChannel(e: Error): void {
    this.channelError ??= e.message;
    this.kill();
  }

  /** Moves the process into its memory group at once; a process that cannot be bounded is killed. */
  private async joinGroup(): Promise<boolean> {
    const { group, child } = this;
    if (!group || child.pid === undefined) return true;
    try {
      await group.join(child.pid);
      return true;
    } catch (e) {
      this.startFailure = `its memory cgroup could not be joined (${e instanceof Error ? e.message : String(e)})`;
      this.kill();
      return false;
    }
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

  /** Work left running with no call to run: it is killed, and that is said in the platform's log. */
  stopForIdleWork(why: string): void {
    this.idleWork ??= why;
    this.kill();
  }

  /** The instance broke the protocol: it is killed, and that is the reason its invocations hear. */
  violate(why: string): void {
    this.violation ??= why;
    this.kill();
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }

  /**
   * CPU time (user + system, ms) of the process and its direct children (node runs under `unshare`
   * when Gust is not root); undefined once it is gone.
   */
  cpuMs(): number | undefined {
    const pid = this.child.pid;
    if (pid === undefined || this.child.exitCode !== null || this.child.signalCode !== null) return undefined;
    try {
      let ticks = cpuTicks(pid);
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
      for (const child of children === '' ? [] : children.split(' ')) ticks += cpuTicks(Number(child));
      return ticks * MS_PER_TICK;
    } catch {
      return undefined;
    }
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

  /** Why its inspector did not open: what node said on stderr, when it said something. */
  whyNoInspector(): string {
    const failure = this.inspectorFailure();
    return failure === undefined
      ? 'its inspector did not open'
      : `its inspector could not listen on 127.0.0.1:${this.inspectPort}: ${failure} (choose another --inspect-port)`;
  }

  /** `address already in use`, from node's `Starting inspector on 127.0.0.1:PORT failed: ...`. */
  private inspectorFailure(): string | undefined {
    return /Starting inspector on \S+ failed: ([^\n]+)/.exec(this.stderrTail)?.[1];
  }

  /**
   * Node says `Debugger listening on ws://127.0.0.1:PORT/UUID` on stderr as it starts; or that it
   * could not (the port taken), and then runs on without one: undefined.
   */
  private inspectorUrl(): Promise<string | undefined> {
    return new Promise((resolve) => {
      const look = () => {
        if (this.inspectorFailure() !== undefined) resolve(undefined);
        const m = /Debugger listening on (ws:\/\/\S+)/.exec(this.stderrTail);
        if (!m) return;
        this.child.stderr?.off('data', look);
        resolve(m[1]);
      };
      this.child.stderr?.on('data', look);
      void this.exited.then(() => resolve(undefined));
    });
  }

  private keepTail(chunk: Buffer): void {
    this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL);
  }

  private async deathReason(code: number | null, signal: NodeJS.Signals | null): Promise<string> {
    if (this.startFailure) return `the instance could not start: ${this.startFailure}`;
    if (this.violation) return `protocol violation: ${this.violation}`;
    if (this.idleWork) return `${IDLE_WORK}${this.idleWork}`;
    if (signal === 'SIGKILL' && (await this.group?.oomKilled())) {
      return `out of memory: the function went past its ${this.memoryMb} MB memory limit (the whole process, Buffers included), and was killed`;
    }
    if (this.fatal) return `the function crashed: ${this.fatal}`;
    if (/heap out of memory|Reached heap limit/.test(this.stderrTail)) {
      return `out of memory: the function went past its ${this.memoryMb} MB heap limit`;
    }
    if (
      this.memoryBound === 'rlimit' &&
      /std::bad_alloc|Fatal process out of memory|allocation failed/.test(this.stderrTail)
    ) {
      return `out of memory: the function went past its ${this.memoryMb} MB memory limit (the whole process, Buffers included)`;
    }
    if (this.channelError) return `the channel to the instance failed: ${this.channelError}`;
    if (signal) return `the instance was killed by ${signal}`;
    return `the instance exited with code ${code ?? '?'} (process.exit or a fatal error)`;
  }
}
