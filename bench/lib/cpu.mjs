/**
 * cpu: CPU time from /proc (Linux), in ns: of a thread, and of a process, all its threads and its
 * main thread apart. Unlike requests a second, hardly moved by the other load of a shared machine.
 * Elsewhere: wall time, and no figure for another process.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const LINUX = existsSync('/proc/self/task');
const ranNs = (pid, tid) =>
  Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ', 1)[0]);

/** ns this process's main thread has run (the thread that calls it, when that is the main one). */
export const threadNs = LINUX ? () => ranNs(process.pid, process.pid) : () => Number(process.hrtime.bigint());

/** `{all, main}`: ns process `pid` has run, its threads together and its main thread; undefined off Linux. */
export function processNs(pid) {
  if (!LINUX) return undefined;
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      all += ranNs(pid, tid);
    } catch {
      // a thread that ended meanwhile
    }
  }
  return { all, main: ranNs(pid, pid) };
}

/**
 * Runs `load` (a measured run of the generator against the platform of process `pid`) and adds
 * the platform's CPU per request to its result: `cpu: {mainUs, allUs}` (off Linux: nothing).
 */
export async function withCpu(pid, load) {
  const before = processNs(pid);
  const run = await load();
  const after = processNs(pid);
  if (before === undefined || !(run.requests > 0)) return run;
  const per = (key) => (after[key] - before[key]) / run.requests / 1000;
  return { ...run, cpu: { mainUs: per('main'), allUs: per('all') } };
}
