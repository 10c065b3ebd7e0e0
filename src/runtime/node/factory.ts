/**
 * factory: starts node instances. It keeps a few idle cells ("stem cells") per memory size in
 * use, started ahead of need, so that a cold start is a module load, not a process start.
 * The sandbox runtime is copied into a private run folder that the unprivileged instance user can
 * read whatever the permissions of the install folder; each cell gets its own sub-folder.
 * What keeps cells apart is chosen once, at create (`Isolation`, cell.ts): its own uid and memory
 * cgroup as root; its own user and PID namespaces otherwise, when the kernel allows them (tried
 * once); a `warn` says what is missing. Stem cells have `egress: open`: a function with
 * `egress: none` starts a fresh cell in a network namespace of its own (a process start).
 */
import { randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isAlive } from '../../lib/processes.js';
import type { LoadSpec, SandboxFactory, StartOptions, StartOutcome } from '../types.js';
import { type BundleFiles, placeBundle, placeInspectedBundle, prepareBundle } from './bundle-files.js';
import { Cell, type Egress, IDLE_WORK, type Isolation, tools } from './cell.js';
import type { MemoryGroups } from './cgroup.js';
import { LOG_LIMIT, NodeInstance } from './instance.js';
import { chooseIsolation } from './isolation.js';
import { UidPool } from './uids.js';
import { cut } from './wire.js';

export interface NodeFactoryOptions {
  /** The built sandbox runtime (dist/runtime/sandbox). */
  readonly runtimeSource: string;
  readonly stemCellsPerSize: number;
  /** When the platform runs as root, each instance runs as its own uid from here on. */
  readonly sandboxUid: number;
  /** How long a new cell may take to boot and say `ready` (default 10 s). */
  readonly readyTimeoutMs?: number;
  /** Told once, at create, what of the sandbox this machine cannot give (and of stale folders left). */
  readonly warn?: (message: string) => void;
}

/**
 * The memory a cell may use in all, for a function's `memory` (its V8 heap limit): Node itself
 * (about 40 MB at rest), the young generation and code beside the old-space heap. A heap that
 * grows past its own limit meets V8's limit first (a clear "heap out of memory"); Buffers and
 * other memory outside the heap meet this one.
 */
export function memoryLimitBytes(memoryMb: number): number {
  return Math.round(memoryMb * 1.25 + 64) * 1024 * 1024;
}

const RUN_PREFIX = 'gust-run-';
const UID_RANGE = 100_000;
const REFILL_DELAY_MS = 100;
const MAX_STEM_SIZES = 4;
/**
 * A module load gets most of the function's timeout, at most 10 s (as Lambda bounds its init
 * phase): the caller waiting for this cold start gives up at its timeout and must hear why before.
 */
const INIT_SHARE = 0.9;
const MAX_INIT_MS = 10_000;
const READY_TIMEOUT_MS = 10_000;

export class NodeSandboxFactory implements SandboxFactory {
  private readonly stem = new Map<number, Cell[]>();
  private readonly spawningStem = new Map<number, number>();
  /** Bundle path -> its files in the run folder; a promise, so that cold starts at once share one. */
  private readonly prepared = new Map<string, Promise<BundleFiles>>();
  private readonly live = new Set<Cell>();
  private wanted: number[] = [];
  private closed = false;
  private seq = 0;
  private readonly uids: UidPool | undefined;

  private constructor(
    private readonly opts: NodeFactoryOptions,
    private readonly runDir: string,
    /** A memory cgroup per cell: as root, when this machine lets us make them. */
    private readonly groups: MemoryGroups | undefined,
    /** The isolation of cells without a uid of their own: `namespaces` when the kernel allows them, else `shared`. */
    private readonly unprivileged: Isolation,
  ) {
    const root = process.getuid?.() === 0 && tools.setpriv;
    this.uids = root ? new UidPool(opts.sandboxUid, UID_RANGE) : undefined;
  }

