/**
 * procs: every process the bench starts, so that all of them die at the end, even on error.
 * Each child leads its own process group (detached), and the group is killed: that also takes
 * the children it started itself (Gust's instances and stem cells, esbuild's service).
 */
import { spawn } from 'node:child_process';

const live = new Set();

/** Spawns a tracked child in its own process group; stdout/stderr are piped and their tail kept. */
export function start(file, args, { env = process.env, cwd } = {}) {
  const child = spawn(file, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (b) => {
    tail = (tail + b.toString()).slice(-8192);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(signal ?? code));
    child.once('error', (e) => resolve(e.message));
  });
  const proc = { child, exited, tail: () => tail };
  live.add(proc);
  void exited.then(() => live.delete(proc));
  return proc;
}

/** Resolves with the first stdout match of `re` (its first group), or rejects if the child exits or times out. */
export function waitForLine(proc, re, timeoutMs = 30_000) {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`no line matching ${re} after ${timeoutMs} ms: ${proc.tail()}`)),
      timeoutMs,
    );
    proc.child.stdout.on('data', (b) => {
      out += b.toString();
      const m = re.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] ?? m[0]);
      }
    });
    void proc.exited.then((how) => {
      clearTimeout(timer);
      reject(new Error(`${proc.child.spawnfile} exited (${how}) before it was ready: ${proc.tail()}`));
    });
  });
}

/** SIGTERM to the leader (Gust drains and cleans its run folder), then SIGKILL to the whole group. */
export async function stop(proc, graceMs = 3000) {
  const pid = proc.child.pid;
  if (pid === undefined) return;
  signal(pid, 'SIGTERM');
  await Promise.race([proc.exited, new Promise((r) => setTimeout(r, graceMs))]);
  signal(-pid, 'SIGKILL');
  await Promise.race([proc.exited, new Promise((r) => setTimeout(r, 1000))]);
  live.delete(proc);
}

export async function stopAll() {
  await Promise.all([...live].map((p) => stop(p)));
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch (e) {
    if (e.code !== 'ESRCH') throw e;
  }
}
