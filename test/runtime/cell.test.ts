/**
 * Cell against a real child process (the built sandbox runtime from dist/, so `npm run build` first).
 */
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';
import { Cell } from '../../src/runtime/node/cell.js';
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