  static async create(opts: NodeFactoryOptions): Promise<NodeSandboxFactory> {
    const warn = opts.warn ?? (() => {});
    const left = await removeStaleRunDirs();
    if (left.length > 0) {
      warn(
        `left ${left.length} stale run folder(s) of other users in ${os.tmpdir()} that this user cannot remove (${left.slice(0, 3).join(', ')}${left.length > 3 ? ', …' : ''})`,
      );
    }
    const { groups, unprivileged } = await chooseIsolation(warn);
    const runDir = path.join(os.tmpdir(), `${RUN_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    await mkdir(path.join(runDir, 'cells'), { recursive: true });
    await cp(opts.runtimeSource, path.join(runDir, 'runtime'), {
      recursive: true,
      filter: (src) => !src.endsWith('.map') && !src.endsWith('.d.ts'),
    });
    await makeReadable(runDir);
    return new NodeSandboxFactory(opts, runDir, groups, unprivileged);
  }

  prepare(memorySizesMb: readonly number[]): void {
    this.wanted = [...new Set(memorySizesMb)].slice(0, MAX_STEM_SIZES);
    for (const [size, cells] of this.stem) {
      if (!this.wanted.includes(size)) for (const c of cells.splice(0)) void this.discard(c);
    }
    for (const size of this.wanted) this.refill(size);
  }

  /** Idle stem cells by memory size: ready, and being started. */
  stemCells(): { memoryMb: number; ready: number; starting: number }[] {
    return this.wanted.map((memoryMb) => ({
      memoryMb,
      ready: this.stem.get(memoryMb)?.length ?? 0,
      starting: this.spawningStem.get(memoryMb) ?? 0,
    }));
  }

  /**
   * Never rejects (the pool has nobody to tell): a failure to spawn or to copy the bundle is a
   * crashed start. `inspect` starts a process of its own, never a stem cell (see StartOptions).
   */
  async start(spec: LoadSpec, options: StartOptions = {}): Promise<StartOutcome> {
    let cell: Cell;
    const egress = spec.fn.egress ?? 'open';
    const inspect = options.inspect === true;
    const namespaces = tools.unshare && (this.uids !== undefined || this.unprivileged.kind === 'namespaces');
    if (egress === 'none' && (inspect || !namespaces)) {
      return {
        type: 'crashed',
        reason: inspect
          ? 'egress: none: no debugger can reach its instance (its network namespace has no way in)'
          : 'egress: none needs a network namespace, which this machine does not give Gust (no unprivileged user namespaces, or no unshare): run Gust as root',
      };
    }
    try {
      cell =
        egress === 'open' && !inspect
          ? await this.take(spec.fn.memoryMb)
          : await this.spawn(spec.fn.memoryMb, egress, inspect ? options : undefined);
    } catch (e) {
      return { type: 'crashed', reason: `the instance could not start: ${errorText(e)}` };
    }
    const notReady = await this.notReady(cell);
    if (notReady !== undefined) return this.abandon(cell, notReady);
    const inspector = inspect ? await this.inspectorOf(cell) : undefined;
    if (inspect && inspector === undefined) return this.abandon(cell, cell.whyNoInspector());
    // Not prepared (say the run folder is full): linked or copied from the data folder each time.
    const files = await this.bundleFiles(spec.bundlePath).catch(() => ({ code: spec.bundlePath }));
    let bundle: string;
    try {
      bundle = inspect
        ? await placeInspectedBundle(files, cell.dir, options.sourceRoot)
        : await placeBundle(files, cell.dir);
    } catch (e) {
      return this.abandon(cell, `the function's bundle could not be put in the instance: ${errorText(e)}`);
    }
    return this.load(cell, spec, bundle, inspector);
  }

