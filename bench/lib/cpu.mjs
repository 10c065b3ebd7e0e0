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
