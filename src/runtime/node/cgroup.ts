/**
 * cgroup: one memory cgroup per instance, so that a function's `memory` bounds the whole process
 * (Buffers, native memory, Node itself), not only the V8 heap that --max-old-space-size caps.
 * Past its limit the kernel's OOM killer kills the process; its group's count of OOM kills is how
 * the host tells that death from any other SIGKILL.
 *
 * Groups live below the platform's own cgroup (read from /proc/self/cgroup), so that they count
 * against whatever limit the platform itself runs under:
 *   v1 (memory controller mounted at /sys/fs/cgroup/memory): <own>/gust-<pid>-<rand>/<cell id>
 *      with memory.limit_in_bytes (and memory.memsw.limit_in_bytes where swap is accounted);
 *   v2 (/sys/fs/cgroup/cgroup.controllers): the same folders with memory.max and memory.swap.max,
 *      which needs the memory controller delegated to the platform's cgroup: that cgroup must
 *      hold no process but may enable `+memory` for its children (the root cgroup of a container
 *      does). Otherwise, as when not root, there are no groups and the factory says so once.
 * A platform killed outright leaves its folder: the next one to start removes the folders of dead
 * platforms (a folder of empty groups; rmdir is all a cgroup file system allows).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isAlive } from '../../lib/processes.js';

const PREFIX = 'gust-';
const REMOVE_TRIES = 20;
const REMOVE_RETRY_MS = 25;

export interface CellGroup {
  /** Moves the process into the group (all its threads; its children started later follow). */
  join(pid: number): Promise<void>;
  /** True when the kernel's OOM killer killed a process of this group. */
  oomKilled(): Promise<boolean>;
  /** Kills the processes left in it (those an instance without the permission model started). */
  killAll(): Promise<void>;
  /** Removes the group (its process must have exited). Never rejects. */
  remove(): Promise<void>;
}

export type MemoryGroupsOutcome =
  | { readonly type: 'ok'; readonly groups: MemoryGroups }
  | { readonly type: 'unavailable'; readonly why: string };

export interface MemoryGroupsOptions {
  /** Where the cgroup file systems are mounted (default /sys/fs/cgroup). */
  readonly root?: string;
  /** The platform's own cgroups, as /proc/self/cgroup lists them. */
  readonly selfCgroup?: string;
}

type Version = 'v1' | 'v2';

export class MemoryGroups {
  private readonly groups = new Set<string>();

  private constructor(
    readonly version: Version,
    /** This platform's folder of groups. */
    readonly dir: string,
  ) {}