  /** The inspector a ready cell said it opened (at its start, on stderr), waited for as long as its start. */
  private async inspectorOf(cell: Cell): Promise<string | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.opts.readyTimeoutMs ?? READY_TIMEOUT_MS);
    });
    const url = await Promise.race([cell.inspector, late]);
    clearTimeout(timer);
    return url;
  }

  private abandon(cell: Cell, reason: string): StartOutcome {
    void this.discard(cell);
    return { type: 'crashed', reason };
  }

  /** The bundle's files in the run folder (bundle-files.ts), made at its first cold start; a failure is tried again. */
  private bundleFiles(bundlePath: string): Promise<BundleFiles> {
    let files = this.prepared.get(bundlePath);
    if (!files) {
      files = prepareBundle(bundlePath, path.join(this.runDir, 'bundles'));
      this.prepared.set(bundlePath, files);
      void files.catch(() => this.prepared.delete(bundlePath));
    }
    return files;
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.live];
    this.live.clear();
    this.stem.clear();
    await Promise.all(all.map((c) => c.dispose()));
    await this.groups?.close();
    await rm(this.runDir, { recursive: true, force: true });
  }

  /**
   * An idle stem cell of that size if one is ready, else a new process. The replacement starts a
   * little later: starting a process blocks this event loop for milliseconds and its boot takes a
   * core for tens, which the cold start that took the cell needs now.
   */
  private async take(memoryMb: number): Promise<Cell> {
    const cells = this.stem.get(memoryMb) ?? [];
    const cell = cells.shift() ?? (await this.spawn(memoryMb, 'open'));
    setTimeout(() => this.refill(memoryMb), REFILL_DELAY_MS).unref();
    return cell;
  }

  /** Why the cell cannot take a function: it died, or it never said `ready`; undefined when it is ready. */
  private async notReady(cell: Cell): Promise<string | undefined> {
    const limitMs = this.opts.readyTimeoutMs ?? READY_TIMEOUT_MS;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), limitMs);
    });
    const ready = await Promise.race([cell.ready, late]);
    clearTimeout(timer);
    if (ready === 'late') return `the instance did not become ready within ${limitMs} ms`;
    return ready ? undefined : cell.exited;
  }

  /**
   * Sends `load` and waits for its answer. A module whose top level never finishes (a loop, an
   * await that never settles) would hold the start forever: past the init timeout the cell is
   * killed and the start fails like a module that threw.
   */
  /** An instance of a loaded cell; one stopped for work left running is said in the platform's log. */
  private instance(cell: Cell, fn: string, inspector: string | undefined): NodeInstance {
    void cell.exited.then((reason) => {
      if (reason.startsWith(IDLE_WORK)) this.opts.warn?.(`${fn}: instance ${cell.id} ${reason}`);
    });
    return new NodeInstance(cell, inspector);
  }

  /** `inspector`: the cell's, when it was started to be inspected. */
  private load(cell: Cell, spec: LoadSpec, bundle: string, inspector?: string): Promise<StartOutcome> {
    const limitMs = Math.floor(Math.min(spec.fn.timeoutMs * INIT_SHARE, MAX_INIT_MS));
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        void this.discard(cell);
        const message = `the module did not finish loading within ${limitMs} ms`;
        resolve({ type: 'error', error: { name: 'InitTimeout', message }, logs: '' });
      }, limitMs);
      const done = (outcome: StartOutcome): void => {
        clearTimeout(timer);
        resolve(outcome);
      };
      cell.onMessage((m) => {
        if (m.t === 'loaded') {
          done({
            type: 'ok',
            sandbox: this.instance(cell, spec.fn.name, inspector),
            initMs: m.initMs,
            logs: cut(m.logs, LOG_LIMIT),
          });
        } else if (m.t === 'loadError') {
          void this.discard(cell);
          done({ type: 'error', error: m.error, logs: cut(m.logs, LOG_LIMIT) });
        } else if (m.t !== 'fatal') {
          // Only the function's own code, at its top level, could have sent it.
          cell.violate(`a '${m.t}' message while the module was loading`);
        }
      });
      void cell.exited.then((reason) => done({ type: 'crashed', reason }));
      const load = { t: 'load', bundle, exportName: spec.exportName, env: spec.env, fn: spec.fn } as const;
      cell.send(inspector === undefined ? load : { ...load, inspect: true });
    });
  }

  private refill(memoryMb: number): void {
    if (this.closed || !this.wanted.includes(memoryMb)) return;
    const cells = this.stem.get(memoryMb) ?? [];
    this.stem.set(memoryMb, cells);
    let spawning = this.spawningStem.get(memoryMb) ?? 0;
    const spawned = (): void => {
      this.spawningStem.set(memoryMb, (this.spawningStem.get(memoryMb) ?? 1) - 1);
    };
    for (; cells.length + spawning < this.opts.stemCellsPerSize; spawning++) {
      // A cell that could not be spawned (no space for its folder, no uid left) is not retried
      // here: the next take or prepare tries again.
      void this.spawn(memoryMb, 'open').then((cell) => {
        spawned();
        cells.push(cell);
        // An idle stem cell that dies is replaced; one that never became ready is not (no restart storm).
        void cell.exited.then(async () => {
          const i = cells.indexOf(cell);
          if (i < 0) return;
          cells.splice(i, 1);
          if (await cell.ready) this.refill(memoryMb);
        });
      }, spawned);
    }
    this.spawningStem.set(memoryMb, spawning);
  }

  /** `inspect`: the options of a cell started to be inspected (StartOptions). */
  private async spawn(memoryMb: number, egress: Egress, inspect?: StartOptions): Promise<Cell> {
    const id = `i-${process.pid.toString(36)}-${(++this.seq).toString(36)}-${randomBytes(3).toString('hex')}`;
    const uid = this.uids?.take();
    const release = (): void => {
      if (uid !== undefined) this.uids?.release(uid);
    };
    const group = await this.groups?.create(id, memoryLimitBytes(memoryMb)).catch((e: unknown) => {
      release();
      throw e;
    });
    const cell = await Cell.spawn({
      id,
      runtimeDir: path.join(this.runDir, 'runtime'),
      dir: path.join(this.runDir, 'cells', id),
      memoryMb,
      isolation: uid === undefined ? this.unprivileged : { kind: 'uid', uid },
      egress,
      group,
      // Where no cgroup bounds the whole process, RLIMIT_DATA does (an allocation past it fails).
      dataLimitBytes: group === undefined && tools.prlimit ? memoryLimitBytes(memoryMb) : undefined,
      inspect: inspect !== undefined,
      ...(inspect?.inspectPort === undefined ? {} : { inspectPort: inspect.inspectPort }),
    }).catch(async (e: unknown) => {
      release();
      await group?.remove();
      throw e;
    });
    this.live.add(cell);
    void cell.exited.then(() => {
      release();
      this.live.delete(cell);
      void rm(cell.dir, { recursive: true, force: true }).catch(() => {});
    });
    if (this.closed) cell.kill();
    return cell;
  }

  private async discard(cell: Cell): Promise<void> {
    this.live.delete(cell);
    await cell.dispose();
  }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Folders 0755, files 0644: the instance user must read the runtime, never write it. */
async function makeReadable(dir: string): Promise<void> {
  await chmod(dir, 0o755);
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(entry.parentPath, entry.name);
    await chmod(p, entry.isDirectory() ? 0o755 : 0o644);
  }
}

/**
 * Run folders of platforms that were killed outright. One this user may not remove (another
 * user's, in a shared temp folder) is left where it is: its name is returned, to be said once.
 */
async function removeStaleRunDirs(): Promise<string[]> {
  const tmp = os.tmpdir();
  const names = await readdir(tmp).catch(() => [] as string[]);
  const left: string[] = [];
  for (const name of names) {
    const pid = Number(name.slice(RUN_PREFIX.length).split('-')[0]);
    if (!name.startsWith(RUN_PREFIX) || !Number.isInteger(pid) || isAlive(pid)) continue;
    await rm(path.join(tmp, name), { recursive: true, force: true }).catch(() => left.push(name));
  }
  return left;
}
