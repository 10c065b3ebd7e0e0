/**
 * Test harness: a real `gust up` process on a free port with its own data folder, the real CLI,
 * and temporary function projects on disk. Nothing is mocked.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { InvocationRecord } from '../../src/backends/ports.js';
import { isAlive } from '../../src/lib/processes.js';
import { removeStaleGroups } from '../../src/runtime/node/cgroup.js';

export const ROOT = path.resolve(fileURLToPath(import.meta.url), '../../..');
export const BIN = path.join(ROOT, 'bin', 'gust.js');

/**
 * The config folder of every `gust` these helpers run (XDG_CONFIG_HOME): `gust up` records itself
 * there, and no test may touch the real ~/.config. One per test file, removed after it.
 */
export const CONFIG_HOME = mkdtempSync(path.join(os.tmpdir(), 'gust-config-'));
afterAll(() => rm(CONFIG_HOME, { recursive: true, force: true }));

export interface Gust {
  readonly url: string;
  /** The S3 API (a port of its own). */
  readonly s3Url: string;
  readonly key: string;
  readonly dataDir: string;
  /** Its TMPDIR, where its run folder is. */
  readonly tmpDir: string;
  readonly proc: ChildProcess;
  /** All the platform printed on stderr so far (its log). */
  stderr(): string;
  /** Sends the signal and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  readonly dataDir?: string;
  readonly dir?: string;
  readonly env?: Record<string, string>;
  /**
   * `nobody`: the platform runs as that user (uid 65534; the tests run as root), with a data
   * folder, config folder and temp folder of its own (`tmpDir`, else a new one): the sandbox's
   * non-root mode (user and PID namespaces, no cgroup).
   */
  readonly user?: 'nobody';
  /** The platform's TMPDIR (where its run folder goes); only with `user`. */
  readonly tmpDir?: string;
}

/**
 * The two ways a platform runs, for suites that must hold in both: as root (each instance its own
 * uid and memory cgroup) and as `nobody` (user and PID namespaces). Run as another user, the tests
 * can only start a platform as that user: its one mode is the non-root one.
 */
export interface Mode {
  readonly name: string;
  /** The platform runs as root. */
  readonly root: boolean;
  readonly user?: 'nobody';
}
export const MODES: readonly Mode[] =
  process.getuid?.() === 0
    ? [
        { name: 'as root', root: true },
        { name: 'as nobody', root: false, user: 'nobody' },
      ]
    : [{ name: 'as this user (not root)', root: false }];

/** uid and gid of `nobody`. */
export const NOBODY = 65534;

/** A new temp folder that `nobody` owns. */
export async function nobodyDir(prefix: string): Promise<string> {
  const dir = await tempDir(prefix);
  await chown(dir, NOBODY, NOBODY);
  await chmod(dir, 0o755);
  return dir;
}

/** Temp folders the helpers made, and platforms they started: removed and stopped by `cleanUp`. */
const made = new Set<string>();
const started = new Set<ChildProcess>();

/** A process that runs a platform (`gust up`, `gust dev`): killed by `cleanUp` if still running. */
export function tracked<T extends ChildProcess>(proc: T): T {
  started.add(proc);
  return proc;
}

/** A new temp folder (under `parent`, the temp folder unless told), removed after the test file. */
export async function tempDir(prefix = 'gust-test-', parent = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(parent, prefix));
  made.add(dir);
  return dir;
}

/**
 * After each test file (test/helpers/setup.ts): kills the platforms it left running, removes the run
 * folders and memory cgroups of those that were killed outright (a platform removes its own when it stops; the next
 * one to start would remove the others, but none may be left at the end), and removes its temp folders.
 */
export async function cleanUp(): Promise<void> {
  const platforms = [...started];
  started.clear();
  await Promise.all(
    platforms.map(async (proc) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, 'exit');
      proc.kill('SIGKILL');
      await exited;
    }),
  );
  const pids = new Set(platforms.map((proc) => proc.pid));
  const tmp = os.tmpdir();
  for (const name of await readdir(tmp).catch(() => [] as string[])) {
    const pid = Number(/^gust-run-(\d+)-/.exec(name)?.[1]);
    // a live process with that pid is another platform that got the number since (pids wrap)
    if (!pids.has(pid) || isAlive(pid)) continue;
    await rm(path.join(tmp, name), { recursive: true, force: true, maxRetries: 3 });
  }
  // the memory cgroups of the platforms killed outright (as root; those stopped removed their own)
  if (platforms.length > 0) await removeStaleGroups();
  const dirs = [...made];
  made.clear();
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true, maxRetries: 3 })));
}