  /** The groups of this platform, or why there cannot be any (not root, no memory controller). */
  static async open(opts: MemoryGroupsOptions = {}): Promise<MemoryGroupsOutcome> {
    const root = opts.root ?? '/sys/fs/cgroup';
    let self: string;
    try {
      self = opts.selfCgroup ?? (await readFile('/proc/self/cgroup', 'utf8'));
    } catch (e) {
      return { type: 'unavailable', why: `/proc/self/cgroup cannot be read (${errorText(e)})` };
    }
    const where = ownGroup(root, self);
    if (where.type === 'unavailable') return where;
    const { version, base } = where;
    await removeStale(base);
    const dir = path.join(base, `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
    try {
      await mkdir(dir);
    } catch (e) {
      return { type: 'unavailable', why: `${base} is not writable (${errorText(e)})` };
    }
    if (version === 'v2') {
      try {
        await enableMemory(base);
        await writeFile(path.join(dir, 'cgroup.subtree_control'), '+memory');
      } catch (e) {
        await rmdir(dir).catch(() => {});
        return {
          type: 'unavailable',
          why: `the memory controller cannot be enabled below ${base} (${errorText(e)}): start Gust in a cgroup of its own with memory delegated`,
        };
      }
    }
    return { type: 'ok', groups: new MemoryGroups(version, dir) };
  }

  /** A new group limited to `limitBytes` of memory, swap included (none beyond it). */
  async create(id: string, limitBytes: number): Promise<CellGroup> {
    const dir = path.join(this.dir, id);
    await mkdir(dir);
    this.groups.add(dir);
    const set = (file: string, value: string) => writeFile(path.join(dir, file), value);
    try {
      if (this.version === 'v1') {
        await set('memory.limit_in_bytes', String(limitBytes));
        // memsw is memory + swap: the same number means no swap on top.
        if (existsSync(path.join(dir, 'memory.memsw.limit_in_bytes'))) {
          await set('memory.memsw.limit_in_bytes', String(limitBytes));
        }
      } else {
        await set('memory.max', String(limitBytes));
        if (existsSync(path.join(dir, 'memory.swap.max'))) await set('memory.swap.max', '0');
      }
    } catch (e) {
      await this.remove(dir);
      throw e;
    }
    return {
      join: (pid) => writeFile(path.join(dir, 'cgroup.procs'), String(pid)),
      oomKilled: () => this.oomKilled(dir),
      killAll: () => killAll(dir),
      remove: () => this.remove(dir),
    };
  }

  /** Removes every group left and the platform's folder; for shutdown, once instances are gone. */
  async close(): Promise<void> {
    await Promise.all([...this.groups].map((dir) => this.remove(dir)));
    await removeDir(this.dir);
  }

  private async oomKilled(dir: string): Promise<boolean> {
    const file = this.version === 'v1' ? 'memory.oom_control' : 'memory.events';
    const text = await readFile(path.join(dir, file), 'utf8').catch(() => '');
    return Number(/^oom_kill (\d+)$/m.exec(text)?.[1] ?? 0) > 0;
  }

  private async remove(dir: string): Promise<void> {
    this.groups.delete(dir);
    await removeDir(dir);
  }
}

async function killAll(dir: string): Promise<void> {
  const procs = await readFile(path.join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  for (const pid of procs.split('\n').filter((p) => p !== '')) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/**
 * Removes the group folders of dead platforms below this process's own cgroup (what `open` does
 * first); for a caller that killed platforms outright and must leave nothing. Never rejects.
 */
export async function removeStaleGroups(opts: MemoryGroupsOptions = {}): Promise<void> {
  const root = opts.root ?? '/sys/fs/cgroup';
  const self = opts.selfCgroup ?? (await readFile('/proc/self/cgroup', 'utf8').catch(() => ''));
  const where = ownGroup(root, self);
  if (where.type === 'ok') await removeStale(where.base);
}

/** The memory hierarchy and this process's group in it, from /proc/self/cgroup. */
function ownGroup(
  root: string,
  self: string,
): { type: 'ok'; version: Version; base: string } | { type: 'unavailable'; why: string } {
  const lines = self.split('\n').map((l) => l.split(':'));
  const v1 = lines.find((parts) => parts[1]?.split(',').includes('memory'));
  if (v1 && existsSync(path.join(root, 'memory', 'cgroup.procs'))) {
    return { type: 'ok', version: 'v1', base: path.join(root, 'memory', v1.slice(2).join(':')) };
  }
  const v2 = lines.find((parts) => parts[0] === '0' && parts[1] === '');
  if (v2 && existsSync(path.join(root, 'cgroup.controllers'))) {
    return { type: 'ok', version: 'v2', base: path.join(root, v2.slice(2).join(':')) };
  }
  return { type: 'unavailable', why: 'this machine has no memory cgroup controller' };
}

/** v2: children of `base` get the memory controller (it must be available there). */
async function enableMemory(base: string): Promise<void> {
  const enabled = await readFile(path.join(base, 'cgroup.subtree_control'), 'utf8');
  if (enabled.split(/\s+/).includes('memory')) return;
  await writeFile(path.join(base, 'cgroup.subtree_control'), '+memory');
}

/** Folders of platforms that were killed outright: their groups are empty, their pid is gone. */
async function removeStale(base: string): Promise<void> {
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    const pid = Number(/^gust-(\d+)-[0-9a-f]+$/.exec(name)?.[1]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await removeDir(path.join(base, name));
  }
}

/**
 * rmdir of a group and of the groups below it. A group is busy (EBUSY) for a moment after its
 * process was reaped, so it is tried again for a little while. Never rejects.
 */
async function removeDir(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeDir(path.join(dir, e.name));
  for (let i = 0; i < REMOVE_TRIES; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code !== 'EBUSY') return;
      await new Promise((r) => setTimeout(r, REMOVE_RETRY_MS));
    }
  }
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));
