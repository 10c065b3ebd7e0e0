/**
 * MemoryGroups against a folder laid out like a cgroup file system (the real one is used by
 * test/e2e/sandbox-limits.test.ts, as root): which files it reads and writes, for v1 and v2.
 * On a real cgroup file system the kernel makes the files of a new group; here writes make them
 * (so memory.memsw / memory.swap.max, absent, are not written).
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryGroups } from '../../src/runtime/node/cgroup.js';
import { tempDir } from '../helpers/gust.js';

async function fakeRoot(files: Record<string, string>): Promise<string> {
  const root = await tempDir('gust-cgroup-');
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), text);
  }
  return root;
}

describe('MemoryGroups', () => {
  it('v1: makes its folder below its own memory cgroup, and a group per cell with its limit', async () => {
    const root = await fakeRoot({ 'memory/cgroup.procs': '', 'memory/svc/gust/cgroup.procs': '' });
    const opened = await MemoryGroups.open({ root, selfCgroup: '5:cpu:/\n4:memory:/svc/gust\n0::/\n' });
    if (opened.type !== 'ok') throw new Error(opened.why);
    const { groups } = opened;
    expect(groups.version).toBe('v1');
    expect(path.dirname(groups.dir)).toBe(path.join(root, 'memory/svc/gust'));
    expect(path.basename(groups.dir)).toMatch(new RegExp(`^gust-${process.pid}-[0-9a-f]{8}$`));
    const group = await groups.create('i-1', 1234);
    expect(await readFile(path.join(groups.dir, 'i-1', 'memory.limit_in_bytes'), 'utf8')).toBe('1234');
    await group.join(42);
    expect(await readFile(path.join(groups.dir, 'i-1', 'cgroup.procs'), 'utf8')).toBe('42');
    expect(await group.oomKilled()).toBe(false);
    await writeFile(
      path.join(groups.dir, 'i-1', 'memory.oom_control'),
      'oom_kill_disable 0\nunder_oom 0\noom_kill 1\n',
    );
    expect(await group.oomKilled()).toBe(true);
  });

  it('v2: enables the memory controller below its own cgroup and for its cells, limits without swap', async () => {
    const root = await fakeRoot({
      'cgroup.controllers': 'cpu memory pids',
      'app/cgroup.subtree_control': '',
    });
    const opened = await MemoryGroups.open({ root, selfCgroup: '0::/app\n' });
    if (opened.type !== 'ok') throw new Error(opened.why);
    const { groups } = opened;
    expect(groups.version).toBe('v2');
    expect(await readFile(path.join(root, 'app', 'cgroup.subtree_control'), 'utf8')).toBe('+memory');
    expect(await readFile(path.join(groups.dir, 'cgroup.subtree_control'), 'utf8')).toBe('+memory');
    const group = await groups.create('i-2', 5678);
    expect(await readFile(path.join(groups.dir, 'i-2', 'memory.max'), 'utf8')).toBe('5678');
    expect(await group.oomKilled()).toBe(false);
    await writeFile(
      path.join(groups.dir, 'i-2', 'memory.events'),
      'low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n',
    );
    expect(await group.oomKilled()).toBe(true);
  });

  it('is unavailable, saying why, without a memory controller or where its cgroup is not writable', async () => {
    const none = await MemoryGroups.open({ root: await fakeRoot({ x: '' }), selfCgroup: '0::/\n' });
    expect(none).toEqual({ type: 'unavailable', why: 'this machine has no memory cgroup controller' });
    const root = await fakeRoot({ 'memory/cgroup.procs': '' });
    const missing = await MemoryGroups.open({ root, selfCgroup: '4:memory:/not/there\n' });
    expect(missing.type).toBe('unavailable');
    if (missing.type === 'unavailable') expect(missing.why).toContain('is not writable');
  });

  it('removes the folders of dead platforms at open, not those of live ones', async () => {
    const root = await fakeRoot({ 'memory/cgroup.procs': '' });
    await mkdir(path.join(root, 'memory', 'gust-999999999-0badcafe', 'i-old'), { recursive: true });
    await mkdir(path.join(root, 'memory', `gust-${process.pid}-00000000`));
    const opened = await MemoryGroups.open({ root, selfCgroup: '4:memory:/\n' });
    expect(opened.type).toBe('ok');
    const left = await readdir(path.join(root, 'memory'));
    expect(left).not.toContain('gust-999999999-0badcafe');
    expect(left).toContain(`gust-${process.pid}-00000000`);
  });
});