/** Starts `gust up` and resolves once it listens. */
export async function startGust(opts: StartOptions = {}): Promise<Gust> {
  const asNobody = opts.user === 'nobody';
  const dataDir = opts.dataDir ?? (asNobody ? await nobodyDir('gust-data-') : await tempDir('gust-data-'));
  const args = [
    BIN,
    'up',
    ...(opts.dir ? [opts.dir] : []),
    '--port',
    '0',
    '--s3-port',
    '0',
    '--data',
    dataDir,
  ];
  // the tests' temp folder (test/helpers/global-setup.ts): its run folder goes there too
  const tmpDir = asNobody ? (opts.tmpDir ?? (await nobodyDir('gust-tmp-'))) : os.tmpdir();
  const proc = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      XDG_CONFIG_HOME: asNobody ? await nobodyDir('gust-config-') : CONFIG_HOME,
      TMPDIR: tmpDir,
      GUST_STEM_CELLS: '1',
      GUST_LOG_LEVEL: 'warn',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(asNobody ? { uid: NOBODY, gid: NOBODY } : {}),
  });
  started.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => {
    stderr += b.toString();
  });
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const [url, s3Url] = await new Promise<[string, string]>((resolve, reject) => {
    proc.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      const s3 = /S3 API on (http:\/\/\S+)/.exec(stdout);
      if (m && s3) resolve([m[1]!, s3[1]!]);
    });
    void exited.then((code) => reject(new Error(`gust up exited with ${code}: ${stderr}${stdout}`)));
  });
  const key = (await readFile(path.join(dataDir, 'admin.key'), 'utf8')).trim();
  return {
    url,
    s3Url,
    key,
    dataDir,
    tmpDir,
    proc,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/**
 * How long a test waits for a condition (vi.waitFor): long enough for a loaded two-core machine
 * to start processes, short enough that a broken feature fails the test rather than hangs it.
 */
export const WAIT = { timeout: 20_000, interval: 25 } as const;

/**
 * Writes a function project (paths relative to a new folder) and returns the folder. The folder
 * is named `folder` (default `app`), so its functions belong to project `app` unless gust.yaml
 * names another: tests that deploy the same function from two folders act as one project.
 */
export async function writeProject(files: Record<string, string>, folder = 'app'): Promise<string> {
  const dir = path.join(await tempDir('gust-project-'), folder);
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  return dir;
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI against a running platform. */
export function cli(
  g: Pick<Gust, 'url' | 'key'> | undefined,
  args: string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      {
        env: {
          PATH: process.env.PATH ?? '',
          XDG_CONFIG_HOME: CONFIG_HOME,
          TMPDIR: os.tmpdir(),
          ...(g ? { GUST_URL: g.url, GUST_API_KEY: g.key } : {}),
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** `gust deploy DIR`, failing the test with the CLI's words if it fails. */
export async function deploy(g: Gust, dir: string): Promise<void> {
  const r = await cli(g, ['deploy', dir]);
  if (r.code !== 0) throw new Error(`gust deploy failed (${r.code}): ${r.stderr}`);
}

/** Writes a project and deploys it. */
export async function deployProject(g: Gust, files: Record<string, string>): Promise<string> {
  const dir = await writeProject(files);
  await deploy(g, dir);
  return dir;
}

/** A call to the control API with the admin key (or the given one). */
export async function api<T = Record<string, unknown>>(
  g: Pick<Gust, 'url' | 'key'>,
  method: string,
  route: string,
  body?: unknown,
  key: string | null = g.key,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${g.url}/_gust/api/v1${route}`, {
    method,
    headers: {
      ...(key ? { authorization: `Bearer ${key}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

export type { InvocationRecord };

export async function records(g: Gust, fn: string, limit = 100): Promise<InvocationRecord[]> {
  const r = await api<{ invocations: InvocationRecord[] }>(
    g,
    'GET',
    `/functions/${fn}/invocations?limit=${limit}`,
  );
  if (r.status !== 200) throw new Error(`listing invocations failed: ${JSON.stringify(r.body)}`);
  return r.body.invocations;
}

/** Invokes through the control API: `{invocation, result?, error?}`. */
export async function invoke(g: Gust, fn: string, data?: unknown) {
  return api<{ invocation: InvocationRecord; result?: unknown; error?: { code: string; message: string } }>(
    g,
    'POST',
    `/functions/${fn}/invoke`,
    data === undefined ? {} : { data },
  );
}

/** A one-function manifest with an http route at /NAME. */
export function manifest(name: string, handler: string, extra = ''): string {
  return `functions:\n  ${name}:\n    handler: ${handler}\n${extra}    triggers:\n      - http: { path: /${name} }\n`;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Pids of live (non-zombie) processes whose command line contains `text`. */
export async function livePids(text: string): Promise<number[]> {
  const out = await new Promise<string>((resolve) =>
    execFile('ps', ['-eo', 'pid=,stat=,args='], (_e, stdout) => resolve(stdout)),
  );
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((p) => p.length > 2 && !p[1]!.startsWith('Z') && p.slice(2).join(' ').includes(text))
    .map((p) => Number(p[0]));
}
