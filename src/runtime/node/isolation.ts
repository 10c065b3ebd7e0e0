/** isolation: what keeps this machine's instances apart, chosen once when the factory is made. */
import { spawnSync } from 'node:child_process';
import { type Isolation, tools } from './cell.js';
import { MemoryGroups } from './cgroup.js';

/**
 * As root: memory groups (when this machine has a writable memory controller). Not root: user and
 * PID namespaces, when the kernel gives them to this user (tried once with the very flags a cell
 * uses, a network namespace included). What is missing is said once.
 */
export async function chooseIsolation(
  warn: (message: string) => void,
): Promise<{ groups: MemoryGroups | undefined; unprivileged: Isolation }> {
  const shared: Isolation = { kind: 'shared' };
  if (process.getuid?.() === 0) {
    if (!tools.setpriv) {
      warn('setpriv (util-linux) is missing: instances run as root, unbounded; install util-linux');
      return { groups: undefined, unprivileged: shared };
    }
    const opened = await MemoryGroups.open();
    if (opened.type === 'ok') return { groups: opened.groups, unprivileged: shared };
    warn(
      `no memory cgroup for instances: ${opened.why}; memory bounds the heap, and RLIMIT_DATA the rest (an allocation past it fails)`,
    );
    return { groups: undefined, unprivileged: shared };
  }
  const probe =
    tools.setpriv && tools.unshare
      ? spawnSync('/usr/bin/unshare', ['--user', '--pid', '--fork', '--kill-child', '--net', '/bin/true'], {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: 5000,
        })
      : undefined;
  if (probe?.status === 0) return { groups: undefined, unprivileged: { kind: 'namespaces' } };
  const why = probe
    ? probe.stderr.toString().trim() || `exit ${probe.status}`
    : 'setpriv or unshare (util-linux) is missing';
  warn(
    `not root, and no user namespaces (${why}): instances share this user id, so a hostile function could signal Gust or another instance, and egress: none cannot be had; run as root, or allow unprivileged user namespaces`,
  );
  return { groups: undefined, unprivileged: shared };
}
