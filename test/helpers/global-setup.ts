/**
 * vitest globalSetup: one temp folder for the whole run, the TMPDIR of the tests and of every
 * process they start (platforms, the CLI, instances' run folders), removed when the run ends. So
 * whatever a test leaves there, a platform killed with SIGKILL included, goes with it, and runs of
 * other developers beside this one never share a folder with it.
 */
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { isAlive } from '../../src/lib/processes.js';

const PREFIX = 'gust-tests-';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's temp folder (test/helpers/setup.ts makes it the TMPDIR of every test file). */
    tmpRoot: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const parent = os.tmpdir();
  await removeStaleRoots(parent);
  const root = await mkdtemp(path.join(parent, `${PREFIX}${process.pid}-`));
  // mkdtemp makes it 0700; instances run as other users (as root) and read their runtime below it.
  await chmod(root, 0o755);
  process.env.TMPDIR = root;
  project.provide('tmpRoot', root);
  return async () => {
    await rm(root, { recursive: true, force: true, maxRetries: 3 });
  };
}

/** Folders of earlier runs that were killed before their teardown (their vitest process is gone). */
async function removeStaleRoots(parent: string): Promise<void> {
  for (const name of await readdir(parent).catch(() => [] as string[])) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0 || isAlive(pid)) continue;
    await rm(path.join(parent, name), { recursive: true, force: true }).catch(() => {});
  }
}
