/**
 * Cell against a real child process (the built sandbox runtime from dist/, so `npm run build` first).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cell, type CellOptions, command } from '../../src/runtime/node/cell.js';
import { livePids, ROOT, tempDir } from '../helpers/gust.js';

it('errors after the start (EPIPE on a send) neither throw nor count as death until the process exits', async () => {
  const dir = path.join(await tempDir('gust-cell-'), 'cell');
  const cell = await Cell.spawn({
    id: 'cell-test',
    runtimeDir: path.join(ROOT, 'dist', 'runtime', 'sandbox'),
    dir,
    memoryMb: 64,
    isolation: { kind: 'shared' },
    egress: 'open',
    group: undefined,
    dataLimitBytes: undefined,
  });
  expect(await cell.ready).toBe(true);
  // What Node emits when a send meets a closed pipe, twice: a real EPIPE cannot be timed in a test.
  const child = (cell as unknown as { child: ChildProcess }).child;
  const epipe = () => Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  child.emit('error', epipe());
  child.emit('error', epipe());

  const reason = await cell.exited;
  expect(reason).toBe('the channel to the instance failed: write EPIPE');
  expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
  expect(await livePids(dir)).toEqual([]);
});

describe('command', () => {
  const base: CellOptions = {
    id: 'c',
    runtimeDir: '/run/rt',
    dir: '/run/cells/c',
    memoryMb: 128,
    isolation: { kind: 'shared' },
    egress: 'open',
    group: undefined,
    dataLimitBytes: undefined,
  };
  const argv = (opts: Partial<CellOptions>) => {
    const { file, args } = command({ ...base, ...opts });
    return [file, ...args].join(' ');
  };

  it('as root: unshare --net (for egress: none) before setpriv drops the uid, pdeathsig after the uid change', () => {
    const line = argv({ isolation: { kind: 'uid', uid: 200_001 }, egress: 'none' });
    expect(line).toMatch(
      /^\/usr\/bin\/unshare --net \/usr\/bin\/setpriv --reuid=200001 --regid=200001 --clear-groups --pdeathsig=SIGKILL \S+node /,
    );
    expect(argv({ isolation: { kind: 'uid', uid: 200_001 } })).toMatch(
      /^\/usr\/bin\/setpriv --reuid=200001 /,
    );
  });

  it('not root: setpriv --pdeathsig, then unshare of user and PID namespaces (and the network for egress: none)', () => {
    expect(argv({ isolation: { kind: 'namespaces' }, dataLimitBytes: 1000 })).toMatch(
      /^\/usr\/bin\/setpriv --pdeathsig=SIGKILL \/usr\/bin\/prlimit --data=1000 \/usr\/bin\/unshare --user --pid --fork --kill-child \S+node /,
    );
    expect(argv({ isolation: { kind: 'namespaces' }, egress: 'none' })).toContain('--kill-child --net ');
  });

  it('bounds the heap and reads only the runtime and its own folder', () => {
    const line = argv({});
    expect(line).toContain(
      '--allow-fs-read=/run/rt/ --allow-fs-read=/run/cells/c/ --max-old-space-size=128 /run/rt/main.js',
    );
    expect(line).not.toContain('--allow-fs-write');
    expect(line).not.toContain('--allow-child-process');
  });

  it('opens the inspector on 127.0.0.1 instead of the permission model for a cell to be inspected, isolated alike', () => {
    const line = argv({ inspect: true, isolation: { kind: 'uid', uid: 200_001 } });
    expect(line).toContain(
      '--inspect=127.0.0.1:0 --disable-warning=ExperimentalWarning --max-old-space-size=128',
    );
    expect(line).toContain('--reuid=200001');
    expect(line).not.toMatch(/--experimental-permission|--permission|--allow-fs-read/);
  });
});
